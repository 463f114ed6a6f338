/** The MySQL wire relay module's source, embedded as text by Bun's bundler (`with { type: 'text' }`). */
declare const source: string
export default source
