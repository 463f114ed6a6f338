/**
 * What ends execd's children when execd is SIGKILLed. The shutdown's kill and the 'exit' hook
 * (core/process.ts) run only while execd runs code; a SIGKILL (the OOM killer, `kill -9`, a
 * crashed Bun) left every interpreter, command, terminal and sandbox running under init. One
 * keeper (core/keeper-main.ts) is started at the first spawn and told each group as it is
 * spawned and as its leader is reaped; the pipe it reads reaches EOF only once execd is gone.
 *
 * Why not the platform's other means: a death signal per child (PR_SET_PDEATHSIG) costs a Bun
 * start in front of every spawn (~40 ms, where a command takes 3–11 ms: cmd/main-exec.ts pays it
 * once, for serve's main process); a subreaper (core/reaper.ts) ends with execd; a pidfd is
 * closed with it; a cgroup's kill needs cgroup v2 delegated, which most containers do not give
 * (core/cgroup-confinement.ts). An isolated session needs none of it: its bwrap runs with
 * --die-with-parent, which already took the sandbox down with execd (measured on the build
 * before this: nothing of a session's `sleep` left after a SIGKILL); the keeper's kill of the
 * group it leads would do the same.
 */
import type { FileSink, Subprocess } from 'bun'
import { KEEPER_WORD } from './keeper-main'
import type { Logger } from './log'
import { LinePipe } from './line-pipe'
import { closeQuietly, writerPipe } from './output-pipes'
import { ownerMarker } from './ownership'
import { readStat } from './procfs'
import { bunWaitsFor } from './reaper'
import { SELF_EXECUTABLE } from './self-exec'

/** A keeper that ended is started again, but not more often than this: one that cannot run must not spin. */
const RESTART_MS = 1000
/**
 * Lines written that the keeper has not read (it is stopped, `kill -STOP`): past this it is
 * replaced, the new one told the live groups afresh, rather than the lines held without bound.
 */
const MAX_UNREAD = 64 * 1024
/**
 * How long after a line is sent the keeper's state is looked at once (/proc: `T`, stopped). A
 * command that SIGSTOPs it was found only by MAX_UNREAD, ~8,000 commands later, and a SIGKILL of
 * execd meanwhile left all it ran. One look per window of lines, none while no line is sent:
 * nothing is woken per command (and a keeper that reads nothing is already replaced at MAX_UNREAD).
 */
const STOPPED_LOOK_MS = 2000
/** The longest dir path told to the keeper (core/keeper-main.ts reads lines of at most 4 KiB). */
const MAX_DIR_BYTES = 4000

interface Keeping {
  /** The groups whose leaders run now (told to a new keeper). */
  live: () => Iterable<number>
  log?: Logger
}

let keeping: Keeping | undefined
type Keeper = Subprocess<'pipe' | number, 'ignore', 'ignore'>
let keeper: Keeper | undefined
/** The keeper's stdin where execd made it a pipe (writerPipe); else Bun's sink is written. */
let keeperPipe: LinePipe | undefined
let startedAt = -RESTART_MS
let restartTimer: ReturnType<typeof setTimeout> | undefined
/** execd's own temp dirs that exist now (told to a new keeper): removed by the keeper once execd is dead. */
const heldDirs = new Set<string>()
/** Bytes written since a flush last left nothing waiting. */
let unread = 0
let saidRefused = false
let stoppedLook: ReturnType<typeof setTimeout> | undefined

/**
 * From now on, what spawnOwned starts is ended by a keeper if execd is killed. Only in the
 * compiled executable: run from source, /proc/self/exe is Bun and would not find the keeper's word.
 */
export function keepAfterDeath(live: () => Iterable<number>, log?: Logger): void {
  if (!Bun.main.startsWith('/$bunfs/') || process.platform !== 'linux') return
  keeping = { live, log }
}

/** A group was just spawned, its leader `pgid`. */
export function keeperWatches(pgid: number): void {
  if (keeping) send(`+${pgid}\n`)
}

/** The leader of `pgid` was reaped: its number may be another's from now on. */
export function keeperForgets(pgid: number): void {
  if (keeper) send(`-${pgid}\n`)
}

/**
 * execd made its own temp dir `path` (core/temp-dir.ts, one it alone uses and names): its keeper
 * removes it once execd is dead, rather than it waiting on tmpfs for the next execd's sweep.
 * Not a journal of entries elsewhere (the next execd's sweep reads it), nor a path a line cannot carry.
 */
export function keeperRemovesDir(path: string): void {
  if (path.includes('\n') || Buffer.byteLength(path) > MAX_DIR_BYTES || heldDirs.has(path)) return
  heldDirs.add(path)
  if (keeper) send(`d${path}\n`)
}

/** execd removed its temp dir `path` itself: its name may be another's from now on. */
export function keeperKeepsDir(path: string): void {
  if (heldDirs.delete(path) && keeper) send(`r${path}\n`)
}

function send(line: string): void {
  const proc = keeper ?? start()
  if (!proc) return
  // A pipe that refuses (EPIPE: the keeper is gone) loses nothing: its exit starts the next,
  // told the live groups afresh.
  if (keeperPipe) keeperPipe.write(line)
  else write(proc.stdin as FileSink, line)
  stoppedLook ??= lookAtKeeperLater()
}

/** Replaces the keeper if, STOPPED_LOOK_MS from now, it is stopped (it would not see execd's death). */
function lookAtKeeperLater(): ReturnType<typeof setTimeout> {
  const look = setTimeout(() => {
    stoppedLook = undefined
    if (keeper && isStopped(keeper.pid)) replace('it is stopped (SIGSTOP): it would not end what execd ran')
  }, STOPPED_LOOK_MS)
  look.unref?.()
  return look
}

/** `T` (stopped by a signal) or `t` (by a tracer); a keeper gone or unreadable is not (its exit replaces it). */
function isStopped(pid: number): boolean {
  const state = readStat(pid)?.state
  return state === 'T' || state === 't'
}

function write(sink: FileSink, text: string): void {
  try {
    sink.write(text)
    const flushed = sink.flush()
    if (typeof flushed === 'number') return void (unread = 0)
    unread += text.length
    void flushed.then(
      () => void (unread = 0),
      () => {},
    )
    if (unread > MAX_UNREAD) replace('it read nothing of the last 64 KiB it was sent')
  } catch {
    // The pipe broke: the keeper is gone, and its exit starts the next.
  }
}

function start(): Keeper | undefined {
  if (!keeping || keeper || restartTimer) return keeper
  const wait = startedAt + RESTART_MS - performance.now()
  if (wait > 0) {
    restartTimer = setTimeout(() => {
      restartTimer = undefined
      start()
    }, wait)
    restartTimer.unref?.()
    return undefined
  }
  startedAt = performance.now()
  let proc: Keeper
  const pipe = writerPipe()
  try {
    // Its own session (no group kill of a command reaches it), an empty environment (no token,
    // nothing of the user's), `/` for its directory (it keeps no mount busy).
    // fd 3: a socket of which execd holds the other end (close-on-exec: no other child of
    // execd's holds it) and never writes: its EOF tells the keeper of execd's death at once,
    // while it reads the lines of its stdin at most twice a second (core/keeper-main.ts).
    proc = Bun.spawn([SELF_EXECUTABLE, KEEPER_WORD], {
      stdio: [pipe ? pipe[0] : 'pipe', 'ignore', 'ignore', 'pipe'],
      env: {},
      cwd: '/',
      detached: true,
    }) as unknown as Keeper
  } catch (err) {
    if (pipe) pipe.forEach(closeQuietly)
    if (!saidRefused)
      keeping.log?.warn('cannot start the keeper: what execd runs would outlive a SIGKILL of execd', {
        error: (err as Error).message,
      })
    saidRefused = true
    return undefined
  }
  saidRefused = false
  // The keeper has the read end now: held here too, the pipe would never reach EOF.
  if (pipe) closeQuietly(pipe[0])
  // The keeper never keeps execd running; nor does the reaper take its status from Bun.
  proc.unref()
  if (!pipe) (proc.stdin as FileSink).unref()
  bunWaitsFor(proc, false)
  keeper = proc
  // Past its 64 KiB (8,192 lines; the keeper reads twice a second) and MAX_UNREAD more held here,
  // it is not reading.
  keeperPipe = pipe
    ? new LinePipe(pipe[1], MAX_UNREAD, () => replace('it read nothing of the last 64 KiB it was sent'))
    : undefined
  unread = 0
  let told = `m${ownerMarker()}\n`
  for (const pgid of keeping.live()) told += `+${pgid}\n`
  for (const path of heldDirs) told += `d${path}\n`
  send(told)
  // Bun hands execd's end over as a number and never closes it: each keeper's goes with it.
  const deathEnd = (proc as { stdio?: unknown[] }).stdio?.[3]
  void proc.exited.then(() => {
    if (typeof deathEnd === 'number') closeQuietly(deathEnd)
    if (keeper !== proc) return
    keeper = undefined
    closeKeeperPipe()
    keeping?.log?.warn('the keeper of owned processes ended; starting another', {
      pid: proc.pid,
      code: proc.exitCode,
      signal: proc.signalCode,
    })
    start()
  })
  return proc
}

/**
 * execd is exiting and has ended what it owned: the keeper has nothing left to do. Ended now, not
 * at the EOF it would read up to READ_PAUSE_MS late (core/keeper-main.ts), so nothing of execd's
 * outlives its exit: a cgroup made for execd empties with it, a container's last process is gone.
 */
export function endKeeper(): void {
  const old = keeper
  keeper = undefined
  keeping = undefined
  clearTimeout(stoppedLook)
  stoppedLook = undefined
  try {
    old?.kill('SIGKILL')
  } catch {}
  closeKeeperPipe()
}

/** Kills a keeper that stopped reading and starts another at once (or after RESTART_MS). */
function replace(why: string): void {
  const old = keeper
  if (!old) return
  keeper = undefined
  keeping?.log?.warn('replacing the keeper of owned processes', { pid: old.pid, why })
  // SIGKILL before its pipe is closed, so it cannot act on the EOF: the next one holds the list.
  old.kill('SIGKILL')
  closeKeeperPipe()
  start()
}

function closeKeeperPipe(): void {
  keeperPipe?.close()
  keeperPipe = undefined
}
