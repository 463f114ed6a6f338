/**
 * Client → server frames of the PTY WebSocket, validated. Every frame a client can send
 * (any bytes, any JSON) becomes either a command with fields in range or a reason to answer
 * with an `error` frame: nothing a client sends may throw in the socket handler, where an
 * exception ends the whole daemon.
 */
import { DepthScanner, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../core/body'

/** Signals a client may send (as the reference allows). */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGQUIT', 'SIGHUP'] as const
export type PtySignal = (typeof SIGNALS)[number]

/** Terminal dimensions are unsigned 16-bit in the kernel (struct winsize); Bun refuses 0 and ≥ 65536. */
export const MAX_DIMENSION = 4096

export type ClientFrame =
  | { type: 'stdin'; data: string | Uint8Array }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'signal'; signal: PtySignal }
  | { type: 'ping' }
  | { type: 'invalid'; error: string }

const STDIN_PREFIX = 0x00

const invalid = (error: string): ClientFrame => ({ type: 'invalid', error })

/**
 * A JSON value quoted for a message, cut short (a frame may be megabytes). Never String():
 * a parsed object may carry its own "toString" key, and converting it would throw.
 */
const quoted = (value: unknown): string => {
  let text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
  if (text.length > 64) text = `${text.slice(0, 61)}...`
  return JSON.stringify(text)
}

/**
 * A terminal dimension: a finite number, truncated and clamped into 1..MAX_DIMENSION (a
 * window is never 0 cells, and no screen is 65536 wide); null when it is no number at all.
 */
export function dimension(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null
  return Math.min(MAX_DIMENSION, Math.max(1, Math.trunc(value)))
}

export function parseFrame(message: string | Uint8Array): ClientFrame {
  if (typeof message !== 'string') {
    const [kind] = message
    if (kind === undefined) return invalid('empty binary frame')
    if (kind !== STDIN_PREFIX)
      return invalid(`unknown binary frame type 0x${kind.toString(16).padStart(2, '0')} (only 0x00 stdin)`)
    return { type: 'stdin', data: message.subarray(1) }
  }
  let frame: unknown
  try {
    // The HTTP bodies' limits hold for frames too: a 100,000-deep array parses for the better
    // part of a second, with every other request waiting; so do a million keys.
    new DepthScanner().feed(message)
  } catch {
    return invalid(
      `a frame may nest at most ${MAX_JSON_DEPTH} levels and hold at most ${MAX_JSON_VALUES} members and elements`,
    )
  }
  try {
    frame = JSON.parse(message)
  } catch {
    return invalid('text frames must be JSON objects: {"type":"stdin"|"resize"|"signal"|"ping",...}')
  }
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame))
    return invalid(`a frame must be a JSON object, not ${quoted(frame)}`)
  const f = frame as Record<string, unknown>
  switch (f.type) {
    case 'stdin':
      return typeof f.data === 'string' ? { type: 'stdin', data: f.data } : invalid('stdin needs "data" as a string')
    case 'resize': {
      const cols = dimension(f.cols)
      const rows = dimension(f.rows)
      if (cols === null || rows === null) return invalid('resize needs "cols" and "rows" as numbers')
      return { type: 'resize', cols, rows }
    }
    case 'signal':
      return SIGNALS.includes(f.signal as PtySignal)
        ? { type: 'signal', signal: f.signal as PtySignal }
        : invalid(`unsupported signal ${quoted(f.signal ?? '')}`)
    case 'ping':
      return { type: 'ping' }
    default:
      return invalid(`unknown frame type ${quoted(f.type ?? '')}`)
  }
}
