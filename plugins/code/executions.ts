/**
 * Executions: each runs in its context's queue, independently of any HTTP client, and writes
 * its events into a bounded Journal that responses (and later reconnects) read. The context
 * decides how a cell runs; this store keeps only the executions and their journals.
 */
import { awakeNow } from '../../core/awake-clock'
import { boundedErrorEvent } from '../../core/error-bound'
import { ExecdError } from '../../core/errors'
import { errorEvent, type ExecEvent } from '../../core/events'
import { Journal } from '../../core/journal'
import type { Held } from '../../core/held-slots'
import { QueuedWork } from '../../core/limits'
import { uuidHex } from '../../core/random'
import type { CodeContext } from './context'

const KEEP_FINISHED = 128
const KEEP_FINISHED_MS = 15 * 60_000
/**
 * What the journals of finished executions may hold together: each may hold 4 MiB, so the 128
 * kept held up to 512 MiB (90 cells of 1 MB values grew execd by 232 MiB, for 15 minutes).
 */
const KEEP_FINISHED_BYTES = 64 * 1024 * 1024
/**
 * Output one finished execution keeps for replays (its newest, as a finished command's 1 MiB
 * journal does; its result and error whatever their size): a flood's cell kept its journal's
 * 4 MiB, and three 1 GiB floods in a row peaked execd past 100 MiB (row 12b).
 */
const KEEP_FINISHED_OUTPUT = 1024 * 1024
/**
 * A bash cell's journal, as a command's (plugins/command/run.ts): its events are only output
 * and its end. The default 4 MiB is for the values and displays of the other languages (a
 * replay window past a large one); for a bash flood it was 4 MiB of ring touched and 3 MiB more
 * held than a command's, and row 12b peaked at the bound (round 43).
 */
const BASH_JOURNAL_BYTES = 1024 * 1024
/**
 * Executions one context holds queued or running, and the characters of code of all unfinished
 * executions together: an execution outlives its client (core/limits.ts QueuedWork).
 */
const MAX_PENDING_PER_CONTEXT = 256
const MAX_PENDING_CODE_CHARS = 128 * 1024 * 1024

export interface Execution {
  id: string
  contextId: string
  journal: Journal
  /** Resolves once execution_complete is journaled. */
  done: Promise<void>
  finishedAt?: number
  /** What its journal counts in `finishedBytes` while it is kept. */
  keptBytes?: number
}

/** An execution while this store runs it: `ended` settles its `done`. */
interface RunningExecution extends Execution {
  ended: () => void
  /** Gives back the room it holds among the unfinished executions (none for a refused one). */
  release?: () => void
  /** Its turn has come: the cell went to the interpreter. */
  began?: boolean
  /** Interrupted while queued: its turn ends it without running the cell. */
  cancelled?: boolean
}

export class ExecutionStore {
  /**
   * `now`: the clock finished executions are kept 15 minutes on, execd's awake time by default.
   * They are kept for their client to fetch (as --command-retention-age keeps a command's): on
   * the monotonic clock a stop of execd longer than that forgot every one at resume.
   */
  constructor(
    private readonly now: () => number = awakeNow,
    /** ms an ended execution's spilled values stay replayable (core/spilled-bytes.ts; 0: while it is kept). */
    private readonly keepSpilled = 0,
  ) {}

  private readonly executions = new Map<string, Execution>()
  /**
   * Finished executions, oldest first (finishedAt never decreases along it), from `forgotten` on:
   * the slots before it are emptied as they are forgotten (their journals go with them) and cut
   * off the array once they are as many as those kept (a splice at every start moved the 127
   * kept a cell).
   */
  private readonly finished: (Execution | undefined)[] = []
  private forgotten = 0
  /** Bytes their journals hold. */
  private finishedBytes = 0
  /** What the unfinished executions hold, per context and in all. */
  private readonly pending = new QueuedWork<CodeContext>(
    'executions',
    MAX_PENDING_PER_CONTEXT,
    MAX_PENDING_CODE_CHARS,
    'wait for them, or interrupt them (DELETE /code?id=)',
    'code executions',
  )

  /** Who holds the unfinished executions' room (core/held-slots.ts). */
  held(): Held {
    return this.pending.held()
  }

  get(id: string): Execution {
    const e = this.executions.get(id)
    if (!e) throw new ExecdError('CONTEXT_NOT_FOUND', `execution ${id} not found`)
    return e
  }

  /** The execution with this id while it is unfinished. */
  findUnfinished(id: string): Execution | undefined {
    const exec = this.executions.get(id)
    return exec && !exec.finishedAt ? exec : undefined
  }

  /**
   * Cancels the unfinished execution `id` if its cell has not begun: it ends now with a
   * KeyboardInterrupt, and its turn passes without running the cell. Resolves true once it
   * has ended; false when it has begun (or is unknown).
   */
  async cancelQueued(id: string): Promise<boolean> {
    const exec = this.findUnfinished(id) as RunningExecution | undefined
    if (!exec || exec.began || exec.cancelled) return false
    exec.cancelled = true
    const evalue = 'interrupted before it ran'
    const cancelled = errorEvent('KeyboardInterrupt', evalue, [evalue])
    if (!exec.journal.tryAppend(cancelled)) await exec.journal.append(cancelled)
    await this.finish(exec)
    return true
  }

  /**
   * The begun, unfinished execution of a context stops being paced by its client (see
   * Journal.stopPacing): called as it is interrupted, so the stopped cell's end reaches its
   * journal whether or not the client reads. Interrupts are rare: a scan of the map is enough.
   */
  stopPacing(contextId: string): void {
    for (const exec of this.executions.values() as Iterable<RunningExecution>)
      if (exec.contextId === contextId && exec.began && !exec.finishedAt) exec.journal.stopPacing()
  }

  /**
   * Queues `code` in the context; `init` and `ping` are journaled at once. With `failIfBusy`,
   * a context that is running or has queued work ends the stream with a ContextBusy error.
   */
  start(ctx: CodeContext, code: string, opts: { failIfBusy?: boolean } = {}): Execution {
    const refused = opts.failIfBusy && ctx.pending > 0
    if (!refused) this.pending.check(ctx, `context ${ctx.id}`, code)
    const id = uuidHex()
    const journal = new Journal({
      maxBytes: ctx.language === 'bash' ? BASH_JOURNAL_BYTES : undefined,
      keepEnded: KEEP_FINISHED_OUTPUT,
      keepSpilled: this.keepSpilled,
    })
    // A fresh journal has room: no promise for either.
    // state_lost only when true: an init member that is undefined in most cells and a string in
    // none had encodeEvent's extras read see both, and JSC compile it again (bench/jit-compiles.ts).
    // Literals, not makeEvent's spread of a fields object (a native copy per event, five a
    // cell); the keys in makeEvent's order, so the bytes are the same.
    const timestamp = Date.now()
    const init: ExecEvent = ctx.stateLost
      ? { type: 'init', text: ctx.id, execution_id: id, state_lost: true, timestamp }
      : { type: 'init', text: ctx.id, execution_id: id, timestamp }
    journal.tryAppend(init)
    journal.tryAppend({ type: 'ping', text: 'pong', timestamp })
    // The promise's own resolver is `ended` (a second call is a no-op): no closure around it.
    let ended!: () => void
    const done = new Promise<void>(r => (ended = r))
    const exec: RunningExecution = { id, contextId: ctx.id, journal, done, ended }
    this.executions.set(id, exec)
    // `done` is settled by finish() the moment execution_complete is journaled, not once the
    // turn's promises have unwound back through the context's queue (a one-body reply waits
    // on it), which also gives back a begun execution's room.
    if (refused) void this.refuse(ctx, exec).then(exec.ended)
    else {
      exec.release = this.pending.hold(ctx, code, ctx.language)
      void ctx.enqueue(() => this.runTurn(ctx, exec, code))
    }
    // After the cell has gone to an idle interpreter, not before: the forgetting waits on no one.
    this.prune()
    return exec
  }

  private async refuse(ctx: CodeContext, exec: RunningExecution): Promise<void> {
    const evalue = `context ${ctx.id} is busy with ${ctx.pending} execution(s); retry later, or omit wait=false to queue`
    await exec.journal.append(errorEvent('ContextBusy', evalue, [evalue]))
    await this.finish(exec)
  }

  /**
   * One execution's turn in its context's queue: no async frame of its own. Its completion is
   * the context's run's last step (the store chained a `then` on the queue's promise, wrapped the
   * run in an async turn and awaited finish() when it returned nothing: three promises and three
   * microtask turns a cell, round 22). The run ends with `after` however the cell ended.
   */
  private runTurn(ctx: CodeContext, exec: RunningExecution, code: string): Promise<void> {
    // Cancelled while queued: it has ended already (cancelQueued); its room is held until now,
    // as the context's queue still holds its turn.
    if (exec.cancelled) {
      exec.release?.()
      return Promise.resolve()
    }
    const journal = exec.journal
    exec.began = true
    const started = performance.now()
    // Waits only when the journal is full and a reader still needs its oldest event. Every
    // runtime's error passes here, bounded once for all of them (core/error-bound.ts).
    return ctx.run(
      code,
      event => {
        const e = boundedErrorEvent(event)
        return journal.tryAppend(e) ? undefined : journal.append(e)
      },
      () => this.finish(exec, Math.round(performance.now() - started)),
    )
  }

  /** Journals execution_complete and ends the journal: at once unless the journal is full. */
  private finish(exec: RunningExecution, executionTime?: number): Promise<void> | undefined {
    const complete: ExecEvent =
      executionTime === undefined
        ? { type: 'execution_complete', timestamp: Date.now() }
        : { type: 'execution_complete', execution_time: executionTime, timestamp: Date.now() }
    if (exec.journal.tryAppend(complete)) return this.ended(exec)
    return exec.journal.append(complete).then(() => this.ended(exec))
  }

  private ended(exec: RunningExecution): undefined {
    exec.journal.end()
    exec.finishedAt = this.now()
    this.finished.push(exec)
    exec.keptBytes = 0
    // Counted again once its client has read it and it keeps only its newest output.
    exec.journal.whenSettled(() => this.recount(exec))
    this.recount(exec)
    // A cancelled one's room goes back at its turn (runTurn).
    if (exec.began) exec.release?.()
    exec.ended()
    return undefined
  }

  /** `exec`'s journal counted at what it holds now, if it is still kept. */
  private recount(exec: Execution): void {
    if (exec.keptBytes === undefined || this.executions.get(exec.id) !== exec) return
    const bytes = exec.journal.retainedBytes
    this.finishedBytes += bytes - exec.keptBytes
    exec.keptBytes = bytes
    if (this.finishedBytes > KEEP_FINISHED_BYTES) this.prune()
  }

  /**
   * Forgets finished executions past the newest KEEP_FINISHED, past KEEP_FINISHED_BYTES of
   * journals, or older than KEEP_FINISHED_MS.
   * They are kept in the order they finished, so this is O(pruned) per start: filtering the
   * whole map on every start was 2% of a warm cell's CPU.
   */
  private prune(): void {
    const cutoff = this.now() - KEEP_FINISHED_MS
    const finished = this.finished
    let head = this.forgotten
    for (; head < finished.length; head++) {
      const oldest = finished[head]!
      const kept = finished.length - head <= KEEP_FINISHED && this.finishedBytes <= KEEP_FINISHED_BYTES
      if (kept && (oldest.finishedAt ?? 0) >= cutoff) break
      this.executions.delete(oldest.id)
      this.finishedBytes -= oldest.keptBytes ?? 0
      oldest.keptBytes = undefined
      finished[head] = undefined
    }
    if (head > KEEP_FINISHED && head * 2 >= finished.length) {
      finished.splice(0, head)
      head = 0
    }
    this.forgotten = head
  }
}
