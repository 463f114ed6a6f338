/**
 * The lines of a runtime's protocol channel (JSON lines from an interpreter or a kernel),
 * chunk by chunk. Each chunk is searched once: appending to one string and searching it all
 * again for every chunk made a long line quadratic — a python cell whose value was a 30 MB
 * string held the event loop for 17 s. A line is kept in pieces until its newline comes, and
 * one longer than `maxChars` is dropped (up to its newline) instead of growing memory without
 * end: the interpreter's fd is open to the user's code, which may write there anything. A
 * runtime whose protocol can say so gives `tooLong`: the dropped line is replaced by its answer
 * (python: an error of the cell, where a value over the limit otherwise silently never came).
 */
export class JsonLines {
  private parts: string[] = []
  private size = 0
  private skipping = false
  /** Characters of the line being dropped, so far. */
  private skipped = 0

  constructor(
    private readonly maxChars = 64 * 1024 * 1024,
    private readonly tooLong?: (chars: number) => string,
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
        if (this.tooLong) lines.push(this.tooLong(this.skipped + piece.length))
        this.skipped = 0
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
    if (at < text.length && this.skipping) this.skipped += text.length - at
    else if (at < text.length) {
      this.size += text.length - at
      if (this.size > this.maxChars) {
        this.skipped = this.size
        this.parts = []
        this.size = 0
        this.skipping = true
      } else this.parts.push(text.slice(at))
    }
    return lines
  }
}
