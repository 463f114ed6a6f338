/**
 * One bash context: a live bash (core/live-bash/) whose runs' output goes through a bounded
 * queue to the reader, and whose end is said as the other runtimes' (plugins/bash/index.ts
 * starts it). A module of its own, loaded with the first context: its queue, death words and
 * stall check are no part of what serve's start loads.
 */
import { errorEvent, type ExecEvent } from '../../core/events'
import { OutputChunks } from '../../core/output-chunks'
import { CellQueue } from '../../core/cell-queue'
import type { BashRunEnd, LiveBash } from '../../core/live-bash'
import { STALLED } from '../../core/live-bash/stall'
import type { RuntimeContext } from '../../core/plugin'
import { deathWords, runOutOfMemoryWords } from '../../core/oom'

export class BashContext implements RuntimeContext {
  /** The running cell's events, filled by its pump whatever the reader's pace (up to the bound). */
  private cell: CellQueue | undefined
  constructor(
    private readonly shell: LiveBash,
    private readonly fifos: { close(): void } | undefined,
  ) {}

  get alive(): boolean {
    return this.shell.alive
  }

  /**
   * The run's output goes through a queue that holds back the shell past 1 Mi characters
   * (backpressure, as before), but lets an interrupt drain it: the run's end comes behind its
   * output, and a reader that lagged when the interrupt came held it until the shell was
   * killed (state lost).
   */
  async *run(code: string): AsyncIterable<ExecEvent> {
    const queue = new CellQueue({ policy: 'block', maxBytes: 1 << 20 })
    this.cell = queue
    // A reader that leaves early ends the queue and interrupts the run; the pump drains it.
    const left = new AbortController()
    const pumped = this.pump(this.shell.run(code, { signal: left.signal }), queue)
    try {
      yield* queue
      // A run that failed to start (its code file not written) throws to the reader, as before.
      const failure = await pumped
      if (failure) throw failure.err
    } finally {
      left.abort()
    }
  }

  /** The run's chunks and end into `queue`; resolves with what the run threw, if it did. */
  private async pump(it: ReturnType<LiveBash['run']>, queue: CellQueue): Promise<{ err: unknown } | undefined> {
    const chunks = { stdout: new OutputChunks('stdout'), stderr: new OutputChunks('stderr') }
    try {
      for (let r = await it.next(); ; r = await it.next()) {
        if (!r.done) {
          // A flood's chunks are clean: framed from their bytes, not decoded, merged, escaped
          // and encoded again (four strings of each chunk, which held execd at 165–230 MiB).
          await chunks[r.value.stream].into(queue, r.value.data)
          continue
        }
        for (const stream of ['stdout', 'stderr'] as const) void queue.output(stream, chunks[stream].end())
        queue.push(...(await this.ending(r.value)))
        return
      }
    } catch (err) {
      return { err }
    } finally {
      queue.end()
      if (this.cell === queue) this.cell = undefined
    }
  }

  private async ending(end: BashRunEnd): Promise<ExecEvent[]> {
    if (end.kind === 'died') {
      // A stalled shell was ended by execd: how it exited then says nothing of the run.
      const info = end.reason === STALLED ? undefined : this.shell.exit
      const cause = info ? deathWords(info, end.outOfMemory, 'shell') : end.reason
      // Said as the other runtimes' deaths (the exit's words the traceback's one line), so
      // clients can tell it from a failing command and the CLI exits with what it says.
      const evalue = `the bash shell exited (${cause}); its state is lost and the next execution starts a fresh one`
      return [errorEvent('DeadKernelError', evalue, [cause])]
    }
    if (end.interrupted) return [errorEvent('CommandExecError', '130', ['signal: interrupt'])]
    if (end.outOfMemory)
      return [errorEvent('CommandExecError', String(end.code), [runOutOfMemoryWords(end.code, end.outOfMemory)])]
    if (end.code !== 0) return [errorEvent('CommandExecError', String(end.code), [`exit status ${end.code}`])]
    return []
  }

  interrupt(): Promise<void> {
    this.cell?.unblock()
    return this.shell.interrupt()
  }

  async close(): Promise<void> {
    await this.shell.close()
    this.fifos?.close()
  }
}
