/**
 * One live java context: a JVM running the embedded jshell helper (ExecdJShell.java), spoken
 * to over a Unix socket in a private temp dir. Fds 1 and 2 of the JVM carry only what
 * bypasses System.out/err (child processes, the JVM's own messages) and stream as is.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import type { RuntimeContext, StartOptions } from '../../core/plugin'
import { describeExit, sleep, spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { CellQueue } from './cell-queue'
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

/** Output written between cells (a thread of an earlier cell) waits for the next one, bounded. */
const MAX_STRAY = 64 << 10

export class JavaContext implements RuntimeContext {
  private current: CellQueue | null = null
  private cell = 0
  private count = 0
  private result: string | undefined
  private error: ExecEvent['error'] | undefined
  private stray: { type: 'stdout' | 'stderr'; text: string }[] = []
  private strayBytes = 0
  private exit: ExitInfo | undefined
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
    const dir = await mkdtemp(join(tmpdir(), 'execd-java-'))
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
      this.pumps.push(this.pipe(this.proc.proc.stdout as ReadableStream<Uint8Array>, 'stdout'))
      this.pumps.push(this.pipe(this.proc.proc.stderr as ReadableStream<Uint8Array>, 'stderr'))
      void this.proc.exited.then(info => this.onExit(info))
      await this.connect(server)
    } catch (e) {
      await this.proc?.kill('close', 500)
      const early = this.stray
        .map(s => s.text)
        .join('')
        .trim()
      throw new Error(`${(e as Error).message}${early ? `: ${early}` : ''}`)
    } finally {
      server.close()
      void rm(dir, { recursive: true, force: true })
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
    if (this.current && !this.current.isEnded) throw new Error('a cell is already running in this context')
    const queue = new CellQueue()
    this.current = queue
    this.result = this.error = undefined
    const id = ++this.cell
    for (const s of this.stray.splice(0)) void queue.output(s.type, s.text)
    this.strayBytes = 0
    this.socket.write(`RUN ${id} ${Buffer.from(code).toString('base64')}\n`)
    try {
      yield* queue
    } finally {
      if (this.current === queue) this.current = null
    }
  }

  async interrupt(): Promise<void> {
    const queue = this.current
    if (!queue || queue.isEnded || !this.alive) return
    this.socket.write(`STOP ${this.cell}\n`)
    const stopped = await Promise.race([
      queue.finished.then(() => true),
      sleep(this.opts.interruptGraceMs).then(() => false),
    ])
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
    const info = await Promise.race([this.proc.exited, sleep(limitMs).then(() => undefined)])
    return info ?? (await this.proc.kill('close', 500))
  }

  async close(): Promise<void> {
    this.closed = true
    this.socket?.destroy()
    await this.proc?.kill('close', 500)
  }

  /** Protocol lines from the helper. Awaiting each keeps the socket paused while the reader lags. */
  private async readChannel(ready: () => void): Promise<void> {
    let pending = ''
    // Streaming decode: a value's UTF-8 may be split between two socket reads.
    const decoder = new TextDecoder()
    try {
      for await (const chunk of this.socket) {
        pending += decoder.decode(chunk, { stream: true })
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl)
          pending = pending.slice(nl + 1)
          let m: Message
          try {
            m = JSON.parse(line)
          } catch {
            this.opts.log.warn('java helper sent a malformed protocol line', { line: line.slice(0, 200) })
            continue
          }
          if (m.t === 'ready') ready()
          else await this.onMessage(m)
        }
      }
    } catch {
      // The socket breaks when the JVM dies; onExit reports that.
    }
  }

  private decoders = { out: new TextDecoder(), err: new TextDecoder() }

  private async onMessage(m: Message): Promise<void> {
    const queue = this.current
    const mine = m.c === this.cell
    switch (m.t) {
      case 'out':
      case 'err':
        return this.output(
          m.t === 'out' ? 'stdout' : 'stderr',
          this.decoders[m.t].decode(Buffer.from(m.b ?? '', 'base64'), { stream: true }),
        )
      case 'value':
        if (mine) this.result = m.s
        return
      case 'error':
        if (mine) this.error = { ename: m.ename ?? 'Error', evalue: m.evalue ?? '', traceback: m.traceback ?? [] }
        return
      case 'done':
        // Output the JVM wrote to fds 1/2 just before may still be in the pipes.
        if (mine) setImmediate(() => this.finish(queue))
        return
    }
  }

  private finish(queue: CellQueue | null): void {
    if (!queue || queue.isEnded) return
    queue.push(makeEvent('execution_count', { execution_count: ++this.count }))
    if (this.result !== undefined)
      queue.push(makeEvent('result', { results: { 'text/plain': this.result, text: this.result } }))
    if (this.error) queue.push(makeEvent('error', { error: this.error }))
    queue.end()
  }

  private async output(type: 'stdout' | 'stderr', text: string): Promise<void> {
    if (!text) return
    if (this.current && !this.current.isEnded) return this.current.output(type, text)
    if (this.strayBytes + text.length > MAX_STRAY) return
    this.stray.push({ type, text })
    this.strayBytes += text.length
  }

  private async pipe(stream: ReadableStream<Uint8Array>, type: 'stdout' | 'stderr'): Promise<void> {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read())
      await this.output(type, decoder.decode(r.value, { stream: true }))
  }

  private async onExit(info: ExitInfo): Promise<void> {
    this.exit = info
    // What the JVM wrote just before dying belongs to the cell, ahead of the error.
    await Promise.race([Promise.all(this.pumps), sleep(1000)])
    const queue = this.current
    if (!queue || queue.isEnded) return
    if (this.escalated) {
      queue.push(
        errorEvent('KeyboardInterrupt', this.deathText(), [
          'the cell did not stop on jshell stop (blocked in native code or I/O?)',
        ]),
      )
    } else {
      queue.push(errorEvent('DeadKernelError', this.deathText(), [describeExit(info)]))
    }
    queue.end()
  }

  private deathText(): string {
    if (this.escalated) return 'interrupted: the java interpreter was killed and restarts with its state lost'
    if (this.closed && (!this.exit || this.exit.killedBy === 'close')) return 'the java context was closed'
    return `the java interpreter exited (${this.exit ? describeExit(this.exit) : 'not running'}); its state is lost`
  }
}
