/**
 * The cells of one interpreter that runs one cell at a time and streams its output while it
 * runs (the javascript and java contexts): which queue output goes to, what happens to output
 * written between cells, and how a cell ends — done, or the interpreter's death.
 */
import { CellQueue, type Overflow } from './cell-queue'
import { EncodedEvent, makeEvent, type ExecError, type ExecEvent } from './events'
import { OutputChunks } from './output-chunks'
import { ReadGatherer } from './read-gather'

/** Output written between cells (a timer or thread of an earlier cell) waits for the next one, bounded. */
const MAX_STRAY = 64 << 10

export class CellAssembler {
  private current: CellQueue | undefined
  private result: Record<string, unknown> | EncodedEvent | undefined
  private error: ExecError | undefined
  private count = 0
  private stray: { type: 'stdout' | 'stderr'; text: string }[] = []
  private strayBytes = 0
  /**
   * The last cell was stopped: what its fds 1 and 2 still held (a javascript cell's
   * Bun.write backlog, written before its interrupt) is dropped, not handed to the next cell.
   */
  private afterStopped = false

  constructor(private readonly overflow: Overflow) {}

  /** The queue of the cell running now, if one is. */
  get running(): CellQueue | undefined {
    return this.current && !this.current.isEnded ? this.current : undefined
  }

  /** What the interpreter wrote while no cell ran: at start, the reason it failed. */
  get strayText(): string {
    return this.stray
      .map(s => s.text)
      .join('')
      .trim()
  }

  /** A new cell's queue, holding first the output written since the last cell. */
  begin(): CellQueue {
    if (this.running) throw new Error('a cell is already running in this context')
    const queue = new CellQueue(this.overflow)
    this.current = queue
    this.afterStopped = false
    this.result = this.error = undefined
    for (const s of this.stray.splice(0)) void queue.output(s.type, s.text)
    this.strayBytes = 0
    return queue
  }

  /** The running cell's value (its bundle, or its event already encoded), sent after its execution_count when it is done. */
  setResult(bundle: Record<string, unknown> | EncodedEvent): void {
    this.result = bundle
  }

  /** The running cell's exception, sent last when it is done. */
  setError(error: ExecError): void {
    this.error = error
  }

  /** The interpreter says the running cell is done: execution_count, its value, its error. */
  done(): void {
    const queue = this.running
    if (!queue) return
    // Let output still in flight on the raw stdout/stderr pipes land in this cell first.
    setImmediate(() => {
      if (queue.isEnded) return
      // Literals, not makeEvent's spread (a native copy per event), keys in its order.
      // Given to end(), which queues them whatever the bound: a stopped cell's queue drops displays past it, not its value.
      const timestamp = Date.now()
      const last: ExecEvent[] = [{ type: 'execution_count', execution_count: ++this.count, timestamp }]
      const result = this.result
      if (result instanceof EncodedEvent) {
        result.timestamp = timestamp
        last.push(result)
      } else if (result) last.push({ type: 'result', results: result, timestamp })
      if (this.error) last.push(makeEvent('error', { error: this.error }))
      this.afterStopped = queue.isStopped
      queue.end(...last)
    })
  }

  /** The interpreter is gone: the running cell ends with `event`, which says how. */
  died(event: ExecEvent): void {
    this.running?.end(event)
  }

  /** Output of the interpreter: to the running cell (under `block`, waiting for room), or kept for the next. */
  output(type: 'stdout' | 'stderr', text: string): Promise<void> | undefined {
    if (!text) return
    const queue = this.running
    if (queue) return queue.output(type, text)
    if (this.afterStopped || this.strayBytes + text.length > MAX_STRAY) return
    this.stray.push({ type, text })
    this.strayBytes += text.length
  }

  /**
   * Feeds one of the interpreter's fds 1 and 2 (what bypasses its own channel) as output. In a
   * flood, a read that came back small waits a moment before the next (core/read-gather.ts).
   */
  async pipe(stream: ReadableStream<Uint8Array>, type: 'stdout' | 'stderr'): Promise<void> {
    const chunks = new OutputChunks(type)
    const reader = stream.getReader()
    const gathered = new ReadGatherer()
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const bytes = r.value.byteLength
      await this.outputChunk(chunks, r.value)
      const gather = gathered.after(bytes)
      if (gather) await gather
    }
    await this.output(type, chunks.end())
  }

  /**
   * A chunk read from a pipe of the interpreter's as output: its JSON to the running cell when
   * clean (core/output-chunks.ts), else its text; freed, so nothing else may view it.
   */
  outputChunk(chunks: OutputChunks, data: Uint8Array): Promise<void> | undefined {
    const queue = this.running
    return queue ? chunks.into(queue, data) : this.output(chunks.stream, chunks.text(data))
  }
}
