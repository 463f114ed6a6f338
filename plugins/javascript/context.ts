/**
 * One live javascript/typescript interpreter: the execd executable acting as Bun, running the
 * embedded driver, spoken to over an IPC channel.
 */
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import type { RuntimeContext, StartOptions } from '../../core/plugin'
import { describeExit, spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { driverFiles } from './driver-files'
import { EventQueue } from './event-queue'

export interface JsContextOptions extends StartOptions {
  startTimeoutMs: number
}

type Message = { t: string; text?: string; bundle?: Record<string, unknown>; error?: ExecEvent['error'] }

/** Output written between cells (a timer of an earlier cell) waits for the next one, bounded. */
const MAX_STRAY = 64 << 10

export class JsContext implements RuntimeContext {
  private current: EventQueue | null = null
  private result: Record<string, unknown> | undefined
  private error: ExecEvent['error'] | undefined
  private stray: { type: 'stdout' | 'stderr'; text: string }[] = []
  private strayBytes = 0
  private count = 0
  private exit: ExitInfo | undefined
  private closed = false
  private ready!: { resolve: () => void; reject: (e: Error) => void }
  private proc!: OwnedProcess

  private constructor(private readonly opts: JsContextOptions) {}

  static async start(opts: JsContextOptions): Promise<JsContext> {
    const ctx = new JsContext(opts)
    await ctx.spawn()
    return ctx
  }

  get alive(): boolean {
    return !this.exit && !this.closed
  }

  private async spawn(): Promise<void> {
    const files = await driverFiles()
    const started = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }))
    this.proc = spawnOwned([process.execPath, '--no-install', files.driver], {
      cwd: this.opts.cwd,
      env: { ...this.opts.env, BUN_BE_BUN: '1', EXECD_JS_LANGUAGE: this.opts.language, EXECD_JS_DOM: files.dom },
      stdin: 'ignore',
      ipc: m => this.onMessage(m as Message),
    })
    void this.pipe(this.proc.proc.stdout as ReadableStream<Uint8Array>, 'stdout')
    void this.pipe(this.proc.proc.stderr as ReadableStream<Uint8Array>, 'stderr')
    void this.proc.exited.then(info => this.onExit(info))
    const limit = this.opts.startTimeoutMs
    const timer = setTimeout(
      () => this.ready.reject(new Error(`${this.opts.language} interpreter did not start within ${limit} ms`)),
      limit,
    )
    try {
      await started
    } catch (e) {
      await this.proc.kill('close', 500)
      throw e
    } finally {
      clearTimeout(timer)
    }
  }

  async *run(code: string): AsyncGenerator<ExecEvent> {
    if (!this.alive) {
      yield this.deathEvent()
      return
    }
    if (this.current) throw new Error('a cell is already running in this context')
    const queue = new EventQueue()
    this.current = queue
    this.result = this.error = undefined
    for (const s of this.stray) queue.output(s.type, s.text)
    this.stray = []
    this.strayBytes = 0
    try {
      this.proc.proc.send({ t: 'run', code })
    } catch {
      // The child died between cells; its exit handler ends the queue with the cause.
    }
    // A reader that stops early leaves the cell running: `current` stays set (and refuses a
    // second run) until the driver reports it done, so its output never lands in another cell.
    yield* queue
  }

  /**
   * SIGINT to the group: the driver settles an awaiting cell with KeyboardInterrupt, and a
   * subprocess the cell waits on stops too. The driver handles SIGINT on its event loop, so a
   * busy synchronous loop never sees it: the code section then kills the interpreter after its
   * grace period (`close()`), and reports the state as lost.
   */
  async interrupt(): Promise<void> {
    if (this.current && this.alive) this.proc.signal('SIGINT')
  }

  async close(): Promise<void> {
    this.closed = true
    await this.proc.kill('close', 500)
  }

  private onMessage(m: Message): void {
    const queue = this.current
    switch (m.t) {
      case 'ready':
        return this.ready.resolve()
      case 'stdout':
      case 'stderr':
        return this.output(m.t, m.text ?? '')
      case 'display':
        return queue?.push(makeEvent('result', { results: withTextAlias(m.bundle ?? {}) }))
      case 'result':
        this.result = withTextAlias(m.bundle ?? {})
        return
      case 'error':
        this.error = m.error
        return
      case 'done':
        // Let output still in flight on the raw stdout/stderr pipes land in this cell first.
        setImmediate(() => this.finish(queue))
        return
    }
  }

  private finish(queue: EventQueue | null): void {
    if (!queue || queue.isEnded) return
    queue.push(makeEvent('execution_count', { execution_count: ++this.count }))
    if (this.result) queue.push(makeEvent('result', { results: this.result }))
    if (this.error) queue.push(makeEvent('error', { error: this.error }))
    this.endCell(queue)
  }

  private endCell(queue: EventQueue): void {
    queue.end()
    if (this.current === queue) this.current = null
  }

  private output(type: 'stdout' | 'stderr', text: string): void {
    if (this.current && !this.current.isEnded) return this.current.output(type, text)
    if (this.strayBytes + text.length > MAX_STRAY) return
    this.stray.push({ type, text })
    this.strayBytes += text.length
  }

  /** Writes that bypass the driver (subprocesses, Bun.write(Bun.stdout)) arrive here. */
  private async pipe(stream: ReadableStream<Uint8Array>, type: 'stdout' | 'stderr'): Promise<void> {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read())
      this.output(type, decoder.decode(r.value, { stream: true }))
  }

  private onExit(info: ExitInfo): void {
    this.exit = info
    const early = this.stray
      .map(s => s.text)
      .join('')
      .trim()
    this.ready.reject(
      new Error(
        `${this.opts.language} interpreter exited at start (${describeExit(info)})${early ? `: ${early}` : ''}`,
      ),
    )
    const queue = this.current
    if (!queue || queue.isEnded) return
    queue.push(this.deathEvent())
    this.endCell(queue)
  }

  /** The name the python runtime and the code section use for a lost interpreter. */
  private deathEvent(): ExecEvent {
    const cause = this.exit ? describeExit(this.exit) : 'not running'
    const by = this.closed || this.exit?.killedBy ? 'was stopped by execd' : 'died'
    const evalue = `the ${this.opts.language} interpreter ${by} (${cause}); its state is lost and the next execution starts a fresh one`
    return errorEvent('DeadKernelError', evalue, [evalue])
  }
}

/** The contract's alias: the Python SDK reads `text`, the others `text/plain`. */
function withTextAlias(bundle: Record<string, unknown>): Record<string, unknown> {
  return 'text/plain' in bundle ? { ...bundle, text: bundle['text/plain'] } : bundle
}
