/**
 * One SSE response's stream (CONTRACT §2), from its first event to its end: `id: n` +
 * `data: <json>` frames, ids counted or taken from a journal, a keepalive `ping` every 3 s,
 * batching, the one-body reply for work that ends at once, backpressure through the direct
 * stream's awaited writes, a turn of the event loop every 256 KiB of all streams together
 * (core/fair.ts), and one way to end — done,
 * failed, client gone or shutdown. core/sse.ts makes responses of it.
 */
import { errorEvent, makeEvent, type ExecEvent } from './events'
import { toExecdError } from './errors'
import { KEEPALIVE_COST, sseTurns } from './fair'
import type { ReadyIterator } from './journal'
import type { Streams } from './streams'
import { within } from './timers'
import { collectAfterFlood, encodeFrame, FrameBatch, type Bulk } from './sse-batch'
import { SpilledRange } from './encoded-part'
import { frame, StreamFrames, WHOLE_TEXT_MAX } from './sse-frames'
import type { SseItem, SseOptions } from './sse-options'

/** Bytes of a frame's bulk per write (and per turn of the event loop, see core/fair.ts). */
const BULK_SLICE = 256 * 1024

/** Settled already, so it loses a race only to a result that is ready now. */
const NOT_READY: Promise<'not-ready'> = Promise.resolve('not-ready')

type Controller = ReadableStreamDirectController

/**
 * Whether the stream goes to Bun's HTTP response sink, whose `write` sends the bytes or copies
 * what the socket does not take before it returns: a batch's reused buffer, and a journal's run
 * of frames it lends (core/sse-batch.ts), may then be written where they lie. Any other reader
 * of the body (a test reading the Response in-process) queues the very buffer, so it gets a
 * copy of its own.
 */
const copiesWrites = (c: Controller): boolean =>
  Object.prototype.toString.call(c) === '[object ReadableHTTPResponseSinkController]'
/** What one wait for the source ends with. */
type Outcome<E> = IteratorResult<E | SseItem<E>> | 'ping' | { abort: ExecEvent } | { fail: unknown }

/** The producer failed after the stream started: reported in-band, then the stream ends. */
const failureEvent = (err: unknown): ExecEvent => {
  const e = toExecdError(err)
  return errorEvent('RuntimeError', e.message, [e.message])
}

/** One response's stream: ids, keepalive, batching, and the one way it ends. */
export class SseWriter<E> {
  private readonly pingMs: number
  private readonly frames: StreamFrames<E>
  private closed = false
  private pending: Promise<IteratorResult<E | SseItem<E>>> | undefined
  private lastWrite = performance.now()
  // A fresh waiter per pull: racing one long-lived promise on every pull would pile a
  // reaction (holding that pull's event) onto it per event — a leak as long as the stream.
  private abortEvent: ExecEvent | undefined
  private readonly untrack: () => void
  private abortWaiter: ((e: ExecEvent) => void) | undefined
  private readonly abort = (e: ExecEvent): void => {
    this.abortEvent ??= e
    this.abortWaiter?.(e)
  }

  constructor(
    private readonly it: AsyncIterator<E | SseItem<E>>,
    private readonly opts: SseOptions<E>,
    private readonly slot: () => void,
    /** Its app's: a shutdown ends the stream with an error event. */
    streams: Streams,
  ) {
    this.pingMs = opts.pingMs ?? 3000
    this.frames = new StreamFrames(opts.encode)
    this.untrack = streams.track(this.abort)
  }

  private unguard: (() => void) | undefined

  /** Ends `guard` (a stall rule's watch) with the stream. */
  guardedBy(guard: () => void): void {
    if (this.closed) guard()
    else this.unguard = guard
  }

  /** Frames gathered before the stream started: its first chunk. */
  private head: FrameBatch | undefined

  /**
   * Takes the frames that are ready now, and for up to `holdMs` the ones that follow. A source
   * that ends meanwhile is the whole body, returned (one write, no stream: a warm cell is
   * over in well under a millisecond); otherwise the frames gathered start the stream.
   * The bytes are the same either way.
   */
  async gather(first: IteratorResult<E | SseItem<E>>, holdMs: number): Promise<Uint8Array | undefined> {
    if (first.done) {
      this.close()
      return new Uint8Array(0)
    }
    // An opening frames its first batch within the budget all streams share: 256 watchers of a
    // flood opened together each framed 64 KiB of its replay in the turn they arrived (16 MiB).
    const free = sseTurns.free()
    if (free) await free
    const batch = this.frames.batchOf(first.value)
    let timer: ReturnType<typeof setTimeout> | undefined
    let held: Promise<'not-ready'> | 'all' = NOT_READY
    if (holdMs > 0 && this.opts.ended) {
      // A rejection is no end: the frames then stream as they come.
      const end = await within(this.opts.ended, holdMs).catch(() => 'timeout' as const)
      if (end !== 'timeout') held = 'all'
    } else if (holdMs > 0) held = new Promise<'not-ready'>(r => (timer = setTimeout(() => r('not-ready'), holdMs)))
    let ended: boolean
    try {
      ended = await this.takeReady(batch, held, true)
    } catch (err) {
      batch.add(this.frames.parts(failureEvent(err)))
      ended = true
    } finally {
      clearTimeout(timer)
    }
    if (ended) {
      this.close()
      return batch.take()
    }
    this.head = batch
    this.lastWrite = performance.now()
    return undefined
  }

  /**
   * The whole body, framed in this tick, of a source known to have ended (its `ended` has
   * settled): read through `ready()` into one buffer, with no promise per event and no stream.
   * Undefined when the source turns out to have more than is ready, or more than a batch: what
   * was taken is then the stream's first chunk (`run`). The bytes are the same either way.
   */
  whole(): Uint8Array | string | undefined {
    const it = this.it as Partial<ReadyIterator<E | SseItem<E>>>
    // A short body (a warm cell's five frames, a quiet command's three) is one string, which Bun
    // encodes as it sends it: framed into the batch, each frame was a native write into the
    // scratch and the whole a copy out of it, a fifth of the reply's JavaScript.
    let text = ''
    let now = it.ready?.()
    for (; now && !now.done && text.length < WHOLE_TEXT_MAX; now = it.ready?.()) {
      const frame = this.frames.text(now.value)
      if (frame === undefined) break
      text += frame
    }
    sseTurns.count(text.length)
    if (now?.done) {
      this.close()
      return text
    }
    // The rest (bytes, or more than a short body) in a batch; `now` is not framed yet.
    const batch = new FrameBatch(text === '' ? [] : [text])
    while (now) {
      if (now.done) {
        this.close()
        return batch.take()
      }
      this.add(batch, now.value)
      if (batch.full || sseTurns.spent) break
      now = it.ready?.()
    }
    this.head = batch
    this.lastWrite = performance.now()
    return undefined
  }

  /** Writes the stream until it ends: the first chunk, then a batch at a time. */
  async run(controller: Controller): Promise<void> {
    const head = this.head
    this.head = undefined
    const lend = copiesWrites(controller)
    if (head) await this.send(controller, head, lend)
    while (!this.closed) await this.pull(controller, lend)
  }

  /** Writes a batch, then its bulk if it has one; counts the bytes for the GC. */
  private async send(controller: Controller, batch: FrameBatch, lend: boolean): Promise<void> {
    const bulk = batch.takeBulk()
    const bytes = batch.bytes
    const runs = batch.runBytes
    if (bytes > 0) await (lend ? batch.writeTo(chunk => controller.write(chunk)) : controller.write(batch.take()))
    else batch.take()
    collectAfterFlood(bytes, runs)
    if (bulk) await this.sendBulk(controller, bulk, lend)
  }

  /**
   * A frame's bulk (a large value or output, as the interpreter encoded it) from where it lies,
   * a slice per write: each write waits for the socket, and the event loop turns between
   * slices (one write of it all held the loop, and a copy of what the socket had not taken).
   */
  private async sendBulk(controller: Controller, bulk: Bulk, lend: boolean): Promise<void> {
    // A spilled part is read a slice at a time into one buffer: a lending write is done with
    // it when it returns (what the socket did not take, Bun copied), so that is all it holds.
    let spillSlice: Uint8Array | undefined
    for (const data of bulk.parts)
      for (let at = 0; at < data.length; at += BULK_SLICE) {
        while (sseTurns.spent) await sseTurns.next()
        // The client went away: the rest of the frame is for no one.
        if (this.closed) return
        const end = Math.min(data.length, at + BULK_SLICE)
        let slice: Uint8Array
        if (data instanceof SpilledRange) {
          spillSlice ??= lend ? Buffer.allocUnsafe(BULK_SLICE) : undefined
          slice = data.file.read(data.start + at, data.start + end, spillSlice)
        } else {
          // (a journal's ring may hold it: a queue that keeps the very buffer gets a copy)
          slice = lend ? data.subarray(at, end) : data.slice(at, end)
        }
        await controller.write(slice)
        sseTurns.count(slice.length)
        // Counted as a batch's bytes are: left out, a bash cell's flood (its chunks past a batch
        // are bulk) was never collected for, and peaked at 103–105 MiB for 512 MiB, not 89.
        collectAfterFlood(slice.length)
      }
    if (!this.closed) await controller.write(bulk.tail)
  }

  /** Frames `value` into the batch and counts its bytes against the shared budget. */
  private add(batch: FrameBatch, value: E | SseItem<E>): void {
    const before = batch.bytes
    this.frames.addTo(batch, value)
    sseTurns.count(batch.bytes - before)
  }

  private async pull(controller: Controller, lend: boolean): Promise<void> {
    const outcome = this.readyNow() ?? (await this.next())
    // The client went away meanwhile: nothing more is written.
    if (this.closed) return
    if (outcome === 'ping') {
      while (sseTurns.spent) {
        await sseTurns.next()
        if (this.closed) return
      }
      sseTurns.count(KEEPALIVE_COST)
      return void (await controller.write(encodeFrame([frame(makeEvent('ping', { text: 'pong' }))])))
    }
    if ('abort' in outcome) {
      this.close(controller, encodeFrame(this.frames.parts(outcome.abort)))
      void this.it.return?.()
      return
    }
    if ('fail' in outcome) return this.close(controller, encodeFrame(this.frames.parts(failureEvent(outcome.fail))))
    this.pending = undefined
    if (outcome.done) return this.close(controller)
    // A source that is always ready (a `yes` outrunning its encoding) fed pull after pull in one
    // microtask chain: /ping waited 2–10 s behind a foreground flood. The budget all streams
    // share is asked right before framing, with no await between: writers woken by one turn
    // that each passed a check first framed 256 frames a turn past the budget (a socket write
    // each), and /ping's median went from 0.7 to 8 ms.
    while (sseTurns.spent) {
      await sseTurns.next()
      if (this.closed) return
    }
    // Filled and written in this tick when the journal has its runs ready (send's write comes
    // before its first await): runs may be lent joined, and no await comes between.
    const batch = this.frames.batchOf(outcome.value, true)
    let ended: boolean
    try {
      const taken = this.takeReady(batch, NOT_READY, true)
      ended = typeof taken === 'boolean' ? taken : await taken
    } catch (err) {
      batch.add(this.frames.parts(failureEvent(err)))
      ended = true
    }
    if (ended) return this.close(controller, batch.take())
    await this.send(controller, batch, lend)
  }

  /** The client went away: the producer runs its cleanup (it decides whether work stops). */
  cancel(): void {
    this.close()
    void this.it.return?.()
  }

  /** The one way a stream ends, whatever ended it: last bytes out, slot back, listener told. */
  private close(controller?: Controller, last?: Uint8Array): void {
    if (this.closed) return
    this.closed = true
    if (last) void controller?.write(last)
    this.untrack()
    this.unguard?.()
    this.slot()
    this.opts.onClose?.()
    controller?.close()
  }

  /**
   * The next event when the source has it now, else undefined: nothing for a keepalive or a
   * shutdown to race, so no timer, waiter and race are made for it. In a flood the next run
   * is mostly ready when the last batch is written; each pull made them all.
   */
  private readyNow(): Outcome<E> | undefined {
    if (this.pending !== undefined || this.abortEvent !== undefined) return undefined
    try {
      const now = (this.it as Partial<ReadyIterator<E | SseItem<E>>>).ready?.()
      if (now) this.lastWrite = performance.now()
      return now
    } catch (fail) {
      return { fail }
    }
  }

  /** The next event, or a keepalive due, or shutdown — whichever comes first. */
  private async next(): Promise<Outcome<E>> {
    this.pending ??= this.it.next()
    const wait = this.pingMs > 0 ? Math.max(0, this.pingMs - (performance.now() - this.lastWrite)) : 2 ** 31 - 1
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = new Promise<'ping'>(r => (timer = setTimeout(() => r('ping'), wait)))
    const aborted = new Promise<{ abort: ExecEvent }>(r => {
      if (this.abortEvent) r({ abort: this.abortEvent })
      else this.abortWaiter = e => r({ abort: e })
    })
    try {
      const outcome = await Promise.race([this.pending, tick, aborted])
      this.lastWrite = performance.now()
      return outcome
    } catch (fail) {
      return { fail }
    } finally {
      clearTimeout(timer)
      this.abortWaiter = undefined
    }
  }

  /**
   * Adds the events already waiting to the batch — or arriving until `until` settles, or all
   * of them when the source is known to have ended — and says true when the source ended. A
   * batch is bounded; a shutdown stops it (the next pull sends its event). A `paced` batch also
   * stops once the budget all streams share is spent: its first event counts, the rest wait.
   */
  private takeReady(
    batch: FrameBatch,
    until: Promise<'not-ready'> | 'all' = NOT_READY,
    paced = false,
  ): boolean | Promise<boolean> {
    sseTurns.count(batch.bytes)
    return this.takeNow(batch, paced) ?? this.takeLater(batch, until, paced)
  }

  /** What a journal has now, without a promise per event; undefined: more may come by waiting. */
  private takeNow(batch: FrameBatch, paced: boolean): boolean | undefined {
    const it = this.it as Partial<ReadyIterator<E | SseItem<E>>>
    while (!batch.full && !this.abortEvent && !(paced && sseTurns.spent)) {
      const now = it.ready?.()
      if (!now) return batch.lends ? false : undefined
      if (now.done) return true
      this.add(batch, now.value)
    }
    return false
  }

  /** Then what comes by `until`. Runs met after a wait are not joined (FrameBatch `joins`). */
  private async takeLater(batch: FrameBatch, until: Promise<'not-ready'> | 'all', paced: boolean): Promise<boolean> {
    batch.joinNoMore()
    for (;;) {
      const next = this.it.next()
      const ready = until === 'all' ? await next : await Promise.race([next, until])
      if (ready === 'not-ready') {
        this.pending = next
        return false
      }
      if (ready.done) return true
      this.add(batch, ready.value)
      const now = this.takeNow(batch, paced)
      if (now !== undefined) return now
    }
  }
}
