/**
 * Process ownership. Every child of execd is spawned here: in its own session and process
 * group (so a kill reaches grandchildren, issue #922 upstream), always awaited (so it is
 * reaped), killed as a group TERM→KILL on interrupt, timeout or shutdown.
 */
import type { Subprocess, TerminalOptions } from 'bun'
import { readFileSync, readdirSync } from 'node:fs'

export type KillReason = 'interrupt' | 'timeout' | 'shutdown' | 'close'

export interface ExitInfo {
  /** Exit code, or null when a signal ended the process. */
  code: number | null
  /** Signal name ('SIGKILL') when a signal ended the process. */
  signal: string | null
  /** Why execd killed it, when it did. */
  killedBy: KillReason | null
}

type Stdio = 'pipe' | 'ignore' | 'inherit' | number

export interface SpawnOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  stdin?: Stdio
  stdout?: Stdio
  stderr?: Stdio
  uid?: number
  gid?: number
  /** Kill the group after this many ms (0 or absent: never). */
  timeoutMs?: number
  /** ms between SIGTERM and SIGKILL when killing. */
  graceMs?: number
  /**
   * Run on a new pseudo-terminal instead of stdio: it becomes the controlling terminal of the
   * child's new session, and `proc.terminal` writes, resizes and closes it.
   */
  terminal?: TerminalOptions
  /**
   * Extra child fds from 3 on; each 'pipe' becomes a bidirectional socketpair whose parent end
   * is in `fds` (a runtime's protocol channel, kept apart from the user's stdout). The caller
   * closes those parent fds when done: Bun does not. Not with `terminal`.
   */
  extraFds?: 'pipe'[]
  /**
   * Opens Bun's IPC channel to a Bun/Node child (a protocol channel that never mixes with the
   * child's stdout); messages arrive here, `proc.send()` answers.
   */
  ipc?: (message: unknown) => void
  serialization?: 'json' | 'advanced'
}

export interface OwnedProcess {
  /** Leader pid; also the process group id. */
  readonly pid: number
  readonly proc: Subprocess<any, any, any>
  /** Parent ends of `extraFds`, in order (child fd 3, 4, ...). */
  readonly fds: number[]
  /** The child's stdout/stderr when spawned with 'pipe' (the default); throws otherwise. */
  readonly stdout: ReadableStream<Uint8Array>
  readonly stderr: ReadableStream<Uint8Array>
  /** Resolves once the leader has exited and been reaped. */
  readonly exited: Promise<ExitInfo>
  /** Sends a signal to the whole group; no-op once the group is gone. */
  signal(sig: NodeJS.Signals | number): void
  /** SIGTERM the group, SIGKILL after the grace period; resolves when the group is gone. */
  kill(reason: KillReason, graceMs?: number): Promise<ExitInfo>
}

const live = new Map<number, OwnedProcess>()
let defaultGraceMs = 2000

export function setDefaultGrace(ms: number): void {
  defaultGraceMs = ms
}

/** Spawns argv as the leader of a new process group, owned by execd. */
export function spawnOwned(argv: string[], opts: SpawnOptions = {}): OwnedProcess {
  // A terminal is the child's stdin, stdout and stderr at once; extra fds need the array form.
  const stdio = opts.terminal
    ? {}
    : {
        stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe', ...(opts.extraFds ?? [])] as [
          'ignore',
          'pipe',
          'pipe',
        ],
      }
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env: opts.env as Record<string, string> | undefined,
    ...stdio,
    terminal: opts.terminal,
    uid: opts.uid,
    gid: opts.gid,
    ...(opts.ipc ? { ipc: (message: unknown) => opts.ipc!(message), serialization: opts.serialization ?? 'json' } : {}),
    // setsid(): own session and process group, so signals to -pid reach every descendant
    // that did not move itself elsewhere, and a terminal's signals never reach them.
    detached: true,
  })
  const pid = proc.pid
  const grace = opts.graceMs ?? defaultGraceMs
  let killedBy: KillReason | null = null
  let timer: ReturnType<typeof setTimeout> | undefined

  const exited: Promise<ExitInfo> = proc.exited.then(() => {
    if (timer) clearTimeout(timer)
    const signal = proc.signalCode ? String(proc.signalCode) : null
    return { code: signal ? null : proc.exitCode, signal, killedBy }
  })

  const signal = (sig: NodeJS.Signals | number) => signalGroup(pid, sig)

  let killing: Promise<ExitInfo> | undefined
  const kill = (reason: KillReason, graceMs = grace) => {
    killedBy ??= reason
    killing ??= (async () => {
      signal('SIGTERM')
      const termDone = await Promise.race([
        groupGone(pid, exited, graceMs)
          .then(groupAlive.bind(null, pid))
          .then(alive => !alive),
        idle(graceMs).then(() => false),
      ])
      if (!termDone) signal('SIGKILL')
      const info = await exited
      await waitGroupGone(pid, 2000)
      return info
    })()
    return killing
  }

  const fds = ((proc as unknown as { stdio?: unknown[] }).stdio ?? []).slice(3) as number[]
  const piped = (name: 'stdout' | 'stderr') => () => {
    const stream = proc[name]
    if (!(stream instanceof ReadableStream)) throw new Error(`${name} of pid ${pid} is not piped`)
    return stream as ReadableStream<Uint8Array>
  }
  const owned: OwnedProcess = {
    pid,
    proc,
    fds,
    exited,
    signal,
    kill,
    get stdout() {
      return piped('stdout')()
    },
    get stderr() {
      return piped('stderr')()
    },
  }
  live.set(pid, owned)
  exited.then(() => live.delete(pid))
  if (opts.timeoutMs && opts.timeoutMs > 0) {
    timer = setTimeout(() => void kill('timeout'), opts.timeoutMs)
  }
  return owned
}

/** Signals process group `pgid`; a vanished group is not an error. */
export function signalGroup(pgid: number, sig: NodeJS.Signals | number): boolean {
  try {
    process.kill(-pgid, sig)
    return true
  } catch {
    return false
  }
}

/**
 * True while a running (non-zombie) process of group `pgid` exists. Killed grandchildren are
 * re-parented to PID 1, which may take seconds to reap them; a zombie holds no resources and
 * cannot be killed further, so it does not count.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return liveMembers(pgid) > 0
}

function liveMembers(pgid: number): number {
  let n = 0
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return 1 // no procfs: trust kill(2)
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue // not a pid
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3)
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') n++
    } catch {}
  }
  return n
}

async function groupGone(pgid: number, leaderExited: Promise<unknown>, limitMs: number): Promise<void> {
  const start = Date.now()
  await Promise.race([leaderExited, idle(limitMs)])
  await waitGroupGone(pgid, limitMs - (Date.now() - start))
}

/** Polls until the group has no member, or `limitMs` passed (reparented zombies linger briefly). */
async function waitGroupGone(pgid: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs
  let delay = 5
  while (groupAlive(pgid) && Date.now() < deadline) {
    await sleep(delay)
    delay = Math.min(delay * 2, 50)
  }
}

/** Kills every live process group execd owns (shutdown). */
export async function killAll(reason: KillReason = 'shutdown', graceMs = defaultGraceMs): Promise<void> {
  await Promise.all([...live.values()].map(p => p.kill(reason, graceMs)))
}

export const liveProcessCount = (): number => live.size

/** Whether `pid` is a child execd spawned and is still waiting for (the PID-1 reaper asks). */
export const ownsPid = (pid: number): boolean => live.has(pid)

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** A sleep that does not keep the process alive (a finished kill must not delay a CLI's exit). */
const idle = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms).unref?.())

/** `promise`, or 'timeout' after `ms`; the timer never outlives the race (a CLI verb must exit). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<'timeout'>(r => (timer = setTimeout(() => r('timeout'), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/** Text for an exit, in the words of Go's os/exec (the SDKs show these). */
export function describeExit(info: ExitInfo): string {
  if (info.signal) return `signal: ${signalWord(info.signal)}`
  return `exit status ${info.code}`
}

const SIGNAL_WORDS: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
}

export const signalWord = (sig: string): string => SIGNAL_WORDS[sig] ?? sig.toLowerCase().replace(/^sig/, '')

/** The signal a `describeExit` word names ('killed' → 'SIGKILL'), the inverse of signalWord. */
export const signalNamed = (word: string): string =>
  Object.keys(SIGNAL_WORDS).find(sig => SIGNAL_WORDS[sig] === word) ?? `SIG${word.toUpperCase()}`
