/**
 * Client side of the event streams, kept lean: the bench measures the daemon, so parsing
 * must cost the client as little as possible.
 */

export interface StreamEvent {
  type: string
  text?: string
  results?: Record<string, unknown>
  error?: { ename: string; evalue: string; traceback?: string[] }
  [key: string]: unknown
}

/**
 * Reads SSE frames until `stop(event)` is true or the stream ends; returns the events and
 * the time (performance.now) the stopping event arrived.
 */
export async function readEvents(
  res: Response,
  stop: (e: StreamEvent) => boolean,
): Promise<{ events: StreamEvent[]; at: number }> {
  const events: StreamEvent[] = []
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return { events, at: performance.now() }
      buf += decoder.decode(value, { stream: true })
      let idx: number
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, idx)
        buf = buf.slice(idx + 2)
        const dataAt = block.indexOf('data: ')
        const json = dataAt >= 0 ? block.slice(dataAt + 6) : block.trim()
        if (!json) continue
        const event = JSON.parse(json) as StreamEvent
        events.push(event)
        if (stop(event)) return { events, at: performance.now() }
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

/**
 * Counts the bytes of a response body without parsing it; keeps the last 4 KiB so the
 * caller can check how the stream ended. `onFirst` sees the first chunk (the init event).
 */
export async function drainCounting(
  res: Response,
  onFirst?: (chunk: string) => void,
): Promise<{ bytes: number; tail: string }> {
  const reader = res.body!.getReader()
  let bytes = 0
  let tail: Uint8Array = new Uint8Array()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    if (bytes === 0) onFirst?.(new TextDecoder().decode(value.subarray(0, 1024)))
    bytes += value.byteLength
    if (value.byteLength >= 4096) tail = value.subarray(value.byteLength - 4096)
    else {
      const joined = new Uint8Array(tail.byteLength + value.byteLength)
      joined.set(tail)
      joined.set(value, tail.byteLength)
      tail = joined.subarray(Math.max(0, joined.byteLength - 4096))
    }
  }
  return { bytes, tail: new TextDecoder().decode(tail) }
}

/** Terminal event of a command stream (CONTRACT §2). */
export const commandEnded = (e: StreamEvent) => e.type === 'execution_complete' || e.type === 'error'
/** Terminal event of a code stream: `error` is followed by `execution_complete`. */
export const codeEnded = (e: StreamEvent) => e.type === 'execution_complete'
