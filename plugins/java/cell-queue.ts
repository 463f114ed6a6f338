/**
 * The events of one running cell, between the interpreter's channels and the reader of
 * `run()`. Output applies backpressure: `output()` resolves only once the reader has taken
 * enough, so the channel pumps stop reading and the JVM blocks on its writes instead of
 * execd buffering a flood. Adjacent chunks of one stream merge while the reader lags.
 */
import { makeEvent, type ExecEvent } from '../../core/events'

export class CellQueue {
  private items: ExecEvent[] = []
  private bytes = 0
  private ended = false
  private wake: (() => void) | undefined
  private space: (() => void)[] = []
  private resolveFinished!: () => void
  /** Resolves when the cell has ended (done, death, or the reader left). */
  readonly finished = new Promise<void>(r => (this.resolveFinished = r))

  constructor(private readonly maxBytes = 1 << 20) {}

  get isEnded(): boolean {
    return this.ended
  }

  async output(type: 'stdout' | 'stderr', text: string): Promise<void> {
    if (this.ended || !text) return
    const last = this.items.at(-1)
    if (last?.type === type) last.text += text
    else this.items.push(makeEvent(type, { text }))
    this.bytes += text.length
    this.wake?.()
    while (this.bytes > this.maxBytes && !this.ended) await new Promise<void>(r => this.space.push(r))
  }

  push(event: ExecEvent): void {
    if (this.ended) return
    this.items.push(event)
    this.wake?.()
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    this.resolveFinished()
    this.wake?.()
    this.release()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecEvent> {
    try {
      for (;;) {
        const next = this.items.shift()
        if (next) {
          if (next.type === 'stdout' || next.type === 'stderr') this.bytes -= next.text?.length ?? 0
          if (this.bytes <= this.maxBytes) this.release()
          yield next
          continue
        }
        if (this.ended) return
        await new Promise<void>(r => (this.wake = r))
        this.wake = undefined
      }
    } finally {
      // A reader that leaves early must not leave the pumps blocked on a full queue.
      this.end()
    }
  }

  private release(): void {
    for (const r of this.space.splice(0)) r()
  }
}
