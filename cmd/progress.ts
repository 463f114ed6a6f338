/**
 * Progress of a long transfer (`fs put`, `fs get`) on stderr — only when stderr is a terminal
 * and the output is for people: nothing is drawn into a pipe, a log or `--json` output.
 * One line, redrawn at most 10 times a second: bytes (of the total when known), rate, ETA.
 */
import { visible } from './visible'

const REDRAW_MS = 100

export interface Progress {
  /** Counts the chunks as they pass. */
  track(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array>
  /** Clears the line. */
  done(): void
}

export function progress(label: string, total: number | undefined, enabled: boolean): Progress {
  const start = performance.now()
  let bytes = 0
  // The first chunk draws at once: measured from 0, a transfer ending within 100 ms of the
  // process's start (a 32 MiB local put) drew nothing, so whether a line appeared at all
  // depended on how fast the machine was (spec/cli-terminal's progress test, 3 of 4 quiet runs).
  let drawn = Number.NEGATIVE_INFINITY
  let shown = false
  const draw = (now: number) => {
    drawn = now
    shown = true
    const seconds = Math.max((now - start) / 1000, 0.001)
    const rate = bytes / seconds
    let text = `${visible(label)}  ${size(bytes)}`
    if (total) text += ` of ${size(total)} (${Math.floor((bytes / total) * 100)}%)`
    text += `  ${size(rate)}/s`
    if (total && rate > 0 && bytes < total) text += `  ETA ${duration((total - bytes) / rate)}`
    process.stderr.write(`\r\x1b[2K${text}`)
  }
  return {
    async *track(chunks) {
      for await (const chunk of chunks) {
        bytes += chunk.byteLength
        const now = performance.now()
        if (enabled && now - drawn >= REDRAW_MS) draw(now)
        yield chunk
      }
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K')
    },
  }
}

/** Whether a transfer shows progress: stderr is a terminal and the output is not JSON. */
export const showProgress = (json: boolean): boolean => !json && Boolean(process.stderr.isTTY)

export function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds)
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
