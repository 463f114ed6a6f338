/**
 * Progress of a long transfer (`fs put`, `fs get`) on stderr — only when stderr is a terminal
 * and the output is for people: nothing is drawn into a pipe, a log or `--json` output.
 * One line, redrawn at most 10 times a second: bytes (of the total when known), rate, ETA.
 */
import { stopSignal } from './lifecycle'
import { localText } from './locale-text'
import { visible } from './visible'

const REDRAW_MS = 100

/** No bytes for this long is said on the line in place of the rate and ETA. */
const STALL_MS = 3000

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
  let moved = start
  const draw = (now: number) => {
    drawn = now
    shown = true
    const seconds = Math.max((now - start) / 1000, 0.001)
    const rate = bytes / seconds
    const still = now - moved
    const percent = total ? ` (${Math.floor((bytes / total) * 100)}%)` : ''
    const done = `  ${size(bytes)}${total ? ` of ${size(total)}${percent}` : ''}`
    const speed = still >= STALL_MS ? `  no bytes for ${duration(Math.floor(still / 1000))}` : `  ${size(rate)}/s`
    const eta =
      still < STALL_MS && total && rate > 0 && bytes < total ? `  ETA ${duration((total - bytes) / rate)}` : ''
    // The most that fits first; on a narrow terminal the ETA goes, then the rate, then the sizes.
    const figures = [done + speed + eta, done + speed, done, total ? ` ${percent}` : `  ${size(bytes)}`]
    process.stderr.write(`\r\x1b[2K${fitted(visible(label), figures, process.stderr.columns || 80)}`)
  }
  return {
    async *track(chunks) {
      // A transfer that stops moving (a daemon stopped with SIGSTOP, a network gone quiet) kept
      // its last rate and ETA on the line, as if all were well: `96.5 MiB/s  ETA 20s` for minutes.
      // Redrawn each second while nothing comes, it says for how long nothing has.
      const watch = enabled ? setInterval(() => moving() || draw(performance.now()), 1000) : undefined
      watch?.unref?.()
      // Not after a stop signal: the line is being cleared with its `^C`.
      const moving = () => stopSignal() !== undefined || performance.now() - moved < STALL_MS
      try {
        for await (const chunk of chunks) {
          bytes += chunk.byteLength
          const now = performance.now()
          moved = now
          if (enabled && now - drawn >= REDRAW_MS) draw(now)
          yield chunk
        }
      } finally {
        clearInterval(watch)
      }
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K')
    },
  }
}

/**
 * Columns left free after the line for the terminal's own echo of Ctrl-C or Ctrl-\\ (`^C`):
 * written after a line that filled the row less one, it wrapped, and the clear that follows a
 * stopped transfer (`\r`, erase-line) cleared only the `C`'s row: the progress line stayed on
 * the screen above the shell's next prompt, at every width.
 */
const ECHO_ROOM = 2

/**
 * The line within `width` columns, less one (a line that fills the last column wraps on some
 * terminals) and less ECHO_ROOM: a longer one wrapped, and `\r` with erase-line clears only its
 * last row, so on a narrow terminal every redraw left rows behind (30 columns: the screen filled
 * with them).
 * `figures` go from the most to the least said; the first that leaves the label 16 columns is
 * taken, the label losing its start (`…srv/big.bin`); failing that, the least with what of the
 * label fits.
 */
export function fitted(label: string, figures: readonly string[], width: number, more = localText('…')): string {
  const usable = width - 1 - ECHO_ROOM
  const cut = Bun.stringWidth(more)
  for (const text of figures) {
    const room = usable - Bun.stringWidth(text)
    if (Bun.stringWidth(label) <= room) return label + text
    if (room >= 16) return `${more}${widthFrom(label, room - cut, 'end')}${text}`
  }
  const least = figures.at(-1) ?? ''
  const room = usable - Bun.stringWidth(least)
  return room >= 1 + cut
    ? `${more}${widthFrom(label, room - cut, 'end')}${least}`
    : widthFrom(least, Math.max(usable, 0), 'start')
}

/** As much of `text` as fits in `width` columns, taken from its start or its end. */
function widthFrom(text: string, width: number, from: 'start' | 'end'): string {
  const chars = [...text]
  if (from === 'end') chars.reverse()
  let used = 0
  let n = 0
  for (const ch of chars) {
    const w = Bun.stringWidth(ch)
    if (used + w > width) break
    used += w
    n++
  }
  const kept = chars.slice(0, n)
  return (from === 'end' ? kept.reverse() : kept).join('')
}

/**
 * Whether a transfer shows progress: stderr is a terminal that can redraw a line (not
 * `TERM=dumb`: Emacs' shell buffer showed each redraw's `^M^[[2K` as text, a line of it a
 * tenth of a second), and the output is not JSON.
 */
export const showProgress = (json: boolean): boolean =>
  !json && Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb'

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
