/**
 * The events of one running cell, between the child's messages and the reader of `run()`.
 * Bounded: while the reader lags, stdout/stderr chunks merge into the queued event, and past
 * `maxBytes` of queued text further output is dropped and counted (IPC has no flow control
 * to slow the child down, and a flooding cell must not grow the daemon's memory).
 */
import { makeEvent, type ExecEvent } from '../../core/events'

export class EventQueue {
  private items: ExecEvent[] = []
  private bytes = 0
  private dropped = 0
  private ended = false
  private wake: (() => void) | undefined
  private resolveFinished!: () => void
  /** Resolves when the cell has ended (done or interpreter death). */
  readonly finished = new Promise<void>(r => (this.resolveFinished = r))

  constructor(private readonly maxBytes = 8 << 20) {}

  get isEnded(): boolean {
    return this.ended
  }

  output(type: 'stdout' | 'stderr', text: string): void {
    if (this.ended || !text) return
    if (this.bytes + text.length > this.maxBytes) {
      this.dropped += text.length
      return
    }
    this.noteDropped()
    const last = this.items.at(-1)
    if (last?.type === type) last.text += text
    else this.items.push(makeEvent(type, { text }))
    this.bytes += text.length
    this.wake?.()
  }

  push(event: ExecEvent): void {
    if (this.ended) return
    this.noteDropped()
    this.items.push(event)
    this.wake?.()
  }

  end(): void {
    if (this.ended) return
    this.noteDropped()
    this.ended = true
    this.resolveFinished()
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecEvent> {
    while (true) {
      const next = this.items.shift()
      if (next) {
        if (next.type === 'stdout' || next.type === 'stderr') this.bytes -= next.text?.length ?? 0
        yield next
        continue
      }
      if (this.ended) return
      await new Promise<void>(r => (this.wake = r))
      this.wake = undefined
    }
  }

  private noteDropped(): void {
    if (!this.dropped) return
    const text = `[execd: ${this.dropped} characters of output dropped because the reader fell behind]\n`
    this.dropped = 0
    this.items.push(makeEvent('stderr', { text }))
  }
}
