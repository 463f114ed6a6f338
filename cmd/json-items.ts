/**
 * The elements of a JSON array answer as they arrive (`fs ls`, `fs search` with --url): the
 * daemon sends a listing a batch at a time (core/json-array.ts), and the CLI prints each batch
 * as it comes instead of holding 100,000 entries (40 MB of text, then their objects) first.
 * Each element is parsed on its own; one larger than `maxChars` is refused, as a whole answer
 * larger than MAX_JSON_ANSWER_BYTES was.
 */

const OPEN = 0x7b // {
const CLOSE = 0x7d // }
const OPEN_ARRAY = 0x5b // [
const CLOSE_ARRAY = 0x5d // ]
const COMMA = 0x2c
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Thrown with what is wrong with the answer; the caller names the answer. */
export class NotAnArray extends Error {}

/** Each chunk's complete elements, parsed (a chunk that completes none gives nothing). */
export async function* jsonItems(body: ReadableStream<Uint8Array>, maxChars: number): AsyncGenerator<unknown[]> {
  const decoder = new TextDecoder()
  /** 0: before the array; 1: in it, between or in elements; 2: after it. */
  let state = 0
  let depth = 0
  let inString = false
  let escaped = false
  /** The current element's text from earlier chunks. */
  let held: string[] = []
  let heldChars = 0
  /** Whether an element has ended since the array opened (a comma needs one before it). */
  let elements = 0
  const reader = body.getReader()
  try {
    for (;;) {
      const r = await reader.read()
      const text = r.done ? decoder.decode() : decoder.decode(r.value, { stream: true })
      const out: unknown[] = []
      let from = 0
      const end = (at: number, last: boolean) => {
        const piece = (held.join('') + text.slice(from, at)).trim()
        held = []
        heldChars = 0
        from = at + 1
        if (piece === '' && last && elements === 0) return // []
        if (piece === '') throw new NotAnArray('an empty element')
        try {
          out.push(JSON.parse(piece))
        } catch {
          throw new NotAnArray(`an element is not JSON: ${JSON.stringify(piece.slice(0, 80))}`)
        }
        elements++
      }
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (inString) {
          if (escaped) escaped = false
          else if (c === BACKSLASH) escaped = true
          else if (c === QUOTE) inString = false
          continue
        }
        if (state !== 1) {
          if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue
          if (state === 2) throw new NotAnArray('more after the array')
          if (c !== OPEN_ARRAY) throw new NotAnArray('not an array')
          state = 1
          from = i + 1
          continue
        }
        if (c === QUOTE) inString = true
        else if (c === OPEN || c === OPEN_ARRAY) depth++
        else if (depth > 0 && (c === CLOSE || c === CLOSE_ARRAY)) depth--
        else if (depth === 0 && c === COMMA) end(i, false)
        else if (depth === 0 && c === CLOSE_ARRAY) {
          end(i, true)
          state = 2
        }
      }
      if (state === 1) {
        heldChars += text.length - from
        if (heldChars > maxChars) throw new NotAnArray(`an element longer than ${maxChars} characters`)
        held.push(text.slice(from))
      }
      if (out.length) yield out
      if (r.done) break
    }
    if (state !== 2) throw new NotAnArray(state === 0 ? 'empty' : 'it ended before its array did')
  } finally {
    await reader.cancel().catch(() => {})
  }
}
