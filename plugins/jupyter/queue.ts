/**
 * Events of one cell between the WebSocket (which pushes and cannot be paused) and the
 * reader (which pulls). Bounded: consecutive output of one stream is merged, and past the
 * byte limit further output is dropped, counted in one stderr notice where the loss happened.
 */
import { type ExecEvent, makeEvent } from '../../core/events'

export const DEFAULT_PENDING_LIMIT = 8 * 1024 * 1024

export class EventQueue implements AsyncIterable<ExecEvent> {
  private readonly items: ExecEvent[] = []
  private pendingBytes = 0
  /** The queued notice of dropped output, updated while it waits (never merged into). */
  private dropNotice: { event: ExecEvent; bytes: number } | null = null
  private ended = false
  private wake: (() => void) | null = null

  constructor(private readonly limit = DEFAULT_PENDING_LIMIT) {}

  get isEnded(): boolean {
    return this.ended
  }

  push(...events: ExecEvent[]): void {
    if (this.ended) return
    for (const e of events) this.add(e)
    this.notify()
  }

  /** No more events after the ones queued and `last`. */
  end(...last: ExecEvent[]): void {
    if (this.ended) return
    for (const e of last) this.add(e, true)
    this.ended = true
    this.notify()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecEvent> {
    for (;;) {
      const e = this.items.shift()
      if (e) {
        if (e === this.dropNotice?.event) this.dropNotice = null
        else this.pendingBytes -= size(e)
        yield e
        continue
      }
      if (this.ended) return
      await new Promise<void>(r => (this.wake = r))
    }
  }

  private add(e: ExecEvent, force = false): void {
    const n = size(e)
    const tail = this.items.at(-1)
    const isText = e.type === 'stdout' || e.type === 'stderr'
    if (!force && isText && this.pendingBytes + n > this.limit) {
      this.noteDropped(n)
      return
    }
    this.pendingBytes += n
    if (isText && tail && tail.type === e.type && tail !== this.dropNotice?.event) {
      tail.text = (tail.text ?? '') + (e.text ?? '')
      return
    }
    this.items.push(e)
  }

  /** Dropped output is reported where it was lost, in one stderr line that keeps counting. */
  private noteDropped(n: number): void {
    if (!this.dropNotice) {
      this.dropNotice = { event: makeEvent('stderr', { text: '' }), bytes: 0 }
      this.items.push(this.dropNotice.event)
    }
    this.dropNotice.bytes += n
    this.dropNotice.event.text = `[execd: ${this.dropNotice.bytes} bytes of output dropped: the reader fell behind]\n`
  }

  private notify(): void {
    const w = this.wake
    this.wake = null
    w?.()
  }
}

/** Bytes an event holds, roughly: its text, or its serialized bundle. */
function size(e: ExecEvent): number {
  if (e.text !== undefined) return e.text.length
  if (e.results) return JSON.stringify(e.results).length
  return 64
}
