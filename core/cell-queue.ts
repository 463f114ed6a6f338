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
 *
 * A `block` queue turns to dropping once its cell is being stopped (`unblock()`): the end of
 * the cell comes behind its output, and a reader that lags must not hold it back.
 */
import { EncodedEvent, makeEvent, type ExecEvent } from './events'
import type { Emit } from './plugin'

/**
 * A push-style run (`RuntimeContext.runInto`) as an async iterable, for readers that pull: the
 * producer waits at each event until the reader has taken it, as a generator would. A reader
 * that leaves early lets the run go on to its end, its later events unread.
 */
export async function* pulled(start: (emit: Emit) => Promise<void>): AsyncGenerator<ExecEvent> {
  const waiting: { event: ExecEvent; taken: () => void }[] = []
  let wake: (() => void) | undefined
  let left = false
  let over = false
  let failure: { err: unknown } | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const emit: Emit = event => {
    if (left) return
    return new Promise<void>(taken => {
      waiting.push({ event, taken })
      notify()
    })
  }
  start(emit).then(
    () => ((over = true), notify()),
    err => ((failure = { err }), (over = true), notify()),
  )
  try {
    for (;;) {
      const next = waiting.shift()
      if (next) {
        next.taken()
        yield next.event
        continue
      }
      if (over) {
        if (failure) throw failure.err
        return
      }
      await new Promise<void>(r => (wake = r))
    }
  } finally {
    left = true
    for (const w of waiting.splice(0)) w.taken()
  }
}

/**
 * The stderr line that counts the output a stopped cell's (or a session's run's) lagging reader
 * had no room for, named as its client knows it.
 */
export const droppedWhileStopped = (count: number, what: 'cell' | 'run' = 'cell', displays = 0): string => {
  const lost = [count || !displays ? `${count} characters of output` : '', displays ? `${displays} displays` : '']
  return `[execd: ${lost.filter(Boolean).join(' and ')} dropped while the ${what} was stopped: the reader fell behind]\n`
}

export type Overflow =
  /**
   * `runsOn`: the interpreter runs a cell its reader left to its end, so the queue stays the
   * cell's (its later output must not reach the next cell) and drops what comes; else it ends.
   */
  | { policy: 'block'; maxBytes: number; runsOn?: boolean }
  /** `notice` words the stderr line that reports `count` characters of dropped output. */
  | { policy: 'drop'; maxBytes: number; notice: (count: number) => string }

export class CellQueue implements AsyncIterable<ExecEvent> {
  private readonly items: ExecEvent[] = []
  private bytes = 0
  /** The queued notice of dropped output, updated while it waits (never merged into). */
  private dropNotice: { event: ExecEvent; count: number; displays: number } | undefined
  private ended = false
  /** A `runsOn` queue whose reader left: nobody takes what comes. */
  private unread = false
  /** Set by `unblock()`: past the bound, output and displays are dropped and counted instead of waited for. */
  private unblocked: ((count: number, displays: number) => string) | undefined
  private wake: (() => void) | undefined
  private space: (() => void)[] = []
  private resolveFinished!: () => void
  /** Resolves when the cell has ended (done, death, or under `block` the reader left). */
  readonly finished = new Promise<void>(r => (this.resolveFinished = r))

  constructor(private readonly overflow: Overflow) {}

  get isEnded(): boolean {
    return this.ended
  }

  /** The cell is being stopped (`unblock()`). */
  get isStopped(): boolean {
    return this.unblocked !== undefined
  }

  /** More is queued than the bound: what the reader has not taken yet. */
  get isFull(): boolean {
    return this.bytes > this.overflow.maxBytes
  }

  /**
   * Under `block`, past the bound, resolves once the reader has taken enough (or the cell is
   * stopped, or its reader left): for a pump of events other than output (`push` never waits),
   * which queued a cell's display messages without end while its client read nothing.
   */
  whenRoom(): Promise<void> | undefined {
    if (this.overflow.policy === 'block' && this.bytes > this.overflow.maxBytes && !this.unblocked && !this.ended)
      return this.room()
  }

  /** A pump waits for the reader to take output (a `block` queue past its bound). */
  get isHeld(): boolean {
    return this.space.length > 0
  }

  /**
   * Queues output. Under `block`, past the bound, returns a promise that resolves once the
   * reader has taken enough (not async: a flood's chunks cost no promise when there is room).
   */
  output(type: 'stdout' | 'stderr', text: string): Promise<void> | undefined {
    if (this.ended || this.unread || !text) return
    this.addText(type, text)
    return this.queued()
  }

  /**
   * `output()` of output that is its JSON already (its bytes framed as they are, no string
   * made): queued as it comes, never merged, dropped and counted as text past the bound once
   * dropping; `chars` is its text's length.
   */
  outputEncoded(event: EncodedEvent, chars: number): Promise<void> | undefined {
    if (this.ended || this.unread || chars === 0) return
    const notice = this.overflow.policy === 'drop' ? this.overflow.notice : this.unblocked
    if (notice && this.bytes + event.size > this.overflow.maxBytes) this.noteDropped(chars, notice)
    else {
      this.bytes += event.size
      this.items.push(event)
    }
    return this.queued()
  }

  /** The reader is woken; under `block`, past the bound, the room the producer waits for. */
  private queued(): Promise<void> | undefined {
    this.notify()
    if (this.overflow.policy === 'block' && this.bytes > this.overflow.maxBytes && !this.unblocked) return this.room()
  }

  /**
   * The cell is being stopped: from now on output and displays past the bound are dropped and
   * counted in one stderr line, and nothing waits for room, so the pumps drain the interpreter
   * and its end arrives whatever the reader's pace. Already queued output stays; so do the
   * events `end()` is given (the cell's value, its error).
   */
  unblock(): void {
    if (this.overflow.policy !== 'block' || this.unblocked) return
    this.unblocked = (count, displays) => droppedWhileStopped(count, 'cell', displays)
    this.release()
  }

  /** Queues events as they come; stdout/stderr among them merge and are bounded as `output()`'s. */
  push(...events: ExecEvent[]): void {
    if (this.ended || this.unread) return
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
        const next = this.take()
        if (next) {
          yield next
          continue
        }
        if (this.ended) return
        await new Promise<void>(r => (this.wake = r))
      }
    } finally {
      this.left()
    }
  }

  /**
   * The same events as iterating the queue, handed to `emit` (a push-style run,
   * RuntimeContext.runInto): what is queued goes out in this tick, no generator per event; a
   * promise `emit` returns is awaited before the next event. Resolves when the cell has ended.
   */
  async drainInto(emit: Emit): Promise<void> {
    try {
      for (;;) {
        const next = this.take()
        if (next) {
          const behind = emit(next)
          if (behind) await behind
          continue
        }
        if (this.ended) return
        await new Promise<void>(r => (this.wake = r))
      }
    } finally {
      this.left()
    }
  }

  /** The oldest queued event, counted out of the bound. */
  private take(): ExecEvent | undefined {
    const next = this.items.shift()
    if (!next) return undefined
    if (next === this.dropNotice?.event) this.dropNotice = undefined
    else this.bytes -= size(next)
    if (this.bytes <= this.overflow.maxBytes) this.release()
    return next
  }

  /**
   * The reader is done. One that leaves early must not leave the pumps blocked on a full
   * queue. Under `drop` nothing waits, and the cell's later output still belongs to this queue;
   * so under `runsOn`, which drops it all.
   */
  private left(): void {
    if (this.overflow.policy !== 'block' || this.ended) return
    if (!this.overflow.runsOn) return this.end()
    this.unread = true
    this.items.length = 0
    this.bytes = 0
    this.dropNotice = undefined
    this.release()
  }

  private async room(): Promise<void> {
    while (this.bytes > this.overflow.maxBytes && !this.ended && !this.unblocked)
      await new Promise<void>(r => this.space.push(r))
  }

  private add(e: ExecEvent, force = false): void {
    if ((e.type === 'stdout' || e.type === 'stderr') && !(e instanceof EncodedEvent) && e.text !== undefined)
      return this.addText(e.type, e.text, force, e)
    const bytes = size(e)
    // A stopped cell's displays no longer wait for room (whenRoom): a javascript cell displaying
    // in a synchronous loop until the grace's kill put ~300 of 1 MiB in spilled files for a
    // client that read nothing. Past the bound they go as its output does, counted.
    if (!force && e.type === 'result' && this.unblocked && this.bytes + bytes > this.overflow.maxBytes)
      return this.noteDropped(0, this.unblocked, 1)
    this.bytes += bytes
    this.items.push(e)
  }

  /** Output merges into the event before it if that is of the same stream (and not a notice). */
  private addText(type: 'stdout' | 'stderr', text: string, force = false, event?: ExecEvent): void {
    const notice = this.overflow.policy === 'drop' ? this.overflow.notice : this.unblocked
    if (!force && notice && this.bytes + text.length > this.overflow.maxBytes)
      return this.noteDropped(text.length, notice)
    this.bytes += text.length
    const tail = this.items.at(-1)
    if (tail?.type === type && tail !== this.dropNotice?.event && !(tail instanceof EncodedEvent))
      tail.text = (tail.text ?? '') + text
    else this.items.push(event ?? makeEvent(type, { text }))
  }

  /** Dropped output (and displays) reported where it was lost, in one stderr line that keeps counting. */
  private noteDropped(n: number, notice: (count: number, displays: number) => string, displays = 0): void {
    if (!this.dropNotice) {
      this.dropNotice = { event: makeEvent('stderr', { text: '' }), count: 0, displays: 0 }
      this.items.push(this.dropNotice.event)
    }
    this.dropNotice.count += n
    this.dropNotice.displays += displays
    this.dropNotice.event.text = notice(this.dropNotice.count, this.dropNotice.displays)
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
  if (e instanceof EncodedEvent) return e.size
  if (e.text !== undefined) return e.text.length
  if (e.results) return JSON.stringify(e.results).length
  return 64
}
