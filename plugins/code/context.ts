/**
 * One code context: the owner of a live interpreter whose state survives between executions,
 * and of the queue that runs them one at a time. A context outlives its interpreter: when the
 * interpreter dies, the next execution starts a fresh one and says that the state was lost.
 * Whether, and why, state was lost is decided here and nowhere else.
 */
import { childEnv } from '../../core/child-env'
import type { Config } from '../../core/config'
import { ExecdError } from '../../core/errors'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import type { Logger } from '../../core/log'
import type { Completeness, Emit, Runtime, RuntimeContext } from '../../core/plugin'
import { tempDiskFull, tempDiskFullText } from '../../core/temp-disk'
import { within } from '../../core/timers'

/** What a context needs from its store to start interpreters and account for itself. */
interface ContextHost {
  config: Config
  log: Logger
  /** Gives back the context's slot in its language's capacity; idempotent. */
  release: () => void
  /** Marks the context as used now (idle time counts from here). */
  touch: () => void
}

/** The cell whose turn it is: waiting for an interpreter, or running in one. */
class RunningCell {
  /** Its code has gone to the interpreter (before that, it waits for a fresh one). */
  started = false
  /** Interrupted before its code went out: it never runs. */
  interrupted = false
  /** The cell ignored an interrupt and its interpreter was killed. */
  escalated = false
  private over = false
  private waited: Promise<void> | undefined
  private resolve: (() => void) | undefined

  /**
   * Settles once the cell's turn is over. Made only when an interrupt asks: a promise and its
   * resolver per cell were made for every cell, and nearly none is interrupted.
   */
  get done(): Promise<void> {
    if (this.over) return Promise.resolve()
    return (this.waited ??= new Promise<void>(r => (this.resolve = r)))
  }

  end(): void {
    this.over = true
    this.resolve?.()
  }
}

export class CodeContext {
  readonly id = crypto.randomUUID()
  /** The current interpreter; replaced after a death. */
  private live: RuntimeContext | undefined
  /** Why the previous interpreter's state is gone; reported by the next execution. */
  private lostReason: string | undefined
  /** Tail of the queue: one execution at a time. */
  private queue: Promise<void> = Promise.resolve()
  /** Executions queued or running. */
  private queued = 0
  private running: RunningCell | undefined
  private deleted = false
  /** A fresh interpreter being started by `ensureLive`; a deletion waits for it to be closed. */
  private restarting: Promise<unknown> | undefined

  constructor(
    readonly language: string,
    readonly cwd: string,
    private readonly runtime: Runtime,
    private readonly host: ContextHost,
  ) {}

  /** Executions queued or running. */
  get pending(): number {
    return this.queued
  }

  get closed(): boolean {
    return this.deleted
  }

  /**
   * Whether the next execution is already known to start in a fresh interpreter: a reason is
   * recorded, or the interpreter died outside a cell.
   */
  get stateLost(): boolean {
    return this.lostReason !== undefined || (this.live !== undefined && !this.live.alive && !this.running)
  }

  /** Starts the first interpreter (errors surface here, before any execution). */
  async start(): Promise<void> {
    this.live = await this.startInterpreter()
  }

  private readonly turnOver = (): void => {
    this.queued--
  }

  /** Runs `turn` after every turn queued before it; resolves (never rejects) when it is over. */
  enqueue(turn: () => Promise<void>): Promise<void> {
    // Idle (nothing queued or running): the turn starts now, in the caller's tick — the warm
    // cell's code reaches the interpreter without waiting for a microtask hop of the queue.
    const started = this.queued++ === 0 ? startNow(turn) : this.queue.then(turn)
    // One promise that never rejects, for the count and the next turn (finally, then catch, made two).
    this.queue = started.then(this.turnOver, this.turnOver)
    return this.queue
  }

  /**
   * Runs one cell in the live interpreter (a fresh one after a death, announced by a
   * `state_lost` status), handing its events to `emit`. Failures end the cell with an error
   * event rather than a throw. Call it from a turn of `enqueue`. `after` runs once the cell is
   * over, however it ended, and its promise (if any) is the run's: the execution's completion
   * rides on this frame rather than on an async frame of its own around it (round 22).
   */
  async run(code: string, emit: Emit, after?: () => Promise<unknown> | undefined): Promise<void> {
    const running = new RunningCell()
    try {
      if (this.deleted) throw new ExecdError('CONTEXT_NOT_FOUND', `context ${this.id} was deleted`)
      // Its turn from here on: an interrupt while a fresh interpreter starts is for this cell
      // (it found no running cell, answered at once, and the cell then ran to its end).
      this.running = running
      // No await for a live one: the cell's code goes out in this very tick.
      const live = this.live?.alive ? this.live : await this.ensureLive()
      const lost = this.lostReason
      if (lost !== undefined) {
        this.lostReason = undefined
        const text = `state_lost: ${lost}; this execution runs in a fresh ${this.language} interpreter`
        await emit(makeEvent('status', { text, state_lost: true }))
      }
      if (running.interrupted) {
        const evalue = 'interrupted before it ran'
        await emit(errorEvent('KeyboardInterrupt', evalue, [evalue]))
        return
      }
      running.started = true
      let sawError = false
      const forward: Emit = event => {
        if (event.type === 'error') {
          sawError = true
          if (running.escalated) event = this.escalationError(event)
        }
        return emit(event)
      }
      if (live.runInto) await live.runInto(code, forward)
      else for await (const event of live.run(code)) await forward(event)
      if (!live.alive) {
        this.lostReason ??= 'the interpreter died during the previous execution'
        // A DELETE that came as the cell ended stopped the interpreter before its end was seen
        // (9 cells of 40): that is no death of its own.
        const evalue = this.deleted
          ? `the ${this.language} interpreter was stopped by execd: context ${this.id} was deleted as the execution ended`
          : `the ${this.language} interpreter died; its state is lost`
        if (!sawError) await emit(errorEvent('DeadKernelError', evalue, []))
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      await emit(errorEvent('RuntimeError', message, [message]))
    } finally {
      if (this.running === running) this.running = undefined
      // Idle time counts from the end of the last execution.
      if (!this.deleted) this.host.touch()
      running.end()
      const ending = after?.()
      if (ending) await ending
    }
  }

  /**
   * Interrupts the running cell and resolves once it stopped; a cell that ignores the interrupt
   * for `graceMs` is killed with its interpreter (state lost).
   */
  async interrupt(graceMs: number): Promise<void> {
    const running = this.running
    if (!running) return
    if (!running.started) {
      // Waiting for a fresh interpreter: its code never goes out, and it ends once that
      // interpreter is up or failed to start — waited for no longer than a cell is given.
      running.interrupted = true
      await within(running.done, graceMs)
      return
    }
    if (!this.live) return
    // The grace counts from the request: an interrupt whose own delivery hangs (a Jupyter server
    // that never answers it, up to its 15 s request timeout) eats into it rather than adding to it.
    const deadline = performance.now() + graceMs
    const sent = this.live.interrupt().catch(err => {
      // An interrupt that never reached the cell (a Jupyter server answering 500, or not at
      // all) left it running with no way to stop it but DELETE: it is a cell ignoring it.
      this.host.log.warn('code: the interrupt failed', { context: this.id, err: String(err) })
    })
    await within(sent, graceMs)
    const left = Math.max(0, deadline - performance.now())
    const stopped = (await within(running.done, left)) !== 'timeout'
    if (!stopped && this.running === running) {
      running.escalated = true
      this.lostReason = `the cell ignored an interrupt for ${graceMs} ms and its interpreter was killed`
      await this.live?.close()
      // A runtime that does not notice its own death must not hang the caller.
      await within(running.done, 5000)
    }
  }

  /** Whether `code` is a whole cell, as the interpreter says (unknown where it cannot: a dead one, most runtimes). */
  isComplete(code: string, waitMs: number): Promise<Completeness> {
    const live = this.live
    if (!live?.alive || !live.isComplete) return Promise.resolve({ status: 'unknown' })
    return live.isComplete(code, waitMs)
  }

  /** An interpreter for the next execution: the live one, or a fresh one after a death. */
  async ensureLive(): Promise<RuntimeContext> {
    if (this.live?.alive) return this.live
    const restarting = this.restart()
    this.restarting = restarting
    try {
      return await restarting
    } finally {
      if (this.restarting === restarting) this.restarting = undefined
    }
  }

  private async restart(): Promise<RuntimeContext> {
    const gone = this.live
    if (gone) {
      // its words once it is stopped: a context that lost its channel says so at its close
      await gone.close().catch(() => {})
      this.lostReason ??= gone.lostWhy ?? 'the previous interpreter is gone'
    }
    this.live = undefined
    const fresh = await this.startInterpreter()
    // Deleted while it started: close() found no interpreter to close, so this one would
    // outlive its context (a process per DELETE, outside every cap) and run the cell anyway.
    if (this.deleted) {
      await fresh.close().catch(() => {})
      throw new ExecdError('CONTEXT_NOT_FOUND', `context ${this.id} was deleted`)
    }
    this.live = fresh
    return fresh
  }

  /**
   * Marks the context deleted at once (queued executions end with CONTEXT_NOT_FOUND), gives
   * its slot back and resolves once its interpreter is closed. Idempotent.
   */
  close(): Promise<void> {
    if (!this.deleted) {
      this.deleted = true
      this.host.release()
    }
    const restarting = this.restarting?.catch(() => {})
    const closing = this.live?.close()
    return Promise.all([closing, restarting]).then(() => {})
  }

  private async startInterpreter(): Promise<RuntimeContext> {
    try {
      return await this.runtime.start({
        language: this.language,
        cwd: this.cwd,
        env: childEnv(),
        config: this.host.config,
        log: this.host.log.child({ context: this.id, language: this.language }),
      })
    } catch (err) {
      const why = tempDiskFull(err)
        ? `${tempDiskFullText()}, where execd keeps what a ${this.language} context needs (its helper, build ` +
          "cache, scripts): free space there, or give execd's TMPDIR a larger disk"
        : (err as Error).message
      throw new ExecdError('RUNTIME_ERROR', `could not start the ${this.language} interpreter: ${why}`, { cause: err })
    }
  }

  private escalationError(died: ExecEvent): ExecEvent {
    const evalue = `the cell ignored the interrupt, so its ${this.language} interpreter was killed; its state is lost`
    return errorEvent('KeyboardInterrupt', evalue, [evalue, ...(died.error?.traceback ?? []).slice(1)])
  }
}

/** `turn()`, a synchronous throw of it as a rejection (as `then(turn)` would give it). */
function startNow(turn: () => Promise<void>): Promise<void> {
  try {
    return turn()
  } catch (err) {
    return Promise.reject(err)
  }
}
