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
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 10 && this.afterCR && i === start && this.tail === '') {
        // the \n of a \r\n whose \r already ended the line
        this.afterCR = false
        start = i + 1
        continue
      }
      this.afterCR = false
      if (c === 10 || c === 13) {
        const line = this.tail + text.slice(start, i)
        this.tail = ''
        lines.push(line === '' ? '\n' : line)
        this.afterCR = c === 13
        start = i + 1
      }
    }
    this.tail += text.slice(start)
    while (this.tail.length > this.maxLine) {
      lines.push(this.tail.slice(0, this.maxLine))
      this.tail = this.tail.slice(this.maxLine)
    }
    return lines
  }
}
