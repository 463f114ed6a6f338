/**
 * A response body read as text up to a number of bytes, the rest left unread: for answers from
 * a server execd or its CLI does not control (a Jupyter server, a remote daemon), whose body
 * read whole could be endless.
 */
export async function textUpTo(res: Response, max: number): Promise<{ text: string; cut: boolean }> {
  const reader = res.body?.getReader()
  if (!reader) return { text: '', cut: false }
  const parts: Uint8Array[] = []
  let bytes = 0
  let cut = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      bytes += value.byteLength
      if (bytes > max) {
        cut = true
        parts.push(value.subarray(0, value.byteLength - (bytes - max)))
        break
      }
      parts.push(value)
    }
  } finally {
    void reader.cancel().catch(() => {})
  }
  return { text: new TextDecoder().decode(Buffer.concat(parts)), cut }
}
