/**
 * One run of a live bash as the `/command` stream gives it: init (the shell's id), ping,
 * stdout/stderr split into lines, then execution_complete or the CommandExecError `error` whose
 * value is the exit status (the SDK reads the exit code from it). `/session` and
 * `/v1/isolated/session/{id}/run` both stream this.
 *
 * Output takes the commands' byte path (plugins/command/run.ts): lines are split as bytes
 * (core/lines.ts ByteLineSplitter), a line that needs no JSON escaping goes to the SSE writer as
 * a view into the pipe's chunk (OutputBytes, framed with no string made), and the chunk is
 * freed once the writer has taken its last line. The run is a ReadyIterator: the writer takes a
 * chunk's lines in a loop, not through a promise (and three generators) per line. Nothing is
 * read from bash until the writer asks, so a client that stops reading stops the shell's pipe.
 *
 * Until the run is being stopped (an interrupt, its timeout): its end marker comes behind its
 * output, and a client that reads nothing would hold it there until the grace killed the whole
 * shell. From then on the run reads bash itself, keeps up to STOPPING_KEEP_BYTES for the reader
 * and drops the rest, counted in one stderr line before the run's last event.
 */
import { freeChunk } from '../chunks'
import { droppedWhileStopped } from '../cell-queue'
import { errorEvent, lineEvent, makeEvent, OutputBytes, type ExecEvent } from '../events'
import type { ReadyIterator } from '../journal'
import { ByteLineSplitter } from '../lines'
import { deathWords, runOutOfMemoryWords } from '../oom'
import { QueuedWork } from '../limits'
import type { SseItem } from '../sse-options'
import { setLongTimeout, type LongTimer } from '../timers'
import type { BashRunEnd, BashStream, LiveBash } from './index'
import { STALLED } from './stall'

export interface BashRunOptions {
  /** Reported in `init`. */
  id: string
  cwd?: string
  /** Milliseconds; 2^31 and more are real timeouts too (setLongTimeout), not "now". */
  timeoutMs?: number
  /** The client went away: interrupt the run, keep the shell. */
  signal?: AbortSignal
  /** The second traceback line when the shell itself died, saying what to do next. */
  ended: string
  /**
   * Called when the reader first asks for an event, and once that stream is over (ended,
   * failed or abandoned); a stream never read (its response refused) calls neither.
   */
  onStart?: () => void
  onEnd?: () => void
  /** The section's bound on what its shells' runs hold (runsBound); none: unbounded (a test's shell). */
  budget?: QueuedWork<LiveBash>
}

/** OutputBytes is an SseItem too: its `event` decodes the line on demand. */
type Item = SseItem

/**
 * Runs one shell holds queued or running, and the characters of code of one section's runs
 * together: a run whose client left still waits for its turn, holding its code (20 runs of
 * 15 MiB behind a `sleep` grew execd by 280 MiB, and on). A section's QueuedWork applies them.
 */
const MAX_RUNS_PER_SHELL = 256
const MAX_RUN_CODE_CHARS = 128 * 1024 * 1024

/** The bound a section that drives shells owns (sessions, isolated sessions), named `pool` in reports. */
export const runsBound = (pool: string): QueuedWork<LiveBash> =>
  new QueuedWork('runs', MAX_RUNS_PER_SHELL, MAX_RUN_CODE_CHARS, 'wait for them, or interrupt the running one', pool)

/**
 * The run's events, ids counted from 1 as the SSE writer would count them; a 503 before any
 * event when the shell, or all of its section's, hold as many runs as they may.
 */
export function bashRunEvents(bash: LiveBash, code: string, opts: BashRunOptions): ReadyIterator<Item> {
  opts.budget?.check(bash, 'the shell', code)
  return new BashRun(bash, code, opts)
}

const DONE: IteratorResult<Item> = { done: true, value: undefined }

type Read = IteratorResult<{ stream: BashStream; data: Uint8Array }, BashRunEnd>

interface ReadAhead {
  reads: Read[]
  /** Output bytes among `reads`. */
  bytes: number
  /** Characters dropped since the keep filled. */
  dropped: number
  failed?: { err: unknown }
  wake?: () => void
}

/** Output read ahead for the reader once the run is being stopped; past it, output is dropped. */
const STOPPING_KEEP_BYTES = 1 << 20

class BashRun implements ReadyIterator<Item> {
  private ids = 0
  /** Items ready to hand out, from `at` on. */
  private items: Item[] = []
  private at = 0
  /** The chunk the items' bytes are views into: freed once the reader asks past its last line. */
  private chunk: Uint8Array | undefined
  private it: AsyncGenerator<{ stream: BashStream; data: Uint8Array }, BashRunEnd> | undefined
  private readonly splitters = { stdout: new ByteLineSplitter(), stderr: new ByteLineSplitter() }
  private started = 0
  private timer: LongTimer | undefined
  private timedOut = false
  private readonly abort = new AbortController()
  private readonly onOuter = () => this.abort.abort()
  /** The last event is among the items: the run is over once they are taken. */
  private last = false
  /** A next() is waiting on bash: ready() has nothing meanwhile. */
  private waiting = false
  private over = false
  private begun = false
  /** Gives back the section's room for this run (QueuedWork.hold), once it has begun. */
  private release: (() => void) | undefined
  private end: BashRunEnd | undefined
  /** Set once the run is being stopped: bash is read ahead of the reader (stopPacing). */
  private ahead: ReadAhead | undefined

  constructor(
    private readonly bash: LiveBash,
    private readonly code: string,
    private readonly opts: BashRunOptions,
  ) {
    this.push(makeEvent('init', { text: opts.id }))
    this.push(makeEvent('ping', { text: 'pong' }))
  }

  [Symbol.asyncIterator]() {
    return this
  }

  ready(): IteratorResult<Item> | undefined {
    if (!this.begun) {
      this.begun = true
      this.release = this.opts.budget?.hold(this.bash, this.code)
      this.opts.onStart?.()
    }
    if (this.waiting) return undefined
    if (this.at < this.items.length) return { done: false, value: this.items[this.at++]! }
    // The reader is past every item: the chunk they viewed is done with.
    this.items = []
    this.at = 0
    if (this.chunk) freeChunk(this.chunk)
    this.chunk = undefined
    if (!this.last) return undefined
    void this.finish()
    return DONE
  }

  async next(): Promise<IteratorResult<Item>> {
    const now = this.ready()
    if (now) return now
    if (this.over) return DONE
    this.waiting = true
    try {
      await this.fill()
    } catch (err) {
      await this.finish()
      throw err
    } finally {
      this.waiting = false
    }
    return this.ready() ?? DONE
  }

  async return(): Promise<IteratorResult<Item>> {
    await this.finish()
    return DONE
  }

  async throw(err?: unknown): Promise<IteratorResult<Item>> {
    await this.finish()
    throw err
  }

  /** Reads from bash until there are items to hand out, or the run is over. */
  private async fill(): Promise<void> {
    const it = (this.it ??= this.begin())
    while (this.items.length === 0 && !this.over) {
      const r = this.ahead ? await this.readAhead() : await it.next()
      if (this.over) return
      if (r.done) {
        this.end = r.value
        const now = Date.now()
        for (const stream of STREAMS) for (const line of this.splitters[stream].end()) this.line(stream, line, now)
        if (this.ahead?.dropped)
          this.push(lineEvent('stderr', droppedWhileStopped(this.ahead.dropped, 'run').slice(0, -1)))
        const timeout = this.timedOut ? this.opts.timeoutMs : undefined
        this.push(lastEvent(this.bash, r.value, this.started, timeout, this.opts.ended))
        this.last = true
        return
      }
      const { stream, data } = r.value
      const lines = this.splitters[stream].push(data)
      const now = Date.now()
      for (const line of lines) this.line(stream, line, now)
      // The splitter keeps no view of the chunk (its held tail is a copy): with no line in it,
      // the chunk is done with now; else once the reader has taken its lines.
      if (this.items.length === 0) freeChunk(data)
      else this.chunk = data
    }
  }

  private begin() {
    this.started = performance.now()
    const { timeoutMs, signal } = this.opts
    if (timeoutMs) this.timer = setLongTimeout(() => ((this.timedOut = true), this.abort.abort()), timeoutMs)
    signal?.addEventListener('abort', this.onOuter, { once: true })
    if (signal?.aborted) this.abort.abort()
    return this.bash.run(this.code, { cwd: this.opts.cwd, signal: this.abort.signal, onStop: () => this.stopPacing() })
  }

  /**
   * The run is being stopped: read bash from now on whatever the reader's pace, so the run's
   * end gets through. A read the reader had begun stays its own; later ones queue behind it.
   */
  private stopPacing(): void {
    if (this.ahead || this.over || this.end || !this.it) return
    const ahead: ReadAhead = (this.ahead = { reads: [], bytes: 0, dropped: 0 })
    const it = this.it
    const wake = () => {
      const w = ahead.wake
      ahead.wake = undefined
      w?.()
    }
    void (async () => {
      try {
        for (;;) {
          const r = await it.next()
          if (this.over) {
            if (!r.done) freeChunk(r.value.data)
            return
          }
          if (!r.done && (ahead.dropped || ahead.bytes + r.value.data.length > STOPPING_KEEP_BYTES)) {
            // Once dropping, drop to the end: a later line kept would read as if nothing was lost.
            ahead.dropped += characters(r.value.data)
            freeChunk(r.value.data)
            continue
          }
          if (!r.done) ahead.bytes += r.value.data.length
          ahead.reads.push(r)
          wake()
          if (r.done) return
        }
      } catch (err) {
        ahead.failed = { err }
        wake()
      }
    })()
  }

  /** The next read the pump has made, once it has. */
  private async readAhead(): Promise<Read> {
    const ahead = this.ahead!
    for (;;) {
      const r = ahead.reads.shift()
      if (r) {
        if (!r.done) ahead.bytes -= r.value.data.length
        return r
      }
      if (ahead.failed) throw ahead.failed.err
      await new Promise<void>(w => (ahead.wake = w))
    }
  }

  private line(stream: BashStream, line: string | Uint8Array, now: number): void {
    if (typeof line === 'string') this.push(lineEvent(stream, line))
    else this.items.push(new OutputBytes(++this.ids, stream, line, now))
  }

  private push(event: ExecEvent): void {
    this.items.push({ id: ++this.ids, event })
  }

  /** The one way the run's stream ends: timer and listener gone, an unfinished run interrupted. */
  private async finish(): Promise<void> {
    if (this.over) return
    this.over = true
    this.last = true
    this.timer?.clear()
    this.opts.signal?.removeEventListener('abort', this.onOuter)
    try {
      // Abandoning the run interrupts it (LiveBash.run's cleanup); its queued output is dropped.
      if (this.it && !this.end) await this.it.return(undefined as never)
    } finally {
      if (this.begun) {
        this.release?.()
        this.opts.onEnd?.()
      }
    }
  }
}

const STREAMS = ['stdout', 'stderr'] as const

/** UTF-8 characters in `bytes` (those not continuation bytes), as the notice counts them. */
function characters(bytes: Uint8Array): number {
  let n = 0
  for (let i = 0; i < bytes.length; i++) if ((bytes[i]! & 0xc0) !== 0x80) n++
  return n
}

function lastEvent(bash: LiveBash, end: BashRunEnd, started: number, timeout: number | undefined, ended: string) {
  const why = timeout ? ` (timeout after ${timeout} ms)` : ''
  if (end.kind === 'died') {
    // A stalled shell was ended by execd: how it exited then says nothing of the run.
    const info = end.reason === STALLED ? undefined : bash.exit
    return errorEvent('CommandExecError', info?.code != null ? String(info.code) : '-1', [
      `${info ? deathWords(info, end.outOfMemory, 'shell') : end.reason}${why}`,
      ended,
    ])
  }
  if (end.interrupted) return errorEvent('CommandExecError', '-1', [`signal: interrupt${why}`])
  if (end.code === 0)
    return makeEvent('execution_complete', { execution_time: Math.round(performance.now() - started) })
  const words = end.outOfMemory ? runOutOfMemoryWords(end.code, end.outOfMemory) : `exit status ${end.code}`
  return errorEvent('CommandExecError', String(end.code), [words])
}
