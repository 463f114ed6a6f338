/**
 * A cell's flood read over HTTP as it comes, execd's resident memory looked at after each chunk:
 * the test's own memory holds one chunk and the stream's tail, so what is measured is execd's.
 */
import { rssMiB } from '../harness'
import { peakMiB } from './peak-memory'

export interface FloodRead {
  /** Bytes on the wire. */
  wire: number
  /** The last event, not the whole tail: a failure says what ended the stream. */
  last: string
  /** execd's peak resident memory (MiB): the highest looked at, or its VmHWM if higher. */
  peak: number
}

/** Reads `res` to its end; `onText` is given each chunk's text (a check of the lines, in order). */
export async function readFlood(res: Response, pid: number, onText?: (text: string) => void): Promise<FloodRead> {
  let peak = rssMiB(pid)
  let wire = 0
  let tail = ''
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    wire += value.length
    const text = decoder.decode(value, { stream: true })
    tail = (tail + text).slice(-4096)
    onText?.(text)
    peak = Math.max(peak, rssMiB(pid))
  }
  return { wire, last: tail.slice(tail.lastIndexOf('data: ')), peak: Math.max(peak, peakMiB(pid)) }
}
