/**
 * execd at the limit of processes (a pids cgroup's `pids.max`, RLIMIT_NPROC): a thread is a
 * task like a process, so a command that forks until EAGAIN (a fork bomb, or just many
 * processes) leaves execd unable to start a thread. Bun survives that for the threads it keeps
 * (its work pool and HTTP client thread start early and never exit), but JavaScriptCore starts
 * some of its own on demand and lets them exit when idle: the JIT's compiler threads, the
 * parallel GC markers and the concurrent collector. Starting one at the limit fails a release
 * assertion, and Bun aborts ("panic(main thread): abort() called", within a minute of the
 * limit being reached here, measured with Bun 1.4.5; oven-sh/bun#36985, #39864): the daemon
 * died and every child it ran was orphaned.
 *
 * What execd does about it: where a limit on processes applies to it (a finite `pids.max` of
 * its cgroup or one above it, or RLIMIT_NPROC when not root), `serve` runs with those three off
 * (JSC options are read from the environment when the runtime starts, so the first start runs
 * itself again, as the same process, with them set): JIT compiles and collections run on the
 * main thread, and execd needs no thread it does not already have. The variables it added are
 * taken out of `process.env` again, so children get the environment execd was given. Without
 * such a limit the run again is not made: it costs a second runtime start (~20 ms to the first
 * `/ping`), and what is left to run out of then is the whole machine's.
 */
import { cgroupDirs } from './cgroup-dirs'

/** The JavaScriptCore options that leave no thread to be started on demand. */
const NO_ON_DEMAND_THREADS: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: '0',
  BUN_JSC_useConcurrentGC: '0',
  BUN_JSC_numberOfGCMarkers: '1',
}

/** Set on the run again: the names of the variables the first start added. */
const ADDED = 'EXECD_JSC_ADDED'

/**
 * For `serve`, before anything else: where a limit on processes applies (above), runs
 * `runWithoutOnDemandThreads`; on the run again, only takes out what the first start added.
 */
export async function settleThreads(env: Record<string, string | undefined> = process.env): Promise<void> {
  if (env[ADDED] !== undefined || Object.keys(NO_ON_DEMAND_THREADS).every(name => env[name] !== undefined))
    return runWithoutOnDemandThreads(env)
  if (await underProcessLimit()) runWithoutOnDemandThreads(env)
}

/** The pids.max of each hierarchy's root as cgroupDirs names them (v1's pids, v2's, a hybrid's v2). */
const ROOT_PIDS_MAX = ['/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/unified/pids.max']

/**
 * Whether a limit on processes applies to this process: a `pids.max` other than `max` on its
 * cgroup or an ancestor (cgroup v2, or v1's pids hierarchy), or a finite RLIMIT_NPROC for a user
 * it binds (not root). Read with Bun.file, asynchronously: node:fs stays unloaded at start.
 */
export async function underProcessLimit(): Promise<boolean> {
  const read = (path: string) =>
    Bun.file(path)
      .text()
      .catch(() => '')
  // A container's cgroup is the root of its namespace (`0::/`, `N:pids:/`): the pids.max files
  // of those roots (and a user's limits) are read beside /proc/self/cgroup, not after it, so
  // such a start waits on Bun's pool once, not two or three times, before it loads anything else.
  const early = new Map(ROOT_PIDS_MAX.map(path => [path, read(path)]))
  const userLimits = process.getuid?.() === 0 ? undefined : read('/proc/self/limits')
  const files = cgroupDirs(await read('/proc/self/cgroup'), 'pids', { ancestors: true }).map(d => `${d.dir}/pids.max`)
  const limits = await Promise.all(files.map(path => early.get(path) ?? read(path)))
  if (limits.some(text => /^\d+$/.test(text.trim()))) return true
  if (!userLimits) return false
  const nproc = /^Max processes\s+(\S+)/m.exec(await userLimits)?.[1]
  return nproc !== undefined && nproc !== 'unlimited'
}

/**
 * For `serve`, before anything else: runs this executable again in this process (execve: the
 * same pid, argv and environment) with NO_ON_DEMAND_THREADS set where the environment does not
 * say otherwise; does not return then. Returns at once if they are set (a variable the operator
 * set is kept), and if the run again failed (then the threads stay on demand, as before).
 */
function runWithoutOnDemandThreads(env: Record<string, string | undefined> = process.env): void {
  const added = env[ADDED]
  if (added !== undefined) {
    for (const name of added.split(',')) delete env[name]
    delete env[ADDED]
    return
  }
  const missing = Object.keys(NO_ON_DEMAND_THREADS).filter(name => env[name] === undefined)
  if (missing.length === 0) return
  const next: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v
  for (const name of missing) next[name] = NO_ON_DEMAND_THREADS[name]!
  next[ADDED] = missing.join(',')
  // process.argv is [runtime, embedded script, ...words]: the compiled executable adds its own
  // options to the words again when it starts.
  const argv = [process.argv0, ...process.argv.slice(2)]
  // By its path first: the process's name (comm, what ps and pgrep show) is the file's name.
  for (const file of [process.execPath, '/proc/self/exe']) {
    try {
      process.execve?.(file, argv, next)
    } catch {
      // Replaced or removed since it started, no /proc, noexec: the next, or run on as before.
    }
  }
}
