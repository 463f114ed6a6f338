/**
 * The events of one running cell, between the interpreter that produces them and the reader of
 * `run()` that pulls them. Adjacent output of one stream merges into one event while the reader
 * lags. What happens past `maxBytes` of queued events is the runtime's policy:
 *
 * - `block`: `output()` resolves only once the reader has taken enough, so the runtime's pumps
 *   stop reading and the interpreter blocks on its writes (a pipe or a socket can be paused).
 * - `drop`: further output is dropped and counted in one stderr notice where the loss happened
 *   (an IPC channel or a WebSocket pushes and cannot be paused, and a flooding cell must not
 *   grow the daemon's memory). Other events are never dropped.
 */
import { makeEvent, type ExecEvent } from './events'

export type Overflow =
  | { policy: 'block'; maxBytes: number }
  /** `notice` words the stderr line that reports `count` characters of dropped output. */
  | { policy: 'drop'; maxBytes: number; notice: (count: number) => string }

export class CellQueue implements AsyncIterable<ExecEvent> {
  private readonly items: ExecEvent[] = []
  private bytes = 0
  /** The queued notice of dropped output, updated while it waits (never merged into). */
  private dropNotice: { event: ExecEvent; count: number } | undefined
  private ended = false
  private wake: (() => void) | undefined
  private space: (() => void)[] = []
  private resolveFinished!: () => void
  /** Resolves when the cell has ended (done, death, or under `block` the reader left). */
  readonly finished = new Promise<void>(r => (this.resolveFinished = r))

  constructor(private readonly overflow: Overflow) {}

  get isEnded(): boolean {
    return this.ended
  }

  /** Queues output; under `block` resolves once the queue is back under its bound. */
  async output(type: 'stdout' | 'stderr', text: string): Promise<void> {
    if (this.ended || !text) return
    this.add(makeEvent(type, { text }))
    this.notify()
    while (this.overflow.policy === 'block' && this.bytes > this.overflow.maxBytes && !this.ended)
      await new Promise<void>(r => this.space.push(r))
  }

  /** Queues events as they come; stdout/stderr among them merge and are bounded as `output()`'s. */
  push(...events: ExecEvent[]): void {
    if (this.ended) return
    for (const e of events) this.add(e)
    this.notify()
  }

  /** No more events after the ones queued and `last` (queued whatever the bound). */
  end(...last: ExecEvent[]): void {
    if (this.ended) return
    for (const e of last) this.add(e, true)
    this.ended = true
    this.resolveFinished()
    this.notify()
    this.release()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExecEvent> {
    try {
      for (;;) {
        const next = this.items.shift()
        if (next) {
          if (next === this.dropNotice?.event) this.dropNotice = undefined
          else this.bytes -= size(next)
          if (this.bytes <= this.overflow.maxBytes) this.release()
          yield next
          continue
        }
        if (this.ended) return
        await new Promise<void>(r => (this.wake = r))
      }
    } finally {
      // A reader that leaves early must not leave the pumps blocked on a full queue. Under
      // `drop` nothing waits, and the cell's later output still belongs to this queue.
      if (this.overflow.policy === 'block') this.end()
    }
  }

  private add(e: ExecEvent, force = false): void {
    const n = size(e)
    const isText = e.type === 'stdout' || e.type === 'stderr'
    if (!force && isText && this.overflow.policy === 'drop' && this.bytes + n > this.overflow.maxBytes) {
      this.noteDropped(n, this.overflow.notice)
      return
    }
    this.bytes += n
    const tail = this.items.at(-1)
    if (isText && tail?.type === e.type && tail !== this.dropNotice?.event) {
      tail.text = (tail.text ?? '') + (e.text ?? '')
      return
    }
    this.items.push(e)
  }

  /** Dropped output is reported where it was lost, in one stderr line that keeps counting. */
  private noteDropped(n: number, notice: (count: number) => string): void {
    if (!this.dropNotice) {
      this.dropNotice = { event: makeEvent('stderr', { text: '' }), count: 0 }
      this.items.push(this.dropNotice.event)
    }
    this.dropNotice.count += n
    this.dropNotice.event.text = notice(this.dropNotice.count)
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private release(): void {
    for (const r of this.space.splice(0)) r()
  }
}

/** Characters an event holds, roughly: its text, or its serialized bundle. */
function size(e: ExecEvent): number {
  if (e.text !== undefined) return e.text.length
  if (e.results) return JSON.stringify(e.results).length
  return 64
}
