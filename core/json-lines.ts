/**
 * The lines of a runtime's protocol channel (JSON lines from an interpreter or a kernel),
 * chunk by chunk. Each chunk is searched once: appending to one string and searching it all
 * again for every chunk made a long line quadratic — a python cell whose value was a 30 MB
 * string held the event loop for 17 s. A line is kept in pieces until its newline comes, and
 * one longer than `maxChars` is dropped (up to its newline) instead of growing memory without
 * end: the interpreter's fd is open to the user's code, which may write there anything.
 */
export class JsonLines {
  private parts: string[] = []
  private size = 0
  private skipping = false

  /** `dropped` hears of each line dropped for its length, with the characters it had when it was. */
  constructor(
    private readonly maxChars = 64 * 1024 * 1024,
    private readonly dropped?: (chars: number) => void,
  ) {}

  /** The lines `text` completes, without their `\n`. */
  push(text: string): string[] {
    const lines: string[] = []
    let at = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      const piece = text.slice(at, nl)
      at = nl + 1
      if (this.skipping) {
        this.skipping = false
        continue
      }
      if (this.parts.length === 0) {
        lines.push(piece)
        continue
      }
      this.parts.push(piece)
      lines.push(this.parts.join(''))
      this.parts = []
      this.size = 0
    }
    if (at < text.length && !this.skipping) {
      this.size += text.length - at
      if (this.size > this.maxChars) {
        this.dropped?.(this.size)
        this.parts = []
        this.size = 0
        this.skipping = true
      } else this.parts.push(text.slice(at))
    }
    return lines
  }
}

/**
 * Reads a runtime's protocol channel to its end: each line's JSON message to `each`, in order,
 * awaited before the next (a lagging reader keeps the channel paused); a line that is not JSON
 * goes to `malformed` and is skipped, as the channel is open to the user's code. Throws what the
 * channel throws (it breaks when the interpreter dies).
 */
export async function readJsonLines<M>(
  chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  each: (message: M) => unknown,
  malformed: (line: string) => void,
): Promise<void> {
  const lines = new JsonLines()
  // Streaming decode: a value's UTF-8 may be split between two reads.
  const decoder = new TextDecoder()
  // Bun's ReadableStream is async-iterable; TypeScript's DOM types do not say so.
  for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
    for (const line of lines.push(decoder.decode(chunk, { stream: true }))) {
      let message: M
      try {
        message = JSON.parse(line)
      } catch {
        malformed(line)
        continue
      }
      await each(message)
    }
  }
}

/**
 * Checks, chunk by chunk, that bytes are one compact JSON string, or one object whose values are
 * all strings: the two shapes of an interpreter's pre-encoded bulk (`EncodedEvent`), which goes
 * to clients as it came, so it must be JSON that cannot break a frame (no raw control character,
 * hence no newline). One pass, no string made. UTF-8 validity is checked once at the end.
 */
export class StringsJson {
  private state = START
  /** Hex digits still expected after `\u`. */
  private hex = 0

  constructor(private readonly top: 'string' | 'object') {}

  /** False once the bytes cannot be such JSON (and from then on). */
  push(bytes: Uint8Array): boolean {
    let state = this.state
    const n = bytes.length
    // Inside a string, four bytes at a time over the aligned words that hold none of `"`, `\`
    // or a control byte (nothing there changes the state): byte by byte, this loop was 29% of
    // execd's CPU in a python cell's flood, sent in bulk messages of 64 KiB.
    const base = bytes.byteOffset
    const words = n >= 64 ? new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >> 2) : undefined
    const lastWord = (base + n) >> 2
    for (let i = 0; i < n; i++) {
      if (words && (state === IN_STRING || state === IN_KEY) && ((base + i) & 3) === 0) {
        i = (plainWords(words, (base + i) >> 2, lastWord) << 2) - base
        if (i >= n) break
      }
      const c = bytes[i]!
      if (state === IN_STRING || state === IN_KEY) {
        if (c === 0x22) state = state === IN_KEY ? AFTER_KEY : this.top === 'string' ? DONE : AFTER_VALUE
        else if (c === 0x5c) state = state === IN_KEY ? KEY_ESCAPE : ESCAPE
        else if (c < 0x20) return this.fail()
        continue
      }
      switch (state) {
        case START:
          if (c === 0x22 && this.top === 'string') state = IN_STRING
          else if (c === 0x7b && this.top === 'object') state = OBJECT_OPEN
          else return this.fail()
          break
        case OBJECT_OPEN:
        case AFTER_COMMA:
          if (c === 0x22) state = IN_KEY
          else if (c === 0x7d && state === OBJECT_OPEN) state = DONE
          else return this.fail()
          break
        case AFTER_KEY:
          if (c !== 0x3a) return this.fail()
          state = BEFORE_VALUE
          break
        case BEFORE_VALUE:
          if (c !== 0x22) return this.fail()
          state = IN_STRING
          break
        case AFTER_VALUE:
          if (c === 0x2c) state = AFTER_COMMA
          else if (c === 0x7d) state = DONE
          else return this.fail()
          break
        case ESCAPE:
        case KEY_ESCAPE: {
          const back = state === KEY_ESCAPE ? IN_KEY : IN_STRING
          if (c === 0x75) {
            this.hex = 4
            state = state === KEY_ESCAPE ? KEY_HEX : HEX
          } else if (SIMPLE_ESCAPES.includes(c)) state = back
          else return this.fail()
          break
        }
        case HEX:
        case KEY_HEX:
          if (!isHex(c)) return this.fail()
          if (--this.hex === 0) state = state === KEY_HEX ? IN_KEY : IN_STRING
          break
        default: // DONE (nothing may follow) or FAILED
          return this.fail()
      }
    }
    this.state = state
    return true
  }

  /** Whether the bytes pushed so far are one whole value of the shape. */
  get complete(): boolean {
    return this.state === DONE
  }

  private fail(): false {
    this.state = FAILED
    return false
  }
}

/** The first of words[from, to) with a special byte (hasSpecialByte), or `to`: a loop of its own, which the JIT makes tight. */
function plainWords(words: Int32Array, from: number, to: number): number {
  let w = from
  while (w < to && !hasSpecialByte(words[w]!)) w++
  return w
}

/**
 * Whether any of a word's four bytes is below 0x20, `"` or `\\` (Bit Twiddling Hacks' hasless
 * and haszero: exact as a yes or no, whichever bytes have their high bit set).
 */
function hasSpecialByte(x: number): boolean {
  const quote = x ^ 0x22222222
  const backslash = x ^ 0x5c5c5c5c
  return (
    ((((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)) &
      0x80808080) !==
    0
  )
}

const [START, OBJECT_OPEN, AFTER_COMMA, IN_KEY, KEY_ESCAPE, KEY_HEX, AFTER_KEY, BEFORE_VALUE] = [0, 1, 2, 3, 4, 5, 6, 7]
const [IN_STRING, ESCAPE, HEX, AFTER_VALUE, DONE, FAILED] = [8, 9, 10, 11, 12, 13]
/** `"`, `\`, `/`, b, f, n, r, t: what may follow a backslash besides `u`. */
const SIMPLE_ESCAPES = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]
const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
