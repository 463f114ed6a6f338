/**
 * Reads a child's pipe to its end, handing each piece on as text (UTF-8 decoded across pieces):
 * what a daemon says on stderr is kept while it runs, by specs and benches alike.
 */
export async function eachText(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    onText(decoder.decode(value, { stream: true }))
  }
}
