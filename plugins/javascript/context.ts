/**
 * One live javascript/typescript interpreter: the execd executable acting as Bun, running the
 * embedded driver: spoken to over a channel execd reads itself, with a bounded line (channel.ts),
 * heard on a pipe that carries its messages and its cells' output in order (output-pipe.ts).
 */
import { closeSync } from 'node:fs'
import { MESSAGE_PIECE } from '../../core/channel-writes'
import { CellAssembler } from '../../core/cell-assembler'
import type { CellQueue, Overflow } from '../../core/cell-queue'
import { EncodedEvent, errorEvent, isExecError, isPlainObject, makeEvent, type ExecEvent } from '../../core/events'
import type { Emit, RuntimeContext, StartOptions } from '../../core/plugin'
import { spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { asBunEnv, SELF_EXECUTABLE } from '../../core/self-exec'
import { describeExit } from '../../core/exit-words'
import { deathWords, type OomScope, OomWatch } from '../../core/oom'
import { randomHex } from '../../core/random'
import { within } from '../../core/timers'
import { BulkValue } from './bulk-value'
import { DriverChannel, MAX_CHANNEL_LINE } from './channel'
import { driverFiles } from './driver-files'
import { OutputPipe } from './output-pipe'

interface JsContextOptions extends StartOptions {
  startTimeoutMs: number
}

type Message = {
  t: string
  text?: string
  bundle?: Record<string, unknown>
  /** The bundle came before as `bulk` pieces of its JSON. */
  bulk?: boolean
  error?: ExecEvent['error']
  /** A `done`'s key: the one its `run` carried. */
  k?: unknown
  /** A `sent`'s: the pipe's bytes the driver had written once that cell's `done` was in it. */
  n?: unknown
  /** A `done`'s when its cell closed the driver's fd 4: 'channel'. */
  lost?: unknown
}

/** How long an interpreter whose channel closed may take to exit on its own before it is killed. */
const EXIT_AFTER_DISCONNECT_MS = 500

/**
 * The driver's pipe is read as the reader takes it: past 1 MiB unread the cell's writes block,
 * as bash's, go's and java's do, so a flood loses nothing and execd's memory stays flat. A cell
 * whose reader left runs on in the driver, still owning its output, as it did when that was dropped.
 */
export const OUTPUT_OVERFLOW: Overflow = { policy: 'block', maxBytes: 1 << 20, runsOn: true }

export class JsContext implements RuntimeContext {
  private readonly cells = new CellAssembler(OUTPUT_OVERFLOW)
  private readonly output: OutputPipe
  /** Pieces of a large bundle's JSON until the message they belong to. */
  private readonly bulk = new BulkValue()
  /**
   * The running cell's key, sent with its `run` and echoed by the driver's `done` alone. A cell's
   * own `process.send({t: 'done'})` ended it early; the driver ran the next one only after it,
   * so that one ended on its predecessor's real `done`, reporting that cell's value and output.
   */
  private key = ''
  /** The key of the last `done` heard on the pipe. */
  private heard = ''
  /** Keys are this context's random prefix and the cell's number: unguessable, and no random draw per cell. */
  private readonly keyPrefix = randomHex(12)
  private cellNumber = 0
  private exit: ExitInfo | undefined
  private readonly oom = new OomWatch()
  private outOfMemory: OomScope | undefined
  private closed = false
  /** Why the driver can no longer be heard while the process lived on (its channel closed, its pipe garbled). */
  private lost: string | undefined
  /**
   * What closed a channel (fd 3 or 4) while the process lived on, said once it is stopped. Set at
   * once: the context takes no cell from then on, so the next is run in a fresh interpreter,
   * told why (`lostWhy`), rather than sent down the closed channel and failed for a fault of an
   * earlier cell's timer or callback.
   */
  private disconnected: string | undefined
  private ready!: { resolve: () => void; reject: (e: Error) => void }
  private proc!: OwnedProcess
  private channel: DriverChannel | undefined

  private constructor(private readonly opts: JsContextOptions) {
    this.output = new OutputPipe(
      this.cells,
      m => this.receive(m),
      () => void this.lose("wrote bytes that are not its frames on the driver's pipe (fd 3)"),
      () => void this.onDisconnect(3),
      opts.log,
    )
  }

  static async start(opts: JsContextOptions): Promise<JsContext> {
    const ctx = new JsContext(opts)
    await ctx.spawn()
    return ctx
  }

  get alive(): boolean {
    return !this.exit && !this.closed && !this.disconnected
  }

  /** Why it takes no more cells, where that is not its exit's words (its channel closed, its pipe garbled). */
  get lostWhy(): string | undefined {
    return this.lost && `the ${this.opts.language} interpreter ${this.lost} and was stopped`
  }

  private async spawn(): Promise<void> {
    const files = await driverFiles()
    const started = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }))
    this.proc = spawnOwned([SELF_EXECUTABLE, '--no-install', files.driver], {
      cwd: this.opts.cwd,
      env: { ...asBunEnv(this.opts.env), EXECD_JS_LANGUAGE: this.opts.language, EXECD_JS_DOM: files.dom },
      stdin: 'ignore',
      // The driver's pipe is its fd 3, its channel fd 4 (driver.ts). What comes on the channel is
      // the driver's `sent` and a cell's own `process.send` (the driver speaks on the pipe), taken
      // as it was when the driver spoke there too.
      extraFds: ['pipe', 'pipe'],
    })
    void this.output.pump(this.proc.fds[0]!)
    try {
      this.channel = await DriverChannel.open(this.proc.fds[1]!, {
        message: m => this.fromChannel(m),
        oversize: () =>
          void this.lose(
            `sent a line longer than execd takes (${MAX_CHANNEL_LINE >> 20} Mi characters) on its channel (fd 4)`,
          ),
        end: () => void this.onDisconnect(4),
      })
    } catch (e) {
      try {
        closeSync(this.proc.fds[1]!)
      } catch {}
      await this.proc.kill('close', 500)
      throw e
    }
    // Writes that bypass the driver (subprocesses, Bun.write(Bun.stdout)) arrive on fds 1 and 2.
    void this.cells.pipe(this.proc.proc.stdout as ReadableStream<Uint8Array>, 'stdout')
    void this.cells.pipe(this.proc.proc.stderr as ReadableStream<Uint8Array>, 'stderr')
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
    // A reader that stops early leaves the cell running: it stays the running one (and refuses
    // a second run) until the driver reports it done, so its output never lands in another cell.
    yield* this.begin(code)
  }

  /** `run` with its events handed to `emit`: no generator per event on a warm cell's path. */
  async runInto(code: string, emit: Emit): Promise<void> {
    if (!this.alive) {
      await emit(this.deathEvent())
      return
    }
    await this.begin(code).drainInto(emit)
  }

  /** The cell's queue, once its code is on its way to the driver. */
  private begin(code: string): CellQueue {
    const queue = this.cells.begin()
    this.oom.mark()
    this.bulk.reset()
    this.key = `${this.keyPrefix}${++this.cellNumber}`
    // A channel gone (the child died between cells) takes nothing; its exit ends the queue with the cause.
    if (code.length > MESSAGE_PIECE) this.channel?.sendLong({ t: 'run', k: this.key }, 'code', code)
    else this.channel?.send({ t: 'run', code, k: this.key })
    return queue
  }

  /**
   * SIGINT to the group: the driver settles an awaiting cell with KeyboardInterrupt, and a
   * subprocess the cell waits on stops too. The driver handles SIGINT on its event loop, so a
   * busy synchronous loop never sees it: the code section then kills the interpreter after its
   * grace period (`close()`), and reports the state as lost.
   */
  async interrupt(): Promise<void> {
    const queue = this.cells.running
    if (!queue || !this.alive) return
    // The cell's end comes behind its output: a lagging reader must not hold it past the grace.
    queue.unblock()
    this.proc.signal('SIGINT')
  }

  async close(): Promise<void> {
    // closed before its wait for an exit of its own was over: the channel's words are why
    if (this.disconnected && !this.exit) this.lost ??= this.disconnected
    this.closed = true
    await this.proc.kill('close', 500)
    this.channel?.close()
  }

  /**
   * A cell's own code can send messages too (`process.send(null)`, or on fd 3): a message the
   * driver could not have sent is dropped, and a throw here ends no more than the message — in
   * a channel's callback it ended execd, with every context and command in it.
   */
  private receive(m: unknown): void {
    if (!isDriverMessage(m)) return
    try {
      this.onMessage(m)
    } catch (err) {
      this.opts.log.warn('javascript: a message from the interpreter could not be handled', { err: String(err) })
    }
  }

  /**
   * The channel is not paused for a lagging reader: it carries the `sent` a cell's end waits for.
   * Besides that, what comes there is a cell's own `process.send` (the driver speaks on the pipe),
   * dropped past the cell's bound, not queued: a cell's loop of `process.send({ t: 'display',
   * bundle })` of 1 MB each, its client reading nothing, took execd past 550 MiB in 25 s.
   * A value's pieces (`bulk`, and the message that takes them) are the driver's on the pipe only:
   * a cell's own, no display after them, stayed spilled until its next cell, up to 128 MiB a
   * context, and left TMPDIR no room for another context's large value.
   */
  private fromChannel(m: unknown): void {
    const { t, bulk } = (m ?? {}) as { t?: unknown; bulk?: unknown }
    if (t === 'bulk' || bulk) return
    if (this.cells.running?.isFull && t !== 'sent') return
    this.receive(m)
  }

  private onMessage(m: Message): void {
    switch (m.t) {
      case 'ready':
        return this.ready.resolve()
      case 'stdout':
      case 'stderr':
        // Only a cell's own `process.send` says this (the driver writes output as frames).
        return void this.cells.output(m.t, m.text ?? '')
      case 'bulk':
        return this.bulk.add(m.text ?? '')
      case 'display':
        if (m.bulk) {
          const value = this.bulk.take()
          if (value) this.cells.running?.push(value)
          return
        }
        return this.cells.running?.push(makeEvent('result', { results: withTextAlias(m.bundle ?? {}) }))
      case 'result':
        return this.cells.setResult(withTextAlias(m.bundle ?? {}))
      case 'error':
        if (m.error) this.cells.setError(m.error)
        return
      case 'sent':
        return this.onSent(m)
      case 'done':
        if (m.k !== this.key) return
        this.heard = this.key
        // The cell closed the channel: it ends with the interpreter stopped, not the next cell
        // sent down the closed channel (the driver's words are not taken: they name a fixed case).
        if (m.lost === 'channel') return void this.lose('closed its channel to execd (fd 4)')
        // The driver sends the cell's value or error with its `done`.
        if (m.bulk) {
          const value = this.bulk.take()
          if (value instanceof EncodedEvent) this.cells.setResult(value)
          else if (value) this.cells.running?.push(value)
        }
        if (m.bundle) this.cells.setResult(withTextAlias(m.bundle))
        if (m.error) this.cells.setError(m.error)
        return this.cells.done()
    }
  }

  /**
   * The driver put the cell's `done` in the pipe, and says (on the channel) how far the pipe then
   * went. Read that far, the `done` must have come: a frame head a cell wrote on fd 3 itself
   * (`fs.writeSync(3, …)`) announcing more bytes than follow took the `done` and all after it as
   * its own, and the cell ran for good, its interrupt's `done` taken too.
   */
  private onSent(m: Message): void {
    const key = m.k
    if (key !== this.key || typeof m.n !== 'number' || !Number.isSafeInteger(m.n)) return
    this.output.whenTaken(m.n, () => {
      if (this.key === key && this.heard !== key)
        void this.lose("wrote bytes that are not its frames on the driver's pipe (fd 3)")
    })
  }

  private onExit(info: ExitInfo): void {
    this.exit = info
    this.channel?.close()
    const early = this.cells.strayText
    this.ready.reject(
      new Error(
        `${this.opts.language} interpreter exited at start (${describeExit(info)})${early ? `: ${early}` : ''}`,
      ),
    )
    this.outOfMemory = this.oom.outOfMemory(info)
    this.cells.died(this.deathEvent())
  }

  /**
   * A driver that lost its channel or its pipe (a cell closed fd 3 or 4) can take no cell or
   * send no `done`: the running cell, and every one after it, waited for good on a process that
   * lived on. One closed by an exit is left to the exit (its words say why); one the process
   * outlives ends it.
   */
  private async onDisconnect(fd: 3 | 4): Promise<void> {
    if (this.closed || this.exit || this.disconnected) return
    // No cell running: a timer or callback an earlier cell left closed it (that cell ended well).
    this.disconnected = this.cells.running
      ? 'closed its channel to execd'
      : `closed its channel to execd (fd ${fd}) after its last cell had ended (a timer or callback of an earlier cell)`
    if ((await within(this.proc.exited, EXIT_AFTER_DISCONNECT_MS)) !== 'timeout') return
    await this.lose(this.disconnected)
  }

  /** The interpreter is stopped: `why` it can no longer be heard ends its cell. */
  private async lose(why: string): Promise<void> {
    if (this.closed || this.exit || this.lost) return
    this.lost = why
    await this.proc.kill('close', 500)
  }

  /** The name the python runtime and the code section use for a lost interpreter. */
  private deathEvent(): ExecEvent {
    if (this.lost) {
      const evalue = `the ${this.opts.language} interpreter ${this.lost} and was stopped; its state is lost and the next execution starts a fresh one`
      return errorEvent('DeadKernelError', evalue, [evalue])
    }
    const cause = this.exit ? deathWords(this.exit, this.outOfMemory, 'interpreter') : 'not running'
    const by = this.closed || this.exit?.killedBy ? 'was stopped by execd' : 'died'
    const evalue = `the ${this.opts.language} interpreter ${by} (${cause}); its state is lost and the next execution starts a fresh one`
    return errorEvent('DeadKernelError', evalue, [cause])
  }
}

/** Typed as the driver sends it: text a string, a bundle an object, an error the contract's. */
function isDriverMessage(m: unknown): m is Message {
  if (!isPlainObject(m) || typeof m.t !== 'string') return false
  if (m.text !== undefined && typeof m.text !== 'string') return false
  if (m.bundle !== undefined && !isPlainObject(m.bundle)) return false
  return m.error === undefined || isExecError(m.error)
}

/**
 * The contract's alias: the Python SDK reads `text`, the others `text/plain`. Set on the bundle
 * itself, which is this message's own (parsed from the channel, no one else holds it): a spread
 * copy was one more object and a native copy per cell, with the keys in the same order.
 */
function withTextAlias(bundle: Record<string, unknown>): Record<string, unknown> {
  if ('text/plain' in bundle) bundle.text = bundle['text/plain']
  return bundle
}
