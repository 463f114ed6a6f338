/** The kernel's Go sources, embedded as text by Bun's bundler (`with { type: 'text' }`). */
declare module '*.go' {
  const source: string
  export default source
}
