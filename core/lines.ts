/**
 * Splits command output into the line events of CONTRACT §2, as the reference does: on `\n`
 * and on `\r` (`\r\n` counts once), terminator removed, an empty line sent as "\n", an
 * unterminated tail held until more output or `end()`. A line longer than `maxLine` is cut
 * into pieces so a flood without newlines never grows memory.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder()
  private tail = ''
  private afterCR = false

  constructor(private readonly maxLine = 64 * 1024) {}

  /** Lines completed by this chunk (each already in wire form: "" becomes "\n"). */
  push(chunk: Uint8Array): string[] {
    return this.split(this.decoder.decode(chunk, { stream: true }))
  }

  /** The unterminated tail, if any, once the output has ended. */
  end(): string[] {
    const lines = this.split(this.decoder.decode())
    if (this.tail !== '') lines.push(this.tail)
    this.tail = ''
    return lines
  }

  private split(text: string): string[] {
    const lines: string[] = []
    let start = 0
    if (this.afterCR && text.length > 0) {
      // the \n of a \r\n whose \r ended the previous chunk
      this.afterCR = false
      if (text.charCodeAt(0) === 10) start = 1
    }
    // Native searches, not a loop over every character: output is mostly long lines.
    let lf = text.indexOf('\n', start)
    let cr = text.indexOf('\r', start)
    while (lf !== -1 || cr !== -1) {
      const atCR = cr !== -1 && (lf === -1 || cr < lf)
      const end = atCR ? cr : lf
      const line = this.tail + text.slice(start, end)
      this.tail = ''
      lines.push(line === '' ? '\n' : line)
      start = end + 1
      if (atCR) {
        if (start === text.length) this.afterCR = true
        else if (text.charCodeAt(start) === 10) start++
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
    }
    this.tail += text.slice(start)
    while (this.tail.length > this.maxLine) {
      lines.push(this.tail.slice(0, this.maxLine))
      this.tail = this.tail.slice(this.maxLine)
    }
    return lines
  }
}
