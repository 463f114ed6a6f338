/** One live python3 driven by driver.py over a protocol socket (see driver.py's header). */
import { MESSAGE_PIECE } from '../../core/channel-writes'
import { pulled } from '../../core/cell-queue'
import { errorEvent, type EventType, type ExecEvent } from '../../core/events'
import type { Logger } from '../../core/log'
import type { Emit, RuntimeContext } from '../../core/plugin'
import { spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { describeExit } from '../../core/exit-words'
import { deathWords, OomWatch } from '../../core/oom'
import { within } from '../../core/timers'
import { closeSync, writeSync } from 'node:fs'
import { LineChannel } from './channel'
import cellsSource from './cells.py' with { type: 'text' }
import driverSource from './driver.py' with { type: 'text' }
import outputSource from './output.py' with { type: 'text' }
import resultsSource from './results.py' with { type: 'text' }
import bootstrapSource from './bootstrap.py' with { type: 'text' }

const FORWARDED = new Set<EventType>(['stdout', 'stderr', 'execution_count', 'result', 'error'])
const STDERR_TAIL = 4096
// The driver (four files, one program) arrives on the channel after its compiled code and runs
// under its own file name, so tracebacks can hide it; bootstrap.py runs it, compiled by an
// earlier interpreter if it can.
const DRIVER = Buffer.from([driverSource, outputSource, resultsSource, cellsSource].join('\n'))

export interface PythonStart {
  python: string
  cwd: string
  env: Record<string, string>
  log: Logger
  readyTimeoutMs?: number
  /**
   * The driver compiled by an earlier interpreter at this path (`driverCode` of its context):
   * a version, a NUL and the code's marshal bytes, written to the channel before anything else
   * (then the driver's source, for an interpreter of another version: bootstrap.py).
   */
  driverCode?: Uint8Array
}

export class PythonContext implements RuntimeContext {
  private running = false
  /** Cells sent to this interpreter: the number of the last, which an interrupt names. */
  private cells = 0
  private interruptsOpen = true
  private exit: ExitInfo | undefined
  private closing = false
  /** The channel closed and the process outlived it, so execd ended it. */
  private channelLost = false
  private stderrTail = ''
  private readonly stderrDone: Promise<void>
  private readonly oom = new OomWatch()
  /**
   * Goes with each cell (and its number) and comes back in its `done`, the only `done` that
   * ends its run: a cell can write to fd 3 too, and a `done` it wrote there ended its run early,
   * after which every run ended on its predecessor's `done`, with its output, for good.
   */
  private readonly key = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex')
  /** The driver as this interpreter compiled it, for PythonStart.driverCode; taken once. */
  driverCode: Uint8Array | undefined

  private constructor(
    private readonly proc: OwnedProcess,
    private readonly channel: LineChannel,
    /** Our end of the driver's fd 4: the number of the cell an interrupt is for (cells.py). */
    private readonly interrupts: number,
    private readonly log: Logger,
  ) {
    void proc.exited.then(info => {
      this.exit = info
      channel.close()
      this.closeInterrupts()
    })
    this.stderrDone = this.collectStderr()
  }

  /** Spawns the interpreter and waits for the driver's `ready`. */
  static async start(opts: PythonStart): Promise<PythonContext> {
    const code = opts.driverCode ?? new Uint8Array(0)
    const proc = spawnOwned([opts.python, '-u', '-c', bootstrapSource, String(code.length), String(DRIVER.length)], {
      cwd: opts.cwd,
      env: { ...opts.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8', MPLBACKEND: opts.env.MPLBACKEND ?? 'Agg' },
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      extraFds: ['pipe', 'pipe'],
    })
    const [channelFd, interruptsFd] = proc.fds
    if (channelFd === undefined || interruptsFd === undefined) {
      for (const fd of proc.fds) closeSync(fd)
      await proc.kill('close', 500)
      throw new Error('python was started without its channel fds')
    }
    let channel: LineChannel
    try {
      channel = await LineChannel.open(channelFd)
    } catch (err) {
      closeSync(interruptsFd)
      await proc.kill('close', 500)
      throw err
    }
    const ctx = new PythonContext(proc, channel, interruptsFd, opts.log)
    // Failing, it is the ready's wait below that says why (the interpreter is gone).
    void channel.sendBytes(Buffer.concat([code, DRIVER]))?.catch(() => {})
    const ready = await within(ctx.channel.next(), opts.readyTimeoutMs ?? 20_000)
    if (ready === 'timeout' || ready?.type !== 'ready') {
      await ctx.close()
      const why = ready === 'timeout' ? 'did not start within 20 s' : `exited (${describeExit(await proc.exited)})`
      throw new Error(`${opts.python} ${why}${ctx.stderrTail ? `: ${ctx.stderrTail.trim()}` : ''}`)
    }
    ctx.driverCode = compiledDriver(ready)
    opts.log.debug('python ready', { pid: proc.pid, version: ready.python })
    return ctx
  }

  get alive(): boolean {
    return this.exit === undefined && !this.closing
  }

  get pid(): number {
    return this.proc.pid
  }

  /** Moves an idle (spare) interpreter to a context's cwd. */
  async chdir(cwd: string): Promise<void> {
    const k = `${this.key}-cd`
    await this.channel.send({ chdir: cwd, k })
    const reply = await within(this.channel.next(), 5000)
    if (reply === 'timeout' || reply?.type !== 'done' || reply.k !== k)
      throw new Error(`the python interpreter did not change to ${cwd}`)
  }

  run(code: string): AsyncIterable<ExecEvent> {
    return pulled(emit => this.runInto(code, emit))
  }

  async runInto(code: string, emit: Emit): Promise<void> {
    if (this.running) throw new Error('a cell is already running in this context')
    this.running = true
    try {
      if (!this.alive) {
        await emit(await this.deathEvent())
        return
      }
      this.oom.mark()
      // Written at once nearly always: then no promise to wait for. A failed write shows as
      // the channel's end below.
      const n = ++this.cells
      const k = this.key + n
      const sending =
        code.length > MESSAGE_PIECE ? this.channel.sendLong({ n, k }, 'code', code) : this.channel.send({ code, n, k })
      if (sending) await sending.catch(() => {})
      for (;;) {
        // What has arrived is handled in this tick; a promise only to wait for more.
        const msg = this.channel.take()
        if (!msg) {
          const arrival = this.channel.arrival()
          if (!arrival) break
          await arrival
          continue
        }
        if (msg.type === 'done') {
          if (msg.k === k) return
          continue
        }
        if (!FORWARDED.has(msg.type)) continue
        // The message is the event (its fields, then a timestamp): no copy of it is made.
        msg.timestamp = Date.now()
        const behind = emit(msg as ExecEvent)
        if (behind) await behind
      }
      // The channel closed without `done`: the interpreter died in the cell, or outlives its
      // channel (`os.execv` over it, a cell that closed fd 3). That one took no cell and lived on:
      // every later run failed after 2 s, the context never given a fresh interpreter, and
      // whatever it had become ran until the context was deleted. It is ended, as javascript's.
      if ((await within(this.proc.exited, 2000)) === 'timeout' && !this.closing) {
        this.channelLost = true
        await this.proc.kill('close', 500)
      }
      await within(this.stderrDone, 500)
      await emit(await this.deathEvent())
    } finally {
      this.running = false
    }
  }

  async interrupt(): Promise<void> {
    // The whole group, so a subprocess the cell waits on (subprocess.run, os.system) stops too.
    if (!this.running || !this.alive) return
    // The cell's number goes first: a SIGINT that reaches the driver before the cell runs is
    // then kept for it, and one that arrives after it ended is dropped (cells.py). A request
    // that cannot be written leaves a plain SIGINT, which still stops a running cell.
    try {
      writeSync(this.interrupts, `${this.cells}\n`)
    } catch (err) {
      this.log.debug('python interrupt request not written', { error: String(err) })
    }
    this.proc.signal('SIGINT')
  }

  async close(): Promise<void> {
    this.closing = true
    await this.proc.kill('close', 500)
    this.channel.close()
    this.closeInterrupts()
  }

  private closeInterrupts(): void {
    if (!this.interruptsOpen) return
    this.interruptsOpen = false
    closeSync(this.interrupts)
  }

  private async deathEvent(): Promise<ExecEvent> {
    const info = this.exit
    if (this.channelLost) {
      const evalue =
        'the python interpreter closed its channel to execd and was stopped; its state is lost and the next execution starts a fresh one'
      return errorEvent('DeadKernelError', evalue, [evalue])
    }
    const oom = this.oom.outOfMemory(info)
    const cause = info ? deathWords(info, oom, 'interpreter') : 'its protocol channel closed'
    const by = this.closing || info?.killedBy ? 'was stopped by execd' : 'died'
    const tail = this.stderrTail.trim()
    const evalue = `the python interpreter ${by} (${cause}); its state is lost and the next execution starts a fresh one`
    // The exit's words first, as every runtime's death (the CLI's exit status reads them), then
    // the interpreter's own last words (a fatal error, faulthandler's dump).
    return errorEvent('DeadKernelError', evalue, tail ? [cause, ...tail.split('\n').slice(-20)] : [cause])
  }

  /** Keeps the interpreter's own stderr tail (fatal errors, faulthandler) for death reports. */
  private async collectStderr(): Promise<void> {
    const decoder = new TextDecoder()
    try {
      const reader = (this.proc.proc.stderr as ReadableStream<Uint8Array>).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        this.stderrTail = (this.stderrTail + decoder.decode(value, { stream: true })).slice(-STDERR_TAIL)
      }
    } catch (err) {
      this.log.debug('python stderr closed', { error: String(err) })
    }
  }
}

/** A ready's compiled driver as PythonStart.driverCode takes it, if it sent one. */
function compiledDriver(ready: Record<string, any>): Uint8Array | undefined {
  const { version, code } = ready
  if (typeof version !== 'string' || typeof code !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(code)) return undefined
  return Buffer.concat([Buffer.from(version), Buffer.from([0]), Buffer.from(code, 'hex')])
}
