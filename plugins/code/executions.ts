/**
 * Executions: each runs in its context's queue, independently of any HTTP client, and writes
 * its events into a bounded Journal that responses (and later reconnects) read.
 */
import { ExecdError } from '../../core/errors'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import { Journal } from '../../core/journal'
import { within } from '../../core/process'
import type { CodeContext, ContextStore } from './contexts'

const KEEP_FINISHED = 128
const KEEP_FINISHED_MS = 15 * 60_000

export interface Execution {
  id: string
  contextId: string
  journal: Journal
  /** Resolves once execution_complete is journaled. */
  done: Promise<void>
  finishedAt?: number
}

export class ExecutionStore {
  private readonly executions = new Map<string, Execution>()

  constructor(
    private readonly contexts: ContextStore,
    private readonly interruptGraceMs: number,
  ) {}

  get(id: string): Execution {
    const e = this.executions.get(id)
    if (!e) throw new ExecdError('CONTEXT_NOT_FOUND', `execution ${id} not found`)
    return e
  }

  /**
   * Queues `code` in the context; `init` and `ping` are journaled at once. With `failIfBusy`,
   * a context that is running or has queued work ends the stream with a ContextBusy error.
   */
  start(ctx: CodeContext, code: string, opts: { failIfBusy?: boolean } = {}): Execution {
    this.prune()
    const id = crypto.randomUUID().replaceAll('-', '')
    const journal = new Journal()
    const known = ctx.lostReason !== undefined || (ctx.live !== undefined && !ctx.live.alive && !ctx.running)
    void journal.append(makeEvent('init', { text: ctx.id, execution_id: id, state_lost: known || undefined }))
    void journal.append(makeEvent('ping', { text: 'pong' }))
    const exec: Execution = { id, contextId: ctx.id, journal, done: Promise.resolve() }
    this.executions.set(id, exec)
    if (opts.failIfBusy && ctx.pending > 0) {
      exec.done = this.refuse(ctx, exec)
      return exec
    }
    ctx.pending++
    const turn = ctx.queue.then(() => this.runTurn(ctx, exec, code)).finally(() => ctx.pending--)
    ctx.queue = turn.catch(() => {})
    exec.done = turn.catch(() => {})
    return exec
  }

  private async refuse(ctx: CodeContext, exec: Execution): Promise<void> {
    const evalue = `context ${ctx.id} is busy with ${ctx.pending} execution(s); retry later, or omit wait=false to queue`
    await exec.journal.append(errorEvent('ContextBusy', evalue, [evalue]))
    await exec.journal.append(makeEvent('execution_complete'))
    exec.journal.end()
    exec.finishedAt = Date.now()
  }

  /**
   * Interrupts the running cell of a context (or of the execution with this id) and resolves
   * once it stopped; a cell that ignores the interrupt for the grace period is killed with its
   * interpreter (state lost). False when the id is unknown here.
   */
  async interrupt(id: string): Promise<boolean> {
    const ctx = this.contexts.find(id) ?? this.contextOfExecution(id)
    if (!ctx) return false
    const running = ctx.running
    if (!running || !ctx.live) return true
    await ctx.live.interrupt()
    const stopped = (await within(running.done, this.interruptGraceMs)) !== 'timeout'
    if (!stopped && ctx.running === running) {
      running.escalated = true
      ctx.lostReason = `the cell ignored an interrupt for ${this.interruptGraceMs} ms and its interpreter was killed`
      await ctx.live?.close()
      // A runtime that does not notice its own death must not hang the caller.
      await within(running.done, 5000)
    }
    return true
  }

  private contextOfExecution(id: string): CodeContext | undefined {
    const exec = this.executions.get(id)
    return exec && !exec.finishedAt ? this.contexts.find(exec.contextId) : undefined
  }

  private async runTurn(ctx: CodeContext, exec: Execution, code: string): Promise<void> {
    const { journal } = exec
    const started = Date.now()
    let cellDone: () => void = () => {}
    const running = { id: exec.id, done: new Promise<void>(r => (cellDone = r)), escalated: false }
    try {
      if (ctx.closed) throw new ExecdError('CONTEXT_NOT_FOUND', `context ${ctx.id} was deleted`)
      const lostBefore = ctx.lostReason
      const live = await this.contexts.ensureLive(ctx)
      const lost = lostBefore ?? ctx.lostReason
      if (lost !== undefined) {
        ctx.lostReason = undefined
        const text = `state_lost: ${lost}; this execution runs in a fresh ${ctx.language} interpreter`
        await journal.append(makeEvent('status', { text, state_lost: true }))
      }
      ctx.running = running
      let sawError = false
      for await (let event of live.run(code)) {
        if (event.type === 'error') {
          sawError = true
          if (running.escalated) event = escalationError(ctx, event)
        }
        await journal.append(event)
      }
      if (!live.alive) {
        ctx.lostReason ??= 'the interpreter died during the previous execution'
        if (!sawError)
          await journal.append(
            errorEvent('DeadKernelError', `the ${ctx.language} interpreter died; its state is lost`, []),
          )
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      await journal.append(errorEvent('RuntimeError', message, [message]))
    } finally {
      if (ctx.running === running) ctx.running = undefined
      // Idle time counts from the end of the last execution.
      this.contexts.touch(ctx)
      cellDone()
    }
    await journal.append(makeEvent('execution_complete', { execution_time: Date.now() - started }))
    journal.end()
    exec.finishedAt = Date.now()
  }

  private prune(): void {
    const finished = [...this.executions.values()].filter(e => e.finishedAt)
    const cutoff = Date.now() - KEEP_FINISHED_MS
    finished.forEach((e, i) => {
      if (e.finishedAt! < cutoff || i < finished.length - KEEP_FINISHED) this.executions.delete(e.id)
    })
  }
}

function escalationError(ctx: CodeContext, died: ExecEvent): ExecEvent {
  const evalue = `the cell ignored the interrupt, so its ${ctx.language} interpreter was killed; its state is lost`
  return errorEvent('KeyboardInterrupt', evalue, [evalue, ...(died.error?.traceback ?? []).slice(1)])
}
