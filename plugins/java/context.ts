/**
 * One live java context: a JVM running the embedded jshell helper (ExecdJShell.java), spoken
 * to over a Unix socket in a private temp dir. Fds 1 and 2 of the JVM carry only what
 * bypasses System.out/err (child processes, the JVM's own messages) and stream as is.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { CellAssembler } from '../../core/cell-assembler'
import { errorEvent, type ExecEvent } from '../../core/events'
import { readJsonLines } from '../../core/json-lines'
import type { RuntimeContext, StartOptions } from '../../core/plugin'
import { spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { describeExit } from '../../core/exit-words'
import { deathWords, type OomScope, OomWatch } from '../../core/oom'
import { OwnedTempDir } from '../../core/temp-dir'
import { within } from '../../core/timers'
import { HELPER_CLASS, type Jdk } from './jdk'

export interface JavaContextOptions extends StartOptions {
  jdk: Jdk
  /** Class path of the compiled helper. */
  classpath: string
  /** Extra JVM flags (the CDS archive). */
  jvmFlags: string[]
  /** ms a cell may ignore jshell's stop (blocked in native I/O) before the JVM is killed. */
  interruptGraceMs: number
  startTimeoutMs: number
}

type Message = { t: string; c?: number; b?: string; s?: string; ename?: string; evalue?: string; traceback?: string[] }

export class JavaContext implements RuntimeContext {
  /**
   * Output applies backpressure: while the reader lags, the pumps stop reading the channel and
   * the pipes, and the JVM blocks on its writes instead of execd buffering a flood (until an
   * interrupt, which drops what the reader has no room for).
   */
  private readonly cells = new CellAssembler({ policy: 'block', maxBytes: 1 << 20 })
  private cell = 0
  private exit: ExitInfo | undefined
  private readonly oom = new OomWatch()
  private outOfMemory: OomScope | undefined
  private escalated = false
  private closed = false
  private proc!: OwnedProcess
  private socket!: Socket
  private pumps: Promise<unknown>[] = []

  private constructor(private readonly opts: JavaContextOptions) {}

  static async start(opts: JavaContextOptions): Promise<JavaContext> {
    const ctx = new JavaContext(opts)
    await ctx.spawn()
    return ctx
  }

  get alive(): boolean {
    return !this.exit && !this.closed
  }

  private async spawn(): Promise<void> {
    // Owned (locked while this execd lives): an execd killed while the JVM starts (SIGKILL, OOM)
    // leaves it, and the next java start of any execd sweeps it.
    // Removed at exit too: an exit while the JVM starts (the CLI's Ctrl-C during `exec java`)
    // never reached the finally below, and the dir was left in TMPDIR.
    const owned = new OwnedTempDir('execd-java', undefined, { removeAtExit: true })
    const dir = owned.ensure()
    const path = join(dir, 'channel.sock')
    const server = createServer()
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve))
      // SerialGC: fewer GC threads on small shared machines; nothing here needs a parallel GC.
      const argv = [
        this.opts.jdk.java,
        '-XX:+UseSerialGC',
        ...this.opts.jvmFlags,
        '-cp',
        this.opts.classpath,
        HELPER_CLASS,
        path,
      ]
      this.proc = spawnOwned(argv, {
        cwd: this.opts.cwd,
        env: this.opts.env,
        stdin: 'ignore',
      })
      this.pumps.push(this.cells.pipe(this.proc.proc.stdout as ReadableStream<Uint8Array>, 'stdout'))
      this.pumps.push(this.cells.pipe(this.proc.proc.stderr as ReadableStream<Uint8Array>, 'stderr'))
      void this.proc.exited.then(info => this.onExit(info))
      await this.connect(server)
    } catch (e) {
      await this.proc?.kill('close', 500)
      const early = this.cells.strayText
      throw new Error(`${(e as Error).message}${early ? `: ${early}` : ''}`)
    } finally {
      server.close()
      // Awaited: a start the shutdown cut off is answered, and execd exits, right after this.
      await owned.closeAsync()
    }
  }

  /** Waits for the helper to connect and say `ready` (its jshell is up), or to fail. */
  private async connect(server: Server): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`java did not start within ${this.opts.startTimeoutMs} ms`)),
        this.opts.startTimeoutMs,
      )
      void this.proc.exited.then(info => reject(new Error(`java exited at start (${describeExit(info)})`)))
    })
    try {
      this.socket = await Promise.race([new Promise<Socket>(r => server.once('connection', r)), failed])
      // A write racing the JVM's death fails with EPIPE; onExit reports the death, and an
      // 'error' event without a listener would take the whole daemon down.
      this.socket.on('error', () => {})
      let ready!: () => void
      const isReady = new Promise<void>(r => (ready = r))
      this.pumps.push(this.readChannel(ready))
      await Promise.race([isReady, failed])
    } finally {
      clearTimeout(timer)
    }
  }

  async *run(code: string): AsyncGenerator<ExecEvent> {
    if (!this.alive) {
      yield errorEvent('DeadKernelError', this.deathText())
      return
    }
    // A reader that leaves early ends the cell's queue: the next run may start.
    const queue = this.cells.begin()
    this.oom.mark()
    const id = ++this.cell
    this.socket.write(`RUN ${id} ${Buffer.from(code).toString('base64')}\n`)
    yield* queue
  }

  async interrupt(): Promise<void> {
    const queue = this.cells.running
    if (!queue || !this.alive) return
    // The stop's end comes behind the cell's output: a lagging reader must not hold it past the grace.
    queue.unblock()
    this.socket.write(`STOP ${this.cell}\n`)
    const stopped = (await within(queue.finished, this.opts.interruptGraceMs)) !== 'timeout'
    if (!stopped && !queue.isEnded) {
      this.escalated = true
      await this.proc.kill('interrupt', 500)
    }
    await queue.finished
  }

  /**
   * Lets the JVM exit on its own (the helper halts when its channel closes), so exit-time work
   * such as writing a CDS archive completes; killed if that takes longer than `limitMs`.
   */
  async shutdown(limitMs: number): Promise<ExitInfo> {
    this.closed = true
    this.socket.end()
    const info = await within(this.proc.exited, limitMs)
    return info === 'timeout' ? await this.proc.kill('close', 500) : info
  }

  async close(): Promise<void> {
    this.closed = true
    this.socket?.destroy()
    await this.proc?.kill('close', 500)
  }

  /** Protocol lines from the helper. Awaiting each keeps the socket paused while the reader lags. */
  private async readChannel(ready: () => void): Promise<void> {
    try {
      await readJsonLines<Message>(
        this.socket,
        m => (m.t === 'ready' ? ready() : this.onMessage(m)),
        line => this.opts.log.warn('java helper sent a malformed protocol line', { line: line.slice(0, 200) }),
      )
    } catch {
      // The socket breaks when the JVM dies; onExit reports that.
    }
  }

  private decoders = { out: new TextDecoder(), err: new TextDecoder() }

  private async onMessage(m: Message): Promise<void> {
    const mine = m.c === this.cell
    switch (m.t) {
      case 'out':
      case 'err':
        return this.cells.output(
          m.t === 'out' ? 'stdout' : 'stderr',
          this.decoders[m.t].decode(Buffer.from(m.b ?? '', 'base64'), { stream: true }),
        )
      case 'value':
        if (mine && m.s !== undefined) this.cells.setResult({ 'text/plain': m.s, text: m.s })
        return
      case 'error':
        if (mine)
          this.cells.setError({ ename: m.ename ?? 'Error', evalue: m.evalue ?? '', traceback: m.traceback ?? [] })
        return
      case 'done':
        if (mine) this.cells.done()
        return
    }
  }

  private async onExit(info: ExitInfo): Promise<void> {
    this.exit = info
    // What the JVM wrote just before dying belongs to the cell, ahead of the error.
    const outOfMemory = this.oom.outOfMemory(info)
    await within(Promise.all(this.pumps), 1000)
    this.outOfMemory = outOfMemory
    if (this.escalated) {
      // Named as a stop jshell delivered is (IJava's name): only evalue says the state is lost.
      this.cells.died(
        errorEvent('EvaluationInterruptedException', this.deathText(), [
          'the cell did not stop on jshell stop (blocked in native code or I/O?)',
        ]),
      )
    } else {
      this.cells.died(errorEvent('DeadKernelError', this.deathText(), [deathWords(info, outOfMemory, 'interpreter')]))
    }
  }

  private deathText(): string {
    if (this.escalated) return 'interrupted: the java interpreter was killed and restarts with its state lost'
    if (this.closed && (!this.exit || this.exit.killedBy === 'close')) return 'the java context was closed'
    return `the java interpreter exited (${this.exit ? deathWords(this.exit, this.outOfMemory, 'interpreter') : 'not running'}); its state is lost`
  }
}
