/**
 * One live go context: the kernel (kernel/main.go) in its own process group, with a private
 * module directory where each cell is compiled. Requests go to the kernel's stdin, replies come
 * on fd 3; the kernel's stdout and stderr carry the cells' own output, streamed as it comes.
 */
import { closeSync, lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CellAssembler } from '../../core/cell-assembler'
import { OutputChunks } from '../../core/output-chunks'
import { errorEvent, type ExecEvent } from '../../core/events'
import { readJsonLines } from '../../core/json-lines'
import { ReadGatherer } from '../../core/read-gather'
import type { RuntimeContext, StartOptions } from '../../core/plugin'
import { spawnOwned, type ExitInfo, type OwnedProcess } from '../../core/process'
import { describeExit } from '../../core/exit-words'
import { deathWords, type OomScope, OomWatch } from '../../core/oom'
import { sleep, within } from '../../core/timers'
import { OwnedTempDir } from '../../core/temp-dir'
import { settingsOf } from '../../core/config'
import { OPTIONS } from './options'
import { goBuildEnv, goCacheDir, type Toolchain } from './toolchain'

export interface GoContextOptions extends StartOptions {
  toolchain: Toolchain
  kernel: string
}

type Message = { t: string; c?: number; text?: string; ename?: string; evalue?: string; traceback?: string[] }
type Stream = 'stdout' | 'stderr'

/** Whether `path` is a regular file itself (lstat: a symlink is not). */
function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile()
  } catch {
    return false
  }
}

export class GoContext implements RuntimeContext {
  /**
   * Output applies backpressure: a lagging reader stops the pumps, and the cell blocks on its
   * writes (until an interrupt, which drops what the reader has no room for).
   */
  private readonly cells = new CellAssembler({ policy: 'block', maxBytes: 1 << 20 })
  /** The module the cells compile in; removed with the context, swept if execd dies. */
  private readonly dir = new OwnedTempDir('execd-go')
  private cell = 0
  private exit: ExitInfo | undefined
  private readonly oom = new OomWatch()
  private outOfMemory: OomScope | undefined
  private closed = false
  private proc!: OwnedProcess
  private pumps: Promise<unknown>[] = []
  /** Bytes of the kernel's stdout and stderr handed to cells so far, and who waits for more. */
  private readonly delivered = { stdout: 0, stderr: 0 }
  private pumped = false
  private waiters: (() => void)[] = []
  /** The removal of what a cell left at go.mod's name, under way on the thread pool (setAside). */
  private aside: Promise<void> | undefined

  private constructor(private readonly opts: GoContextOptions) {}

  static async start(opts: GoContextOptions): Promise<GoContext> {
    const ctx = new GoContext(opts)
    try {
      await ctx.spawn()
    } catch (e) {
      await ctx.close()
      throw e
    }
    return ctx
  }

  get alive(): boolean {
    return !this.exit && !this.closed
  }

  private async spawn(): Promise<void> {
    const dir = await this.module()
    const config = {
      dir,
      go: this.opts.toolchain.go,
      env: goBuildEnv(this.opts.env, this.opts.toolchain),
      cache: goCacheDir(),
      cacheMax: settingsOf(this.opts.config, OPTIONS).cacheMax,
    }
    this.proc = spawnOwned([this.opts.kernel, JSON.stringify(config)], {
      cwd: this.opts.cwd,
      env: this.opts.env,
      stdin: 'pipe',
      extraFds: ['pipe'],
    })
    this.pumps.push(this.pump(this.proc.stdout, 'stdout'), this.pump(this.proc.stderr, 'stderr'))
    void Promise.all(this.pumps).then(() => {
      this.pumped = true
      this.wake()
    })
    void this.proc.exited.then(info => this.onExit(info))
    let ready!: () => void
    const isReady = new Promise<void>(r => (ready = r))
    void this.readChannel(ready)
    const started = await within(Promise.race([isReady.then(() => true), this.proc.exited.then(() => false)]), 30_000)
    if (started !== true) {
      const why = started === 'timeout' ? 'did not start within 30 s' : `exited (${describeExit(this.exit!)})`
      const early = this.cells.strayText
      throw new Error(`the go kernel ${why}${early ? `: ${early}` : ''}`)
    }
  }

  /**
   * The module directory with its go.mod, made again when a cell removed them (the program can
   * find its own directory): the kernel writes its support file back, and the declarations,
   * kept in the kernel, compile as before. Only when missing: `go build -mod=mod` adds the
   * requirements it found in the module cache to go.mod. Something else in its place (a
   * symlink, dangling or not) is replaced, not written through.
   */
  private async module(): Promise<string> {
    const dir = this.dir.ensure()
    const goMod = join(dir, 'go.mod')
    if (!isFile(goMod)) {
      await this.setAside(goMod)
      writeFileSync(goMod, `module execdcell\n\ngo ${this.opts.toolchain.language}\n`, { flag: 'wx' })
    }
    return dir
  }

  /**
   * Takes away what stands at go.mod's name. A directory there can hold any tree a cell made:
   * removed by rmSync it walked on the event loop (30,000 files: no answer to any request for
   * the while), and an awaited removal would hold up the cell as long. It is renamed at once into
   * a dir of its own, locked as the module is (an execd that dies leaves it to the next one's
   * sweep), and removed from there on the thread pool while the cell runs. One such removal at a
   * time: a cell that leaves another tree waits for the one before, so they cannot pile up.
   */
  private async setAside(path: string): Promise<void> {
    let dir: boolean
    try {
      dir = lstatSync(path).isDirectory()
    } catch {
      return
    }
    // a link, a FIFO, a socket: one unlink
    if (!dir) return rmSync(path, { force: true })
    await this.aside
    const aside = new OwnedTempDir('execd-go-aside')
    try {
      renameSync(path, aside.held().beneath('go.mod'))
    } catch {
      // Not moved (a mount at the name, another disk): removed where it is, off the loop still.
      aside.close()
      await rm(path, { recursive: true, force: true })
      return
    }
    this.aside = aside.closeAsync().catch(err => {
      // Its lock is let go: the next execd's sweep takes what is left.
      this.opts.log.warn('go: what a cell left at go.mod could not be removed', { err: String(err) })
    })
  }

  async *run(code: string): AsyncGenerator<ExecEvent> {
    if (!this.alive) {
      yield errorEvent('DeadKernelError', this.deathText())
      return
    }
    try {
      await this.module()
    } catch (e) {
      const message = `the go context's module directory cannot be made again: ${(e as Error).message}`
      yield errorEvent('RuntimeError', message, [message])
      return
    }
    // A reader that leaves early ends the cell's queue: the next run may start.
    const queue = this.cells.begin()
    this.oom.mark()
    const c = ++this.cell
    this.send({ t: 'run', c, code })
    yield* queue
  }

  /** Asks the kernel to stop the cell (SIGINT to its group, SIGKILL a second later); the code section waits. */
  async interrupt(): Promise<void> {
    const queue = this.cells.running
    if (!queue || !this.alive) return
    // The cell's end comes behind its output: a lagging reader must not hold it past the grace.
    queue.unblock()
    this.send({ t: 'stop', c: this.cell })
  }

  async close(): Promise<void> {
    this.closed = true
    try {
      ;(this.proc?.proc.stdin as { end?: () => void } | undefined)?.end?.()
    } catch {}
    await this.proc?.kill('close', 500)
    await this.aside
    await this.dir.closeAsync()
  }

  private send(message: unknown): void {
    try {
      const stdin = this.proc.proc.stdin as { write(s: string): void; flush(): void }
      stdin.write(`${JSON.stringify(message)}\n`)
      stdin.flush()
    } catch {
      // The kernel is gone: onExit ends the cell.
    }
  }

  /**
   * One of the kernel's stdout/stderr into the cells, counted so `done` can wait for it all. In
   * a flood, a read that came back small waits a moment before the next (core/read-gather.ts).
   */
  private async pump(stream: ReadableStream<Uint8Array>, type: Stream): Promise<void> {
    const chunks = new OutputChunks(type)
    const reader = stream.getReader()
    const gathered = new ReadGatherer()
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        const bytes = r.value.byteLength
        this.delivered[type] += bytes
        const pending = this.cells.outputChunk(chunks, r.value)
        this.wake()
        await pending
        const gather = gathered.after(bytes)
        if (gather) await gather
      }
    } catch {
      // The pipe breaks when the kernel dies; onExit reports that.
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Resolves once the cells got `out` and `err` bytes of output (or the pipes ended). */
  private async caughtUp(out: number, err: number): Promise<void> {
    while (!this.pumped && (this.delivered.stdout < out || this.delivered.stderr < err))
      await new Promise<void>(r => this.waiters.push(r))
  }

  private async readChannel(ready: () => void): Promise<void> {
    const [channel] = this.proc.fds
    // Spawned with the protocol pipe as fds[0]; were it missing, start() times out and says so.
    if (channel === undefined) return
    try {
      await readJsonLines<Message & { out?: number; err?: number }>(
        Bun.file(channel).stream(),
        m => (m.t === 'ready' ? ready() : m.c === this.cell ? this.onMessage(m) : undefined),
        line => this.opts.log.warn('go kernel sent a malformed protocol line', { line: line.slice(0, 200) }),
      )
    } catch {
      // The channel breaks when the kernel dies; onExit reports that.
    } finally {
      // Bun does not close extra stdio fds.
      try {
        closeSync(channel)
      } catch {}
    }
  }

  private async onMessage(m: Message & { out?: number; err?: number }): Promise<void> {
    switch (m.t) {
      case 'result':
        this.cells.setResult({ 'text/plain': m.text ?? '', text: m.text ?? '' })
        return
      case 'error':
        this.cells.setError({ ename: m.ename ?? 'Error', evalue: m.evalue ?? '', traceback: m.traceback ?? [] })
        return
      case 'done':
        // The cell's output went through the kernel's stdout and stderr before `done` was
        // sent, but those pipes are read apart from this channel: wait until it is all in.
        await within(this.caughtUp(m.out ?? 0, m.err ?? 0), 5000)
        this.cells.done()
        return
    }
  }

  private async onExit(info: ExitInfo): Promise<void> {
    this.exit = info
    // What the kernel wrote just before dying belongs to the cell, ahead of the error.
    const outOfMemory = this.oom.outOfMemory(info)
    await Promise.race([Promise.all(this.pumps), sleep(1000)])
    this.outOfMemory = outOfMemory
    this.cells.died(errorEvent('DeadKernelError', this.deathText(), [deathWords(info, outOfMemory, 'interpreter')]))
  }

  private deathText(): string {
    if (this.closed && (!this.exit || this.exit.killedBy === 'close')) return 'the go context was closed'
    return `the go kernel exited (${this.exit ? deathWords(this.exit, this.outOfMemory, 'interpreter') : 'not running'}); its declarations are lost`
  }
}
