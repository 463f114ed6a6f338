/**
 * One PTY session: a shell (or `bash -c command`) started on first attach, on a real
 * pseudo-terminal or on pipes, whose output goes to a replay ring and to at most one
 * attached client. Knows nothing of WebSockets (socket.ts speaks the wire).
 */
import { awakeNow } from '../../core/awake-clock'
import { childEnv } from '../../core/child-env'
import { type OwnedProcess, spawnOwned } from '../../core/process'
import { signalGroup } from '../../core/process-groups'
import { within } from '../../core/timers'
import { hangUp } from './hangup'
import { ProcScanner } from '../../core/proc-scan'
import { StdinBudget } from './stdin-budget'
import { foregroundGroup } from './proc-stat'
import { dimension, type PtySignal } from './frames'
import { ReplayRing } from './ring'

export type PtyMode = 'pty' | 'pipe'
export type OutputStream = 'stdout' | 'stderr'

/** The attached client: receives live output and the exit. */
export interface PtyClient {
  output(stream: OutputStream, bytes: Uint8Array): void
  exit(code: number): void
}

/** Bytes of stdin a pipe-mode process may leave unread before writes fail. */
const STDIN_BACKLOG = 8 << 20
/**
 * The same for a terminal, counted from its last `drain` (Bun tells no more): an over-estimate,
 * as drain fires only when Bun's buffer empties — a 24 MiB paste to `cat`, read all along,
 * reached 11 MiB between drains. Hence 64 MiB: a bound on memory, not a flow control.
 */
const TERMINAL_BACKLOG = 64 << 20

/** How long to wait for output still in flight once the shell has exited. */
const DRAIN_MS = 500

export class PtySession {
  readonly ring = new ReplayRing()
  readonly createdAt = Date.now()
  /**
   * When the session last had a client or produced output (its retention), on the awake clock:
   * a stop of execd is no time its client had to come back (core/awake-clock.ts).
   */
  lastActive = awakeNow()
  /** Told of every activity (attach, detach, output, exit): the store's idle expiry listens. */
  onActivity: () => void = () => {}
  mode: PtyMode = 'pty'
  /** Exit code once the process has exited (-1 when a signal ended it). */
  exitCode: number | null = null
  private proc: OwnedProcess | null = null
  /** The shell's pid once started: kept after `proc` is let go. */
  private startedPid: number | null = null
  private reaped = false
  private client: PtyClient | null = null
  private cols = 80
  private rows = 24
  private finished: Promise<void> | null = null
  private stdinBacklog = 0
  /**
   * Bytes written to the terminal since it last drained. Bun's terminal takes every write and
   * keeps what the terminal cannot, without a bound: 400 MiB sent to a `sleep` grew execd by
   * ~500 MiB. An upper bound on what is kept: `drain` fires once all was delivered.
   */
  private terminalBacklog = 0

  constructor(
    readonly id: string,
    readonly cwd: string | undefined,
    readonly command: string | undefined,
    /** Shared by the sessions of a store, so that ending many at once scans /proc once. */
    private readonly scanner = new ProcScanner(),
    /** Shared by the sessions of a store: what all their programs leave unread (stdin-budget.ts). */
    private readonly budget = new StdinBudget(),
  ) {}

  /** Resolves once the process has exited and its output is drained; null before start. */
  get ended(): Promise<void> | null {
    return this.finished
  }

  /** Whether a client ever started its process. */
  get started(): boolean {
    return this.startedPid !== null
  }

  get running(): boolean {
    return this.proc !== null && this.exitCode === null
  }

  /** The shell's pid (its session and group id), once started. */
  get pid(): number | null {
    return this.startedPid
  }

  /**
   * The shell's session id for hangUp, from its start until it is reaped. Not after: a number the
   * kernel frees (once the session emptied) goes to the next process, and every child of execd
   * leads a session of its own — the DELETE of a terminal that had exited (kept up to
   * --pty-retain) hung up and killed whatever process had the old shell's pid since. What the
   * shell left running is its owner's to end (kill()).
   */
  get session(): number | null {
    return this.reaped ? null : this.startedPid
  }

  get attached(): boolean {
    return this.client !== null
  }

  /** Starts the process once; later calls do nothing (an exited session stays exited). */
  start(mode: PtyMode): void {
    if (this.started) return
    const argv = this.command ? ['bash', '-c', this.command] : ['bash', '--norc', '--noprofile']
    const env = childEnv({ TERM: 'xterm-256color' })
    let drained: Promise<unknown>
    if (mode === 'pty') {
      const eof = Promise.withResolvers<void>()
      this.proc = spawnOwned(argv, {
        cwd: this.cwd,
        env,
        terminal: {
          cols: this.cols,
          rows: this.rows,
          data: (_t, bytes) => this.emit('stdout', bytes),
          exit: () => eof.resolve(),
          // Everything written so far reached the terminal: nothing of it waits in execd.
          drain: () => this.forgetBacklog(),
        },
      })
      drained = eof.promise
    } else {
      this.proc = spawnOwned(argv, { cwd: this.cwd, env, stdin: 'pipe' })
      drained = Promise.all([this.pump(this.proc.stdout, 'stdout'), this.pump(this.proc.stderr, 'stderr')])
    }
    this.mode = mode
    const proc = this.proc
    this.startedPid = proc.pid
    this.finished = (async () => {
      const info = await proc.exited
      this.reaped = true
      // A background job may hold the terminal open: do not wait for its EOF forever.
      await within(drained, DRAIN_MS)
      proc.proc.terminal?.close()
      this.forgetBacklog()
      this.exitCode = info.code ?? -1
      this.active()
      this.client?.exit(this.exitCode)
    })()
    // Let go once it has ended and nothing of it runs (a kill has nothing left to end): kept, an
    // ended session held the runtime's process object and its terminal or pipes for as long as
    // the store kept the session. Not part of `ended`: a job left running must not hold that up.
    void Promise.all([this.finished, proc.released]).then(() => {
      if (this.proc === proc) this.proc = null
    })
  }

  /**
   * Makes `client` the one receiving output and returns what it missed since `since`. Both
   * happen in one synchronous step, so nothing is lost or repeated between replay and live.
   */
  attach(client: PtyClient, since: number): { offset: number; bytes: Uint8Array } | null {
    this.client = client
    this.active()
    return this.ring.readFrom(since)
  }

  detach(client: PtyClient): void {
    if (this.client !== client) return
    this.client = null
    this.active()
  }

  /**
   * Writes to the terminal or the stdin pipe. Rejects when the process cannot take it (its
   * stdin closed), or when a pipe (a terminal) nobody reads has more than STDIN_BACKLOG
   * (TERMINAL_BACKLOG) bytes waiting.
   */
  async write(data: string | Uint8Array): Promise<void> {
    if (!this.running || !this.proc) return
    const terminal = this.proc.proc.terminal
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length
    if (terminal) {
      if (this.terminalBacklog + size > TERMINAL_BACKLOG)
        throw new Error(`stdin backlog over ${TERMINAL_BACKLOG} bytes: the terminal's program is not reading`)
      this.holdFor(size)
      this.terminalBacklog += size
      terminal.write(data)
      return
    }
    if (this.stdinBacklog + size > STDIN_BACKLOG)
      throw new Error(`stdin backlog over ${STDIN_BACKLOG} bytes: the process is not reading`)
    this.holdFor(size)
    this.stdinBacklog += size
    try {
      const stdin = this.proc.proc.stdin as import('bun').FileSink
      await stdin.write(data)
      await stdin.flush()
    } finally {
      this.stdinBacklog -= size
      this.budget.give(size)
    }
  }

  private holdFor(size: number): void {
    if (!this.budget.take(size)) {
      throw new Error(`stdin backlog of all terminals over ${this.budget.max} bytes: their programs are not reading`)
    }
  }

  /** Everything written reached the terminal, or the terminal is gone: none of it is held. */
  private forgetBacklog(): void {
    this.budget.give(this.terminalBacklog)
    this.terminalBacklog = 0
  }

  /** Sizes are clamped into what a terminal takes (frames.ts); a closing terminal is not an error. */
  resize(cols: number, rows: number): void {
    const c = dimension(cols)
    const r = dimension(rows)
    if (c === null || r === null) return
    this.cols = c
    this.rows = r
    try {
      if (this.running) this.proc?.proc.terminal?.resize(c, r)
    } catch {
      // The terminal closed under us (the shell just exited): the size no longer matters.
    }
  }

  /**
   * Signals what the user is running: on a terminal, its foreground job (what Ctrl-C would
   * reach); on pipes, the process group.
   */
  signal(sig: PtySignal): void {
    // Reaped, the shell's pid is no longer its: its exit code comes only after the output drained.
    if (!this.running || !this.proc || this.reaped) return
    const pid = this.proc.pid
    const target = this.mode === 'pty' ? (foregroundGroup(pid) ?? pid) : pid
    signalGroup(target, sig)
  }

  /**
   * Hangs up the session: every job of the terminal ends, background ones too (hangup.ts).
   * What left the terminal's session (`setsid`, a daemon's double fork) is no job of it and
   * outlived a DELETE: the owner's kill ends everything the shell started, as a command's does.
   */
  async kill(): Promise<void> {
    await hangUp([this], this.scanner)
    await this.proc?.kill('close', 500)
    this.ring.release()
  }

  private active(): void {
    this.lastActive = awakeNow()
    this.onActivity()
  }

  private emit(stream: OutputStream, bytes: Uint8Array): void {
    this.ring.append(bytes)
    this.active()
    this.client?.output(stream, bytes)
  }

  private async pump(stream: ReadableStream<Uint8Array>, name: OutputStream): Promise<void> {
    const reader = stream.getReader()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        this.emit(name, value)
      }
    } catch {
      // The pipe broke: the exit path reports what happened.
    }
  }
}
