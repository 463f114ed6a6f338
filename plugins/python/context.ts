/** One live python3 driven by driver.py over a protocol socket (see driver.py's header). */
import { errorEvent, makeEvent, type EventType, type ExecEvent } from '../../core/events'
import type { Logger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { describeExit, sleep, spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { LineChannel } from './channel'
import driverSource from './driver.py' with { type: 'text' }

const FORWARDED = new Set<EventType>(['stdout', 'stderr', 'execution_count', 'result', 'error'])
const STDERR_TAIL = 4096
// The driver arrives as argv[1] and runs under its own file name, so tracebacks can hide it.
const BOOTSTRAP = "import sys; exec(compile(sys.argv[1], '<execd-driver>', 'exec'))"

export interface PythonStart {
  python: string
  cwd: string
  env: Record<string, string>
  log: Logger
  readyTimeoutMs?: number
}

export class PythonContext implements RuntimeContext {
  private running = false
  private exit: ExitInfo | undefined
  private closing = false
  private stderrTail = ''

  private constructor(
    private readonly proc: OwnedProcess,
    private readonly channel: LineChannel,
    private readonly log: Logger,
  ) {
    void proc.exited.then(info => {
      this.exit = info
      channel.close()
    })
    void this.collectStderr()
  }

  /** Spawns the interpreter and waits for the driver's `ready`. */
  static async start(opts: PythonStart): Promise<PythonContext> {
    const proc = spawnOwned([opts.python, '-u', '-c', BOOTSTRAP, driverSource], {
      cwd: opts.cwd,
      env: { ...opts.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8', MPLBACKEND: opts.env.MPLBACKEND ?? 'Agg' },
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      extraFds: ['pipe'],
    })
    const ctx = new PythonContext(proc, new LineChannel(proc.fds[0]!), opts.log)
    const ready = await Promise.race([
      ctx.channel.next(),
      sleep(opts.readyTimeoutMs ?? 20_000).then(() => 'timeout' as const),
    ])
    if (ready === 'timeout' || ready?.type !== 'ready') {
      await ctx.close()
      const why = ready === 'timeout' ? 'did not start within 20 s' : `exited (${describeExit(await proc.exited)})`
      throw new Error(`${opts.python} ${why}${ctx.stderrTail ? `: ${ctx.stderrTail.trim()}` : ''}`)
    }
    opts.log.debug('python ready', { pid: proc.pid, version: ready.python })
    return ctx
  }

  get alive(): boolean {
    return this.exit === undefined && !this.closing
  }

  get pid(): number {
    return this.proc.pid
  }

  async *run(code: string): AsyncGenerator<ExecEvent> {
    if (this.running) throw new Error('a cell is already running in this context')
    this.running = true
    try {
      if (!this.alive) {
        yield this.deathEvent()
        return
      }
      await this.channel.send({ code }).catch(() => {})
      for (;;) {
        const msg = await this.channel.next()
        if (!msg) break
        if (msg.type === 'done') return
        if (!FORWARDED.has(msg.type)) continue
        const { type, ...fields } = msg
        yield makeEvent(type as EventType, fields)
      }
      // The channel closed without `done`: the interpreter died in the cell.
      await Promise.race([this.proc.exited, sleep(2000)])
      yield this.deathEvent()
    } finally {
      this.running = false
    }
  }

  async interrupt(): Promise<void> {
    // The whole group, so a subprocess the cell waits on (subprocess.run, os.system) stops too.
    if (this.running && this.alive) this.proc.signal('SIGINT')
  }

  async close(): Promise<void> {
    this.closing = true
    await this.proc.kill('close', 500)
    this.channel.close()
  }

  private deathEvent(): ExecEvent {
    const info = this.exit
    const cause = info ? describeExit(info) : 'its protocol channel closed'
    const by = this.closing || info?.killedBy ? 'was stopped by execd' : 'died'
    const tail = this.stderrTail.trim()
    const evalue = `the python interpreter ${by} (${cause}); its state is lost and the next execution starts a fresh one`
    return errorEvent('DeadKernelError', evalue, tail ? [evalue, ...tail.split('\n').slice(-20)] : [evalue])
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
