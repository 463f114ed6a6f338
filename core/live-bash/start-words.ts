/**
 * What the shell (or the wrapper that execs it) wrote on stderr before it was ready, at most
 * START_WORDS_MAX bytes: a wrapper that could not start (bubblewrap refusing a mount) says why
 * only there, and the first run reads and drops it.
 */
const START_WORDS_MAX = 1024

export class StartWords {
  private bytes = new Uint8Array()

  keep(data: Uint8Array): void {
    const room = START_WORDS_MAX - this.bytes.length
    if (room <= 0) return
    const next = new Uint8Array(this.bytes.length + Math.min(room, data.length))
    next.set(this.bytes)
    next.set(data.subarray(0, room), this.bytes.length)
    this.bytes = next
  }

  /** One line. */
  get text(): string {
    return new TextDecoder().decode(this.bytes).replace(/\s+/g, ' ').trim()
  }
}
