/**
 * A cell's flood read over HTTP as it comes, execd's resident memory looked at after each chunk:
 * the test's own memory holds one chunk and the stream's tail, so what is measured is execd's.
 */
import { expect } from 'bun:test'
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

/**
 * A `readFlood` text handler that gives `take` each stdout event's text, in order: the stream's
 * chunks cut frames anywhere, so a frame is looked at once its blank line has come.
 */
export function stdoutTexts(take: (text: string) => void): (text: string) => void {
  let out = ''
  return text => {
    out += text
    const frames = out.split('\n\n')
    out = frames.pop()!
    for (const frame of frames) {
      const data = frame.slice(frame.indexOf('data: ') + 6)
      if (data.startsWith('{"type":"stdout"')) take((JSON.parse(data) as { text: string }).text)
    }
  }
}

/**
 * A `readFlood` text handler checking that numbered lines (six digits first, `width` characters
 * in all) arrive once each, in the order written. An event holds what one read of a pipe held,
 * which may end inside a line: the lines are the stdout events' texts joined.
 */
export function numberedLines(width: number): { onText: (text: string) => void; count: number; rest: string } {
  const seen = {
    count: 0,
    rest: '',
    onText: stdoutTexts(text => {
      const lines = (seen.rest + text).split('\n')
      seen.rest = lines.pop()!
      for (const line of lines) {
        if (line === '') continue
        expect(line.slice(0, 6)).toBe(String(seen.count).padStart(6, '0'))
        expect(line.length).toBe(width)
        seen.count++
      }
    }),
  }
  return seen
}
