/**
 * JSON.parse of a large body without holding the event loop for its length. One parse of a
 * 16 MiB cell held it 110–180 ms (7–11 ms per MiB, and 64 MiB bodies are allowed when
 * --max-json-bytes is raised); nearly all of it was the one long string, the code. Here the
 * body's text is walked a part at a time (the parts it was read in), each string of
 * LONG_STRING characters or more is set aside and a placeholder parsed in its place, and each
 * such string is decoded a piece at a time, the loop let turn between pieces.
 */
import { escapedAfter, parseJsonBody as parse, stringEnd } from './body'
import { randomHex } from './random'
import { nextTurn } from './timers'

/** A string this long or longer is decoded apart, in pieces. */
export const LONG_STRING = 64 * 1024
/** Characters walked, or decoded, before the event loop gets a turn. */
const TURN_CHARS = 256 * 1024

/**
 * The one JSON value of `parts` joined (checked text: UTF-8, nesting and counts within their
 * limits, core/body.ts), as JSON.parse would give it; a 400 when it is not JSON.
 */
export async function parseJsonInTurns(parts: readonly string[]): Promise<unknown> {
  const turns = new Turns()
  const { skeleton, longs, mark } = await setAside(parts, turns)
  const value = parse(skeleton)
  if (longs.length === 0) return value
  const decoded: string[] = []
  for (const raw of longs) decoded.push(await decodeInPieces(raw, turns))
  return restore(value, mark, decoded)
}

/**
 * A turn given back once TURN_CHARS more characters are walked or decoded, whichever strings
 * they were in: counted per string, 240 strings of 64 Ki characters (15 MiB) were decoded with no
 * turn between them (a stall of 526 ms on execd's CPU at load 8, where one string of their length
 * had none past 59).
 */
class Turns {
  private since = 0

  async after(chars: number): Promise<void> {
    this.since += chars
    if (this.since < TURN_CHARS) return
    this.since = 0
    await nextTurn()
  }
}

interface SetAside {
  /** The text with each long string's content replaced by `mark` and its number. */
  skeleton: string
  /** Each long string's content as it is in the text (escapes and all), in parts. */
  longs: string[][]
  mark: string
}

async function setAside(parts: readonly string[], turns: Turns): Promise<SetAside> {
  // A value no client can send: the nonce is made here, after the body arrived.
  const mark = `\u0000execd-long-${randomHex(16)}-`
  const skeleton: string[] = []
  const longs: string[][] = []
  let inString = false
  let escaped = false
  let current: string[] = []
  let length = 0
  for (const part of parts) {
    let i = 0
    while (i < part.length) {
      if (!inString) {
        const quote = part.indexOf('"', i)
        const end = quote < 0 ? part.length : quote + 1
        skeleton.push(part.slice(i, end))
        i = end
        if (quote >= 0) {
          inString = true
          escaped = false
          current = []
          length = 0
        }
        continue
      }
      const end = stringEnd(part, i, escaped)
      if (end < 0) {
        escaped = escapedAfter(part, i, escaped)
        current.push(part.slice(i))
        length += part.length - i
        break
      }
      current.push(part.slice(i, end))
      length += end - i
      inString = false
      if (length >= LONG_STRING) {
        skeleton.push(JSON.stringify(`${mark}${longs.length}`).slice(1, -1))
        longs.push(current)
      } else skeleton.push(...current)
      skeleton.push('"')
      current = []
      i = end + 1
    }
    await turns.after(part.length)
  }
  // An unended string: as it was, for JSON.parse's own error.
  skeleton.push(...current)
  return { skeleton: skeleton.join(''), longs, mark }
}

/** A long string's content decoded, TURN_CHARS at a time, no piece ending inside an escape. */
async function decodeInPieces(raw: string[], turns: Turns): Promise<string> {
  const decoded: string[] = []
  let carried = ''
  let piece: string[] = []
  let size = 0
  const decode = (last: boolean) => {
    const text = carried + piece.join('')
    const cut = last ? text.length : escapeFree(text)
    decoded.push(parse(`"${text.slice(0, cut)}"`) as string)
    carried = text.slice(cut)
    piece = []
    size = 0
  }
  for (const part of raw) {
    piece.push(part)
    size += part.length
    if (size >= TURN_CHARS) {
      const chars = size
      decode(false)
      await turns.after(chars)
    }
  }
  const chars = size
  decode(true)
  await turns.after(chars)
  return decoded.join('')
}

/**
 * How much of `text` (raw string content, not starting inside an escape) ends on a whole
 * escape: all of it, or up to the backslash of an escape cut short at its end.
 */
function escapeFree(text: string): number {
  const p = text.lastIndexOf('\\')
  if (p < 0 || p < text.length - 6) return text.length
  let k = p
  while (k > 0 && text.charCodeAt(k - 1) === 0x5c) k--
  // An even run of backslashes ending at p: the last is an escaped backslash, and whole.
  if ((p - k + 1) % 2 === 0) return text.length
  const escape = text.charCodeAt(p + 1) === 0x75 ? 6 : 2
  return p + escape > text.length ? p : text.length
}

/** `value` with each placeholder (a value, or a member's name) replaced by its long string. */
function restore(value: unknown, mark: string, decoded: string[]): unknown {
  const long = (s: string) => (s.startsWith(mark) ? decoded[Number(s.slice(mark.length))] : undefined)
  if (typeof value === 'string') return long(value) ?? value
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], mark, decoded)
    return value
  }
  const members = value as Record<string, unknown>
  for (const key of Object.keys(members)) {
    const inner = restore(members[key], mark, decoded)
    const name = long(key)
    // Each key is an own member (a `__proto__` too, as JSON.parse makes it): assigned, not inherited.
    if (name === undefined) members[key] = inner
    else {
      delete members[key]
      members[name] = inner
    }
  }
  return value
}
