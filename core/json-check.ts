/**
 * Checks, chunk by chunk, that bytes are one compact JSON object: any values, nested, but no
 * byte outside a string that `JSON.stringify` would not write (no whitespace, hence no line
 * break). An interpreter's pre-encoded value goes to clients as it came (`EncodedEvent`), framed
 * as it is: bytes that are not such JSON broke the event's frame (a newline and `data: …` made
 * an event of execd's that no interpreter sent) or its JSON (the CLI's `execd exec` ended on
 * "JSON Parse error"). One pass, no string made; UTF-8 is the caller's (`Buffer.from` of a
 * string always is). core/json-lines.ts's StringsJson is the faster check for bundles of strings.
 */
export class JsonObjectCheck {
  private state = START
  /** The open containers, innermost last: OBJECT or ARRAY. */
  private readonly open: number[] = []
  /** Hex digits still expected after `\u`, or the literal's bytes still expected. */
  private left = 0
  private literal = ''

  /** False once the bytes cannot be such JSON (and from then on). */
  push(bytes: Uint8Array): boolean {
    const n = bytes.length
    for (let i = 0; i < n; i++) {
      let c = bytes[i]!
      if (this.state === IN_STRING) {
        // The plain run of a string in one tight loop: nearly every byte of a large value.
        while (c !== 0x22 && c !== 0x5c && c >= 0x20 && ++i < n) c = bytes[i]!
        if (i === n) break
        if (c === 0x22) this.state = this.afterString
        else if (c === 0x5c) this.state = ESCAPE
        else return this.fail()
        continue
      }
      if (!this.step(c)) return this.fail()
    }
    return this.state !== FAILED
  }

  /** Whether the bytes pushed so far are one whole object. */
  get complete(): boolean {
    return this.state === DONE
  }

  /** Where a string that ends goes: after a key, a `:`; after a value, a `,` or a close. */
  private afterString = AFTER_VALUE

  private step(c: number): boolean {
    switch (this.state) {
      case START:
        return c === 0x7b && this.openContainer(OBJECT)
      case KEY_OR_CLOSE:
        if (c === 0x7d) return this.close(OBJECT)
        return c === 0x22 && this.string(AFTER_KEY)
      case KEY:
        return c === 0x22 && this.string(AFTER_KEY)
      case AFTER_KEY:
        if (c !== 0x3a) return false
        this.state = VALUE
        return true
      case VALUE_OR_CLOSE:
        if (c === 0x5d) return this.close(ARRAY)
        return this.value(c)
      case VALUE:
        return this.value(c)
      case AFTER_VALUE:
        return this.afterValue(c)
      case ESCAPE:
        if (c === 0x75) {
          this.left = 4
          this.state = HEX
        } else if (SIMPLE_ESCAPES.includes(c)) this.state = IN_STRING
        else return false
        return true
      case HEX:
        if (!isHex(c)) return false
        if (--this.left === 0) this.state = IN_STRING
        return true
      case LITERAL:
        if (c !== this.literal.charCodeAt(this.literal.length - this.left)) return false
        if (--this.left === 0) this.state = AFTER_VALUE
        return true
      case MINUS:
        if (c === 0x30) this.state = ZERO
        else if (isDigit(c)) this.state = INT
        else return false
        return true
      case ZERO:
      case INT:
      case FRACTION:
      case EXPONENT:
        if (isDigit(c) && this.state !== ZERO) return true
        if (c === 0x2e && this.state !== FRACTION && this.state !== EXPONENT) this.state = DOT
        else if ((c === 0x65 || c === 0x45) && this.state !== EXPONENT) this.state = E
        else return this.afterValue(c) // the number ended: the byte is what follows it
        return true
      case DOT:
        if (!isDigit(c)) return false
        this.state = FRACTION
        return true
      case E:
        if (c === 0x2b || c === 0x2d) this.state = E_SIGN
        else if (isDigit(c)) this.state = EXPONENT
        else return false
        return true
      case E_SIGN:
        if (!isDigit(c)) return false
        this.state = EXPONENT
        return true
      default: // DONE (nothing may follow) or FAILED
        return false
    }
  }

  private value(c: number): boolean {
    if (c === 0x22) return this.string(AFTER_VALUE)
    if (c === 0x7b) return this.openContainer(OBJECT)
    if (c === 0x5b) return this.openContainer(ARRAY)
    if (c === 0x2d) this.state = MINUS
    else if (c === 0x30) this.state = ZERO
    else if (isDigit(c)) this.state = INT
    else {
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined
      if (!literal) return false
      this.literal = literal
      this.left = literal.length - 1
      this.state = LITERAL
    }
    return true
  }

  private afterValue(c: number): boolean {
    const top = this.open[this.open.length - 1]
    if (c === 0x2c) this.state = top === OBJECT ? KEY : VALUE
    else if (c === 0x7d) return this.close(OBJECT)
    else if (c === 0x5d) return this.close(ARRAY)
    else return false
    return true
  }

  private string(after: number): boolean {
    this.afterString = after
    this.state = IN_STRING
    return true
  }

  private openContainer(kind: number): boolean {
    // Far deeper than clients parse (python's json stops near 1,000): refused, not held without end.
    if (this.open.length >= MAX_DEPTH) return false
    this.open.push(kind)
    this.state = kind === OBJECT ? KEY_OR_CLOSE : VALUE_OR_CLOSE
    return true
  }

  private close(kind: number): boolean {
    if (this.open.pop() !== kind) return false
    this.state = this.open.length === 0 ? DONE : AFTER_VALUE
    return true
  }

  private fail(): false {
    this.state = FAILED
    return false
  }
}

/** The deepest nesting taken. */
export const MAX_DEPTH = 65536

const [OBJECT, ARRAY] = [0, 1]
const [START, KEY_OR_CLOSE, KEY, AFTER_KEY, VALUE_OR_CLOSE, VALUE, AFTER_VALUE, IN_STRING, ESCAPE, HEX] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
]
const [LITERAL, MINUS, ZERO, INT, DOT, FRACTION, E, E_SIGN, EXPONENT, DONE, FAILED] = [
  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
]
/** `"`, `\`, `/`, b, f, n, r, t: what may follow a backslash besides `u`. */
const SIMPLE_ESCAPES = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
