/**
 * The layout rule of module-level state (STYLE.md, plugins/README.md): a section or runtime keeps
 * its state in its instance, and what a module of plugins/ or core/ holds for the whole process is
 * listed here with why (core/layout.test.ts has the rest of the layout rules).
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const top = join(import.meta.dir, '..')
const filesIn = (dir: string) => [...new Bun.Glob(`${dir}/**/*.ts`).scanSync({ cwd: top })]

// Mutable at module level: a let or var, or a const that starts as an empty collection to fill.
const MUTABLE =
  /^(export\s+)?((let|var)\s|const\s+\w+(\s*:[^=]+)?\s*=\s*(\[\]|new\s+(Map|Set|WeakMap|WeakSet)\b(<.*>)?\(\)))/
// Or an instance made at load, a singleton (a pool, a budget, a memo), but of a class of values (a
// registry key, a coder, a typed array).
const SINGLETON =
  /^(export\s+)?const\s+\w+(\s*:[^=]+)?\s*=\s*new\s+(?!(ServiceKey|TextEncoder|TextDecoder|Map|Set|WeakMap|WeakSet|\w+Array|Error|RegExp|DataView|ArrayBuffer)\b)[A-Z]\w*\b/

test('no module-level mutable state in plugins/*/index.ts: a section or runtime keeps its state in its instance', () => {
  expect(MUTABLE.test('let n = 0')).toBe(true)
  expect(MUTABLE.test('const seen = new Map<string, number>()')).toBe(true)
  expect(MUTABLE.test("const WORDS = new Set(['a'])")).toBe(false)
  const offending = [...new Bun.Glob('plugins/*/index.ts').scanSync({ cwd: top })].flatMap(f =>
    readFileSync(join(top, f), 'utf8')
      .split('\n')
      .flatMap((line, i) => (MUTABLE.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
  )
  expect(offending).toEqual([])
})

/**
 * Module-level mutable state anywhere in a plugin's or core's production code, each with why it is
 * not the opened section's (or the app's): two apps in one process (the in-process tests, `execd exec` beside a served
 * section) share it. A new one fails here until it moves into the instance or is listed with its
 * reason. Stop 51 moved --root out of core/workdir.ts into each section's instance on this account.
 */
const PROCESS_WIDE: Record<string, string> = {
  // The javascript driver: run inside each context's interpreter child, one per context, not in execd.
  'plugins/javascript/driver.ts': 'interruptRunning cellNumber queue ourRequire ourRequireCwd output channel',
  'plugins/javascript/driver-cell.ts': 'repl plain kept reusable keptChars',
  'plugins/javascript/driver-settle.ts': 'failSettle failedBefore channel',
  'plugins/javascript/driver-scope.ts': 'scopes running thrown',
  // A runtime's listed object is its template: each app opens its own (Runtime.open).
  'plugins/python/index.ts': 'python',
  'plugins/sql/index.ts': 'sql',
  'plugins/jupyter/index.ts': 'jupyter',
  // The request's session, in its own async context.
  'plugins/isolated/files-routes.ts': 'current',
  // Keyed by the session it describes, which is the instance's.
  'plugins/pty/socket.ts': 'claims',
  // Memos of the machine or of a path, the same for every app: a shell on PATH, statx through
  // libc, a formatted second, a JDK's compiled helper, a jar made, a Go toolchain probed and built.
  'plugins/command/run.ts': 'shell',
  'plugins/files/stat-at.ts': 'statx',
  'plugins/files/fileinfo.ts': 'SECONDS',
  'plugins/java/jdk.ts': 'compiled',
  'plugins/java/archive.ts': 'made dropped',
  'plugins/go/toolchain.ts': 'probed built',
  // A driver's files, put on disk once for every child that runs them.
  'plugins/javascript/driver-files.ts': 'files',
  'plugins/sql/child.ts': 'files',
  // Shares of what the process has one of: its fd table (every upload's staged directories,
  // whichever app), its memory (every upload's metadata parts waiting), the disk a slow write
  // was seen on.
  'plugins/files/ops/upload.ts': 'fdBudget fdsHeld holders',
  'plugins/files/ops/pending-metadata.ts': 'allBytes',
  'plugins/files/atomic.ts': 'directPausedUntil',

  // core/ (stop 52): what a module of core holds is shared by every app of the process, so each is
  // one of the process's by nature, or a cache of values that are the same whichever app asks.
  // FFI handles and memos of the machine, found once: libc symbols, /proc fds, PATH, passwd, cgroups.
  'core/libc.ts': 'found',
  'core/fifo.ts': 'mknodat',
  'core/renameat2.ts': 'libc',
  'core/beneath/dir-read.ts': 'calls',
  'core/output-pipes.ts': 'libc raised',
  'core/connection-fd.ts': 'lib known passes running',
  'core/poll.ts': 'libc',
  'core/boot-clock.ts': 'reader',
  'core/sched-clock.ts': 'hasSchedstat lastRunnable',
  'core/procfs.ts': 'uptimeFd keptFds looked missing',
  'core/capabilities.ts': 'found',
  'core/accounts.ts': 'tables',
  'core/live-bash/fifo-dir.ts': 'memoryRoot',
  'core/child-env.ts': 'kept',
  'core/errors.ts': 'openFilesLimit',
  'core/oom-adj.ts': 'childValue',
  'core/downloads.ts': 'stallRule',
  // The staging journal of the process's TMPDIR: each app that stages opens it, the last close ends it.
  'core/beneath/staging.ts': 'stagedEntries',
  // The process's children, their groups and markers, and what it removes at exit: one table per
  // process, whichever app spawned (an app's close kills its own through its sections); the kill
  // grace is --shutdown-grace, which `serve` sets for the process it is.
  'core/process.ts': 'leaders defaultGraceMs refusingSpawns sweptAtShutdown',
  'core/owned-set.ts': 'owned lingering exitedOwners settleTimer',
  'core/reaper.ts': 'adopting bunsChildren bunsLive afterReap',
  // The one keeper of the process's children, which ends them if the process is SIGKILLed.
  'core/keeper.ts': 'keeping keeper keeperPipe heldDirs startedAt restartTimer unread saidRefused stoppedLook',
  'core/ownership.ts': 'seq',
  'core/exit-removals.ts': 'removals hooked',
  'core/temp-dir.ts': 'sweeps',
  'core/secrets.ts': 'pending',
  // The process's cgroups, memory reserve and OOM counts.
  'core/cgroup-confinement.ts': 'tree pending refusals',
  'core/memory-reserve.ts': 'reserve shells',
  'core/reserve-gate.ts': 'gate',
  'core/oom.ts': 'cgroups children countFiles recent',
  // Timers shared by period or deadline, one per process as a timer is: the wakeups are the point.
  'core/shared-interval.ts': 'byPeriod',
  // Every app's guarded answers, looked at on that one timer (each guard knows its own app's pools).
  'core/send-stall.ts': 'guards unlook',
  'core/deadline-queue.ts': 'queues',
  'core/awake-clock.ts': 'made ticker tickerMs',
  'core/answering.ts': 'received watched sweeper',
  'core/proc-scan.ts': 'shared',
  // Keyed by what they describe (a request, a walk, a path of the one file system), and the one
  // log's throttle of the refusals those requests repeat.
  'core/host-target.ts': 'lastTaken handed',
  'core/mount.ts': 'heads refusals',
  'core/beneath/walk.ts': 'failures',
  'core/beneath/made-dirs.ts': 'inFlight',
  // Caches of formatted bytes, the same for every app, and the heap's collection pace (one heap).
  'core/events.ts': 'lastTails TYPE_HEADS KEY_JSON lastStamp',
  'core/sse-batch.ts': 'heads lastTail lastTailBytes scratch streamedSinceGc',
  'core/output-frames.ts': 'tailAt tailBytes between',
  'core/random.ts': 'hexes next',
  // A template every SSE answer's headers are copied from (Bun copies a Headers it is given); never set.
  'core/sse.ts': 'SSE_HEADERS',
  // Budgets of what the process has one of: its memory and disk for answers being sent, the event
  // loop's turns.
  'core/file-body.ts': 'memory disk',
  // Large values' spilled files in TMPDIR, all apps' together, the closer of each, and the timer
  // giving up ended executions' ones (one for the kept list it walks).
  'core/spilled-bytes.ts': 'held heldMax closer kept expiry',
  'core/socket-body.ts': 'pool',
  'core/fair.ts': 'sseTurns',
}

test("module-level mutable state in plugins/ and core/ is only what is listed as the process's, with its reason", () => {
  expect(SINGLETON.test('const built = new CachedBuilds<string>(binary => existsSync(binary))')).toBe(true)
  expect(SINGLETON.test("export const INTERRUPTS = new ServiceKey<InterruptHub>('interrupts')")).toBe(false)
  expect(SINGLETON.test('const encoder = new TextEncoder()')).toBe(false)
  const production = [...filesIn('plugins'), ...filesIn('core')].filter(
    f => !f.endsWith('.test.ts') && !/\/test-[^/]+\.ts$/.test(f),
  )
  const found = production.flatMap(f =>
    readFileSync(join(top, f), 'utf8')
      .split('\n')
      .filter(line => MUTABLE.test(line) || SINGLETON.test(line))
      .map(line => `${f} ${/^(?:export\s+)?(?:let|var|const)\s+(\w+)/.exec(line)?.[1]}`),
  )
  const listed = Object.entries(PROCESS_WIDE).flatMap(([f, names]) => names.split(' ').map(n => `${f} ${n}`))
  expect(found.filter(f => !listed.includes(f))).toEqual([])
  // Nothing listed that is gone: the list stays what the code holds.
  expect(listed.filter(l => !found.includes(l))).toEqual([])
})
