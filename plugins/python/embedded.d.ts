/** Interpreter-side sources imported as text (`with { type: 'text' }`) and embedded by bun build. */
declare module '*.py' {
  const source: string
  export default source
}
