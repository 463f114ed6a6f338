/** The helper's Java source, embedded as text by Bun's bundler (`with { type: 'text' }`). */
declare module '*.java' {
  const source: string
  export default source
}
