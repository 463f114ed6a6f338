/**
 * Process ownership. Every child of execd is spawned here: in its own session and process
 * group (so a kill reaches grandchildren, issue #922 upstream), always awaited (so it is
 * reaped), killed TERM→KILL on interrupt, timeout or shutdown together with everything it
 * started, inside or outside its group (core/ownership.ts).
 */
import type { Subprocess, TerminalOptions } from 'bun'
import { closeSync, existsSync } from 'node:fs'
import { devNullFd } from './dev-null'
import { ownCwd } from './own-cwd'
import { shuttingDown, withFdErrno } from './errors'
import { signalGroup } from './process-groups'
import { exitedUnreaped } from './procfs'
import type { Logger } from './log'
import {
  closeCgroups,
  closeCgroupsSoon,
  confineWithCgroups,
  killAllCgroups,
  leafRefused,
  leafToSpawnInto,
  makeCgroupTree,
  shelterFromOom,
  type SpawnLeaf,
} from './cgroup-confinement'
import { killMarked, killMarkedSync, newOwnerId, Owner, OWNER_ENV } from './ownership'
import { childEnv } from './child-env'
import { gone, killUntilGone } from './owner-end'
import { gatedArgv, gateFailed } from './reserve-gate'
import { childReaped, childSpawned } from './reaper'
import { endKeeper, keepAfterDeath, keeperForgets, keeperWatches } from './keeper'
import { own, ownedProcesses, release, settleLingering, settleSoon } from './owned-set'
import { scrubSecrets } from './secrets'
import { setLongTimeout, type LongTimer } from './timers'

type KillReason = 'interrupt' | 'timeout' | 'shutdown' | 'close'

/**
 * execd's working directory as a path, where a child given no cwd starts. Inherited, it was an
 * open directory: once the workspace was removed and made again (`rm -rf /w && mkdir /w`),
 * every such command ran in the removed one (getcwd errors, no file could be made) until
 * execd restarted, while contexts, started by path, saw the new one.
 */
const START_CWD = ownCwd()

export interface ExitInfo {
  /** Exit code, or null when a signal ended the process. */
  code: number | null
  /** Signal name ('SIGKILL') when a signal ended the process. */
  signal: string | null
  /** Why execd killed it, when it did. */
  killedBy: KillReason | null
}

type Stdio = 'pipe' | 'ignore' | 'inherit' | number

interface SpawnOptions {
  cwd?: string
  /** Default: `childEnv()` (execd's environment without the secrets). Copied, unless `envMadeForIt`. */
  env?: Record<string, string | undefined>
  /**
   * `env` was made for this spawn alone (a command's, built per request): the owner marker goes
   * into it, not into a copy. A copy of a few dozen variables was ~5 µs of every command.
   */
  envMadeForIt?: boolean
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
  /** The IPC channel closed (the child's end closed, or the child exited: either may come first). */
  onDisconnect?: () => void
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
  /** What it stands for beyond the leader: its group, cgroup leaf and environment marker. */
  readonly owner: Owner
  /**
   * SIGTERM the group and everything the owner started (even outside the group), SIGKILL
   * after the grace period; resolves when all of it is gone. Works after the leader exited
   * too: it ends what the leader left running.
   */
  kill(reason: KillReason, graceMs?: number): Promise<ExitInfo>
  /**
   * Resolves once nothing of it runs and execd has let it go (its kill() has nothing left to
   * end). A holder of a finished process lets go of it then: this handle keeps the runtime's
   * process object, and with it its pipes' streams and their read buffers.
   */
  readonly released: Promise<void>
}

/** Leaders still running, by pid (the PID-1 reaper must not reap these). */
const leaders = new Map<number, OwnedProcess>()
let defaultGraceMs = 2000

export const setDefaultGrace = (ms: number): void => void (defaultGraceMs = ms)

const ownStdio = (s: Stdio, mode: 'r' | 'w'): Exclude<Stdio, 'ignore'> => (s === 'ignore' ? devNullFd(mode) : s)

/**
 * Set when the shutdown's kill begins. A child spawned after it (a runtime's next start step
 * once its compiler was killed) would be killed only by the exit hook, without its owner's
 * cleanup, and the request that waited for it would get no answer at all.
 */
let refusingSpawns = false

/** Spawns argv as the leader of a new process group, owned by execd. */
export function spawnOwned(argv: string[], opts: SpawnOptions = {}): OwnedProcess {
  if (refusingSpawns) throw shuttingDown()
  const ownerId = newOwnerId()
  const extraFds = opts.extraFds ?? []
  // Where a memory reserve exists, the child waits at a gate until execd has moved it (core/reserve-gate.ts).
  const gateFd = 3 + extraFds.length
  const stdioOf = (gated: boolean) =>
    // A terminal is the child's stdin, stdout and stderr at once (what stands first is not used);
    // extra fds need the array form.
    opts.terminal && !gated
      ? {}
      : {
          stdio: [
            ...(opts.terminal
              ? ['ignore', 'ignore', 'ignore']
              : [
                  ownStdio(opts.stdin ?? 'ignore', 'r'),
                  ownStdio(opts.stdout ?? 'pipe', 'w'),
                  ownStdio(opts.stderr ?? 'pipe', 'w'),
                ]),
            ...extraFds,
            ...(gated ? ['pipe'] : []),
          ] as [number, 'pipe', 'pipe'],
        }
  // No child may find a secret in execd's /proc/<pid>/cmdline or environ (core/secrets.ts).
  scrubSecrets()
  const env = opts.env === undefined ? childEnv() : opts.envMadeForIt ? opts.env : { ...opts.env }
  env[OWNER_ENV] = ownerId
  let leaf = leafToSpawnInto()
  const ipc = opts.ipc && {
    ipc: (message: unknown) => opts.ipc!(message),
    onDisconnect: opts.onDisconnect && (() => opts.onDisconnect!()),
    serialization: opts.serialization ?? 'json',
  }
  const spawnWith = (args: string[], cwd: string | undefined, into: SpawnLeaf | undefined, gated: boolean) =>
    Bun.spawn(args, {
      cwd,
      // Born in its leaf (core/cgroup.ts): no move after the spawn, no moment outside it.
      cgroup: into?.fd,
      env,
      ...stdioOf(gated),
      terminal: opts.terminal,
      uid: opts.uid,
      gid: opts.gid,
      ...ipc,
      // setsid(): own session and process group, so signals to -pid reach every descendant
      // that did not move itself elsewhere, and a terminal's signals never reach them.
      detached: true,
    })
  const spawnIn = (cwd: string | undefined, into: SpawnLeaf | undefined) => {
    // Not one with an IPC channel: Bun puts its fd after the stdio array, so a gate there would move
    // it (NODE_CHANNEL_FD 3 → 4). Such a child is a driver of execd's (sql)
    // that runs nothing of a user's until execd sends it a cell, after the move.
    const gated = ipc ? undefined : gatedArgv(argv, env, cwd, gateFd, opts.uid)
    let proc: Subprocess | undefined
    if (gated) {
      try {
        proc = spawnWith(gated, cwd, into, true)
      } catch {
        // The gate's file gone, or the spawn's own failure: ungated, the spawn says which.
        gateFailed()
      }
    }
    if (!proc) {
      proc = spawnWith(argv, cwd, into, false)
      shelterFromOom(proc.pid, into)
      return proc
    }
    const gate = (proc as unknown as { stdio: number[] }).stdio[gateFd]!
    try {
      shelterFromOom(proc.pid, into)
    } finally {
      // Moved: the child's read of its end returns at this EOF, and it execs the program.
      closeSync(gate)
    }
    return proc
  }
  const spawn = (cwd: string | undefined) => {
    const into = leaf
    if (!into) return spawnIn(cwd, undefined)
    leaf = undefined
    try {
      const proc = spawnIn(cwd, into)
      leaf = into
      return proc
    } catch {
      // Whether the leaf or the spawn itself failed, trying without the leaf tells.
      let proc: Subprocess
      try {
        proc = spawnIn(cwd, undefined)
      } catch (err) {
        leafRefused(into, false)
        throw err
      }
      leafRefused(into, true)
      return proc
    }
  }
  let proc: Subprocess
  try {
    proc = spawn(opts.cwd ?? START_CWD)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOEXEC') throw noExecFormat(argv[0]!, err)
    // A terminal's "Failed to open PTY" names no errno: with the fd table's, it is the 503 of it.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw withFdErrno(err)
    // A directory given that is gone: said so, rather than the runtime's ENOENT naming the
    // program (`posix_spawn 'bash'`), which sent one looking for a missing interpreter.
    if (opts.cwd !== undefined) throw existsSync(opts.cwd) ? err : missingCwd(opts.cwd, err)
    // execd's directory is gone and nothing is at its path: the child inherits the removed one,
    // as before (a command can still cd elsewhere).
    proc = spawn(undefined)
  }
  const pid = proc.pid
  const owner = new Owner(ownerId, pid, leaf?.path)
  const grace = opts.graceMs ?? defaultGraceMs
  let killedBy: KillReason | null = null
  let timer: LongTimer | undefined

  const exited: Promise<ExitInfo> = proc.exited.then(() => {
    owner.leaderReaped()
    timer?.clear()
    const signal = proc.signalCode ? String(proc.signalCode) : null
    // Before settle() looks at the leaf: one a SIGKILL reached is not to be reused.
    if (signal === 'SIGKILL') owner.leaderKilled(killedBy !== null)
    return { code: signal ? null : proc.exitCode, signal, killedBy }
  })

  const signal = (sig: NodeJS.Signals | number) => signalGroup(pid, sig)
  // A kill ended the leader only if it ran as the signal went out (its members read first).
  const leaderRuns = () => proc.exitCode === null && proc.signalCode === null && !exitedUnreaped(pid)

  let killing: Promise<ExitInfo> | undefined
  const kill = (reason: KillReason, graceMs = grace) => {
    killing ??= (async () => {
      await owner.signal('SIGTERM', () => void (killedBy ??= leaderRuns() ? reason : null))
      if (!(await gone(owner, exited, graceMs))) await owner.signal('SIGKILL')
      const info = await exited
      await killUntilGone(owner, 2000)
      release(self)
      return info
    })()
    return killing
  }

  const fds = ((proc as unknown as { stdio?: unknown[] }).stdio ?? []).slice(3, gateFd) as number[]
  const piped = (name: 'stdout' | 'stderr') => () => {
    const stream = proc[name]
    if (!(stream instanceof ReadableStream)) throw new Error(`${name} of pid ${pid} is not piped`)
    return stream as ReadableStream<Uint8Array>
  }
  let letGo!: () => void
  const self: OwnedProcess = {
    pid,
    proc,
    fds,
    exited,
    owner,
    signal,
    kill,
    released: new Promise<void>(resolve => (letGo = resolve)),
    get stdout() {
      return piped('stdout')()
    },
    get stderr() {
      return piped('stderr')()
    },
  }
  leaders.set(pid, self)
  keeperWatches(pid)
  childSpawned()
  own(self, letGo)
  void exited.then(() => {
    leaders.delete(pid)
    keeperForgets(pid)
    childReaped()
    settleSoon(self)
  })
  if (opts.timeoutMs && opts.timeoutMs > 0) timer = setLongTimeout(() => void kill('timeout'), opts.timeoutMs)
  return self
}

/** The failure of a spawn whose working directory does not exist (removed since it was chosen). */
function missingCwd(cwd: string, cause: unknown): Error {
  const whose = cwd === START_CWD ? "execd's own working directory" : 'the working directory'
  return new Error(`${whose} ${cwd} does not exist (removed?)`, { cause })
}

/**
 * Kills everything execd owns (shutdown): running leaders and what exited ones left running,
 * then, as a last net, every process that still carries one of this execd's markers.
 */
export async function killAll(reason: KillReason = 'shutdown', graceMs = defaultGraceMs): Promise<void> {
  if (reason === 'shutdown') refusingSpawns = true
  await settleLingering()
  await Promise.all([...ownedProcesses()].map(p => p.kill(reason, graceMs)))
  await killMarked()
  if (reason !== 'shutdown') return
  await closeCgroupsSoon()
  sweptAtShutdown = true
}

/** Whether killAll('shutdown') ran to its end, its marker sweep included. */
let sweptAtShutdown = false

/**
 * Sends `sig` to everything execd owns, its groups and what left them (SIGSTOP, SIGCONT: a
 * CLI verb stopped at a terminal by Ctrl-Z and resumed by `fg`, its children with it).
 */
export async function signalAllOwned(sig: NodeJS.Signals): Promise<void> {
  await Promise.all(ownedProcesses().map(p => p.owner.signal(sig)))
}

/** SIGKILL to every owned group and cgroup, synchronously (execd is exiting now). */
export function killAllNow(): void {
  for (const p of ownedProcesses()) p.owner.killNow()
  killAllCgroups()
  if (!sweptAtShutdown) killMarkedSync()
  endKeeper()
  closeCgroups()
}

export { makeCgroupTree }

/**
 * For `serve`: confine owned processes in cgroups where possible, and never exit leaving one
 * running, a hard stop at the shutdown deadline included.
 */
export function ownProcessesUntilExit(log?: Logger, cgroups = true, memoryReserve?: number): void {
  if (cgroups) confineWithCgroups(log, memoryReserve)
  // And when execd cannot: a SIGKILL runs no 'exit' hook (core/keeper.ts).
  keepAfterDeath(() => leaders.keys(), log)
  process.off('exit', killAllNow)
  process.on('exit', killAllNow)
}

/** Running leaders. */
export const liveProcessCount = (): number => leaders.size

/** Whether `pid` is a child execd spawned and is still waiting for (the PID-1 reaper asks). */
export const ownsPid = (pid: number): boolean => leaders.has(pid)

/**
 * A program the kernel would not exec (a foreign ELF, a file of no format), in the reference's
 * words (Go's `fork/exec /x/bash: exec format error`), not the runtime's `ENOEXEC: unknown
 * error, posix_spawn '/x/bash'`. The code stays ENOEXEC.
 */
function noExecFormat(program: string, cause: unknown): Error {
  return Object.assign(new Error(`fork/exec ${program}: exec format error`, { cause }), { code: 'ENOEXEC' })
}
