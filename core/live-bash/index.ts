/**
 * One long-lived bash process driven run by run: cwd, variables (exported or not), functions,
 * aliases and shell options persist because every run executes in the same shell. Each run's
 * code is written to a private file and `source`d (so heredocs, missing trailing newlines and
 * `$LINENO` behave as in a script), with stdin from /dev/null (so a program that reads stdin
 * cannot swallow the driver's next line). The run's end is a marker with a per-run random
 * nonce that bash prints after the code, on stdout (with the exit status) and on stderr — not
 * EOF, so background jobs that keep the pipes open do not hold the run.
 */
import { tmpdir } from 'node:os'
import { CellName } from './cell-name'
import { CodeFile, type RemakeableDir } from './code-file'
import { CommandStream } from './command-stream'
import { fifoDirOf } from './fifo-dir'
import { PRELUDE, runLine } from './frame'
import { MarkerScanner } from './marker'
import { STALLED, watchStall } from './stall'
import type { OutputMux } from './output'
import type { OutputPipes } from '../output-pipes'
import { outlast } from './run-stop'
import { spawnShell, type SpawnedShell } from './spawn'
import { StartWords } from './start-words'
import { requirePiece } from '../capabilities'
import type { ExitInfo, OwnedProcess } from '../process'
import { describeExit } from '../exit-words'
import { ShellMemoryCgroup } from '../memory-reserve'
import { OomWatch } from '../oom'
import { runOutcome, STOPPED, type BashRunEnd } from './run-end'
import { signalGroup } from '../process-groups'
import { randomHex } from '../random'
import { ticksSinceBoot } from '../procfs'

export type BashStream = 'stdout' | 'stderr'
export type { BashRunEnd } from './run-end'

interface BashChunk {
  stream: BashStream
  data: Uint8Array
}

interface LiveBashOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** Where the per-run code file lives (default: the OS temp dir). */
  tmpDir?: string | RemakeableDir
  /**
   * The command that starts the shell (default `bash --noprofile --norc`): a wrapper that
   * starts bash in the end, such as the isolated sessions' bubblewrap sandbox. Where bash is not
   * that process itself (bwrap forks it), `shellPid` finds it (its host pid), asked at each stall
   * check (stall.ts) and when a stop signals the run's processes again or kills them (stopRun).
   */
  argv?: string[]
  shellPid?: () => number | undefined
  /** The user the shell runs as, where not execd's (a FIFO of its input is made theirs). */
  owner?: { uid: number; gid: number }
  /** Where its input FIFOs are made, where not in `tmpDir` (fifo-dir.ts: a memory filesystem). */
  fifoDir?: RemakeableDir
}

export class LiveBash {
  private readonly proc: OwnedProcess
  /** Its stdout and stderr, where real pipes could be had (else Bun's socketpair). */
  private readonly pipes: OutputPipes | null
  private readonly nonce = randomHex(16)
  private readonly code: CodeFile
  private readonly cellName: CellName
  private readonly input: CommandStream
  private readonly output: OutputMux
  private queue: Promise<void> = Promise.resolve()
  private running = false
  private interrupted = false
  private runEnded: Promise<void> = Promise.resolve()
  /** The current run's consumer, told when execd starts stopping the run (run()'s `onStop`). */
  private onStop: (() => void) | undefined
  private exitInfo: ExitInfo | undefined
  private closed = false
  /** Nothing of the shell runs any more (OwnedProcess.released). */
  private released = false
  private ready = false
  /** Runs asked for so far, the shell's own first one included (run()'s number). */
  private asked = 0
  /** Runs numbered up to this that had not started when an interrupt came end as interrupted. */
  private stopUpTo = 0
  /** The shell traced as the last run ended (`set -x`): the next run's line traces again. */
  private xtrace = false
  private deathReason: string | undefined
  /** Set once the shell has exited: what is left of the output still handed on (next()). */
  private drain: { bytes: number; until: number } | undefined
  private leftover: Record<BashStream, Uint8Array> = { stdout: new Uint8Array(), stderr: new Uint8Array() }
  private readonly startStderr = new StartWords()
  /** Since when the current run has waited for output with none queued (stall.ts). */
  private waitingSince: number | undefined
  /** The shell's own memory cgroup, its count of OOM kills its processes' alone; null where none is made. */
  private memory: ShellMemoryCgroup | null | undefined

  constructor(private readonly opts: LiveBashOptions = {}) {
    requirePiece('bash') // 501 naming bash, not the 404 of a missing executable file
    this.code = new CodeFile(opts.tmpDir ?? tmpdir(), this.nonce, opts.owner?.uid)
    this.cellName = new CellName(this.code.path)
    void this.code.write('')
    let shell: SpawnedShell
    try {
      shell = spawnShell(opts.argv ?? ['bash', '--noprofile', '--norc'], opts)
    } catch (err) {
      // Out of fds or processes (EMFILE, EAGAIN): the code file made above stayed for good.
      this.code.remove()
      throw err
    }
    this.proc = shell.proc
    this.pipes = shell.pipes
    this.output = shell.output
    const dir = opts.tmpDir ?? tmpdir()
    this.input = new CommandStream(
      shell.stdin,
      // Beside the code file, as written this run: where a held dir's descriptor reaches it, named as the shell sees it.
      fifoDirOf(opts.fifoDir, {
        path: () => this.code.writtenIn,
        shown: () => (typeof dir === 'string' ? dir : dir.reached ? this.code.writtenIn : dir.path),
      }),
      this.nonce,
      opts.owner,
    )
    // Async jobs of a non-interactive bash ignore SIGINT and keep running (frame.ts: the INT trap).
    this.send(PRELUDE)
    // A first, empty run: once it has ended, bash has started and its INT trap is set, so an
    // interrupt can no longer kill the shell itself. Later runs queue behind it. Its code file
    // may not be writable (a full temp disk): that failure is this run's alone, and the first
    // run that does end marks the shell ready (run()); unhandled, it ended execd.
    void (async () => {
      const it = this.run(':')
      for (;;) {
        const r = await it.next()
        if (r.done) return
        if (r.value.stream === 'stderr') this.startStderr.keep(r.value.data)
      }
    })().catch(() => {})
    void this.proc.released.then(() => this.memory?.close())
    void this.proc.exited.then(info => {
      this.exitInfo = info
      this.code.remove()
      this.input.close() // its FIFOs too: a shell that exited may be closed much later
    })
    void this.proc.released.then(() => {
      this.released = true
      this.readNoMore()
    })
  }

  get pid(): number {
    return this.proc.pid
  }

  get alive(): boolean {
    return !this.exitInfo && !this.closed
  }

  /** Why the shell is gone ('exit status 0' after `exit`), or undefined while alive. */
  get endReason(): string | undefined {
    if (this.exitInfo) return describeExit(this.exitInfo)
    return this.closed ? 'closed' : undefined
  }

  /**
   * What the shell (or the wrapper that execs it) wrote on stderr before it was ready, one line
   * (start-words.ts).
   */
  get startWords(): string {
    return this.startStderr.text
  }

  /** Resolves when the shell has exited. */
  get exited(): Promise<ExitInfo> {
    return this.proc.exited
  }

  /** How the shell ended, once it has. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo
  }

  get busy(): boolean {
    return this.running
  }

  /**
   * Runs `code`; yields output chunks as bash writes them and returns how the run ended.
   * Runs are serialized: a second call waits for the first. Abandoning the iterator or
   * aborting `signal` interrupts the run (the rest of its output is discarded when abandoned).
   * `onStop` is called when an interrupt of this run is sent: its end comes behind its output,
   * so a consumer that paces the output must stop pacing it then, or the grace kills the shell.
   */
  async *run(
    code: string,
    opts: { cwd?: string; signal?: AbortSignal; onStop?: () => void } = {},
  ): AsyncGenerator<BashChunk, BashRunEnd> {
    const number = ++this.asked
    const release = await this.acquire()
    // A full disk fails this run only; a long code is written in turns: an interrupt meanwhile ends it unstarted.
    try {
      if (this.alive) await this.code.write(code)
    } catch (err) {
      release()
      throw err
    }
    if (opts.signal?.aborted || number <= this.stopUpTo) {
      release()
      return { kind: 'exit', code: 130, interrupted: true }
    }
    const onAbort = () => void this.interrupt()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    let finish!: () => void
    this.runEnded = new Promise(r => (finish = r))
    this.running = true
    // For this run's output only: what it floods is read in larger reads (core/output-pipes.ts).
    this.pipes?.raise()
    this.interrupted = false
    this.onStop = opts.onStop
    let end: BashRunEnd | undefined
    // A nonce of its own per run, not the code file's (the run sees that one in $BASH_SOURCE): a
    // run that printed the marker ended early, and every later run then ended on its
    // predecessor's real marker, reporting the output of the run before it.
    const m = `__execd_${randomHex(12)}__`
    const scanners = { stdout: new MarkerScanner(m, true), stderr: new MarkerScanner(m, false) }
    const oom = new OomWatch(this.ownKills)
    const stall = watchStall(
      this.opts.shellPid ?? this.pid,
      () => this.waitingSince,
      () => void ((this.deathReason = STALLED), this.close()),
    )
    try {
      if (!this.alive) return (end = { kind: 'died', reason: `bash has exited (${this.endReason})` })
      for (const s of STREAMS) if (this.leftover[s].length) scanners[s].feed(this.leftover[s])
      this.cellName.file = this.code.sourced
      this.send(runLine(m, this.code.sourced, opts.cwd, this.xtrace, this.input.offer()))
      for (;;) {
        const step = await this.next(scanners)
        if ('chunk' in step) yield step.chunk
        else {
          // bash read the prelude's INT trap before this run's line: an interrupt is safe now.
          if (step.end.kind === 'exit') {
            this.ready = true
            this.xtrace = scanners.stdout.flags.includes('x')
          }
          return (end = runOutcome(step.end, oom, this.exitInfo))
        }
      }
    } finally {
      if (!end && this.alive) await this.abandon(scanners)
      // Also after an abandoned run's end: the shell may read the FIFO its line named now.
      this.input.settle(scanners.stdout.found && scanners.stdout.moved)
      stall.stop()
      opts.signal?.removeEventListener('abort', onAbort)
      this.onStop = undefined
      for (const s of STREAMS) this.leftover[s] = scanners[s].rest
      this.running = false
      this.pipes?.lower()
      this.readNoMore()
      finish()
      release()
    }
  }

  /**
   * Once nothing of the shell runs (a job it left included: that one may still write, and is the
   * session's until it is deleted) and no run drains what it left, nothing reads its output
   * again: its pipes are closed then. A reader waiting for its chunk to be taken would never
   * read their end.
   */
  private readNoMore(): void {
    if (this.released && !this.running) this.output.stop()
  }

  /**
   * Stops the current run, keeping the shell: SIGINT to the group (the foreground job and the
   * shell's trap), again to a process below the shell that lost it (run-stop.ts), then SIGKILL
   * to everything below the shell if the run has not ended within `graceMs`, then the whole
   * shell as a last resort. Resolves once the run has ended.
   */
  async interrupt(graceMs = 1000): Promise<void> {
    // Nothing of the caller's to signal yet (the shell still starting, its first run not ended,
    // or the next run between its turn and its line): the runs asked for so far end unstarted,
    // else the interrupt was lost, the run ran, and the caller's grace (3 s for a cell) ended it.
    if (!this.running || !this.ready) {
      this.stopUpTo = this.asked
      return
    }
    if (!this.alive) return
    await this.stopRun(this.runEnded, graceMs)
  }

  /** Kills the shell's process group and removes its file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.input.close()
    await this.proc.kill('close', 500)
    this.code.remove()
  }

  private async stopRun(ended: Promise<unknown>, graceMs: number): Promise<void> {
    this.interrupted = true
    this.onStop?.()
    this.code.forestall() // before the signal: the shell may not have started the code yet
    signalGroup(this.proc.pid, 'SIGINT')
    const sentAt = ticksSinceBoot()
    if (await outlast(ended, graceMs, sentAt, () => (this.opts.shellPid ? this.opts.shellPid() : this.proc.pid))) return
    await this.close()
  }

  /** The consumer went away mid-run: stop the run and discard the rest of its output. */
  private async abandon(scanners: Record<BashStream, MarkerScanner>): Promise<void> {
    const drained = (async () => {
      for (;;) if ('end' in (await this.next(scanners))) return
    })()
    await this.stopRun(drained, 1000)
  }

  /**
   * The shell's count of OOM kills, from its own memory cgroup (core/memory-reserve.ts), made as
   * the first run after the shell is ready starts: the shell is idle then, nothing of it runs
   * but the shell (and the wrapper that started it), and all it forks from then on is born in it.
   */
  private readonly ownKills = (): number | undefined => {
    if (this.memory === undefined && this.ready && this.alive) {
      const shell = this.opts.shellPid?.()
      this.memory = ShellMemoryCgroup.make(shell === undefined ? [this.pid] : [this.pid, shell]) ?? null
    }
    return this.memory?.kills()
  }

  private acquire(): Promise<() => void> {
    let release!: () => void
    const turn = new Promise<void>(r => (release = r))
    const previous = this.queue
    this.queue = previous.then(() => turn)
    return previous.then(() => release)
  }

  private send(text: string): void {
    if (this.input.write(text)) return
    // Its FIFO full (filled by another process: execd's lines are read before the next is sent).
    this.deathReason ??= "the shell's input was filled by another process"
    void this.close()
  }

  /** The next piece of output of the current run, or its end. */
  private async next(scanners: Record<BashStream, MarkerScanner>): Promise<{ chunk: BashChunk } | { end: BashRunEnd }> {
    for (;;) {
      for (const stream of STREAMS) {
        const taken = scanners[stream].take()
        const out = stream === 'stderr' ? this.cellName.pass(taken, scanners.stderr.found) : taken
        if (out) return { chunk: { stream, data: out } }
      }
      if (scanners.stdout.found && scanners.stderr.found) {
        if (this.deathReason) return { end: { kind: 'died', reason: this.deathReason } }
        const code = scanners.stdout.status ?? 0
        return { end: { kind: 'exit', code, interrupted: this.interrupted && STOPPED.has(code) } }
      }
      const open = STREAMS.filter(s => !scanners[s].found)
      if (this.drain) {
        // The shell is gone (`exit`, killed): hand on what it still wrote, chunk by chunk. A job
        // it left behind (`yes & exit`) keeps the pipes open and may write forever: the run
        // ends after a pause, DRAIN_AFTER_EXIT_BYTES or DRAIN_AFTER_EXIT_MS, whichever first.
        const left = this.drain.until - performance.now()
        const rest = this.drain.bytes > 0 && left > 0 ? await this.output.take(open, Math.min(50, left)) : undefined
        if (rest?.kind === 'data') {
          this.drain.bytes -= rest.data.length
          scanners[rest.stream].feed(rest.data)
        }
        if (rest) continue
        for (const s of open) {
          scanners[s].flush()
          scanners[s].found = true
        }
        continue
      }
      this.waitingSince = performance.now()
      const item = (await this.output.take(open))!
      this.waitingSince = undefined
      if (item.kind === 'data') {
        scanners[item.stream].feed(item.data)
        continue
      }
      if (item.kind === 'eof') {
        // Usually bash exiting; but a shell that closed its own stdout or stderr (`exec >&-`)
        // can no longer be driven either: end it, and report that below.
        void this.close()
        continue
      }
      this.deathReason ??= `bash exited (${describeExit(await this.proc.exited)})`
      this.drain = { bytes: DRAIN_AFTER_EXIT_BYTES, until: performance.now() + DRAIN_AFTER_EXIT_MS }
    }
  }
}

const STREAMS = ['stdout', 'stderr'] as const

/** Output still handed on after the shell exited; the rest, a leftover job's, is not read. */
const DRAIN_AFTER_EXIT_BYTES = 1024 * 1024
const DRAIN_AFTER_EXIT_MS = 1000
