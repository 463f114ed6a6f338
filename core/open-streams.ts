/**
 * Every SSE stream open in this process, so shutdown can end each with an error event rather than
 * cut it: process-wide, as the streams of every section end together. A stream registers its
 * ending (core/sse-writer.ts) and removes it when it closes.
 */
import { errorEvent, type ExecEvent } from './events'

const open = new Set<(event: ExecEvent) => void>()

/** `end` is called with the shutdown's error event; the returned function forgets it. */
export function trackStream(end: (event: ExecEvent) => void): () => void {
  open.add(end)
  return () => void open.delete(end)
}

export function closeAllStreams(reason = 'execd is shutting down'): void {
  for (const end of [...open]) end(errorEvent('ServerShutdown', reason, [reason]))
}

export const openStreamCount = (): number => open.size
