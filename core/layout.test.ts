/**
 * The layout rules of STYLE.md and plugins/README.md, checked: what imports what, the shape of a
 * section folder, how sections reach each other.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const top = join(import.meta.dir, '..')
const importsOf = (file: string) =>
  [...readFileSync(join(top, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].flatMap(([, path]) =>
    path === undefined ? [] : [path],
  )
const filesIn = (dir: string) => [...new Bun.Glob(`${dir}/**/*.ts`).scanSync({ cwd: top })]

test('core/ imports neither plugins/ nor cmd/', () => {
  const offending = filesIn('core').flatMap(f =>
    importsOf(f)
      .filter(i => /(^|\/)(plugins|cmd)(\/|$)/.test(i))
      .map(i => `${f} → ${i}`),
  )
  expect(offending).toEqual([])
})

test('plugins/ never import cmd/', () => {
  const offending = filesIn('plugins').flatMap(f =>
    importsOf(f)
      .filter(i => /(^|\/)cmd(\/|$)/.test(i))
      .map(i => `${f} → ${i}`),
  )
  expect(offending).toEqual([])
})

/**
 * One way to reach the C library: core/libc.ts's libcSymbols (glibc's soname or the mapped musl,
 * the platform check, the lazy bun:ffi, null where it cannot be had). Five modules each opened it
 * themselves until stop 51, each with its own platform check, fallback and cache.
 */
test('nothing in core/, plugins/ or cmd/ but core/libc.ts calls dlopen', () => {
  const offending = [...filesIn('core'), ...filesIn('plugins'), ...filesIn('cmd')]
    .filter(f => f !== 'core/libc.ts' && !f.endsWith('.test.ts'))
    .flatMap(f => (/\bdlopen\s*[(,}]/.test(readFileSync(join(top, f), 'utf8')) ? [f] : []))
  expect(offending).toEqual([])
})

// Read as text, not imported: core/ never imports plugins/ (the first test checks this file too).
const sectionNames = (() => {
  const list = /export const plugins[^=]*=\s*\[([^\]]*)\]/.exec(readFileSync(join(top, 'plugins/index.ts'), 'utf8'))
  return (list?.[1] ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
})()
const exists = (path: string) => Bun.file(join(top, path)).size > 0 || filesIn(path).length > 0

test('every section folder has index.ts, schema.ts, routes.ts and ops.ts (or ops/)', () => {
  expect(sectionNames.length).toBeGreaterThan(0)
  const missing = sectionNames.flatMap(name =>
    [['index.ts'], ['schema.ts'], ['routes.ts'], ['ops.ts', 'ops']]
      .filter(alternatives => !alternatives.some(f => exists(`plugins/${name}/${f}`)))
      .map(alternatives => `plugins/${name}/${alternatives.join(' or ')}`),
  )
  expect(missing).toEqual([])
})

// What a module exports by name: declarations of every kind, and `export { … }` lists.
const exportsOf = (text: string) => [
  ...[
    ...text.matchAll(
      /^export\s+(?:default\s+)?(?:declare\s+)?(?:async\s+)?(?:const|let|var|function\*?|class|enum|type|interface)\s+(\w+)/gm,
    ),
  ].map(([, n]) => n!),
  ...[...text.matchAll(/^export\s*(?:type\s*)?\{([^}]*)\}/gm)]
    .flatMap(([, names]) => names!.split(','))
    .map(n =>
      n
        .trim()
        .split(/\s+as\s+/)
        .pop()!,
    )
    .filter(Boolean),
]

test("a section's index.ts exports its Section object alone (its settings, options and CLI helpers stay behind it)", () => {
  expect(exportsOf('export async function isolationHere() {}\nexport { a, b as c }')).toEqual([
    'isolationHere',
    'a',
    'c',
  ])
  const offending = sectionNames.flatMap(name =>
    exportsOf(readFileSync(join(top, `plugins/${name}/index.ts`), 'utf8')).flatMap(exported =>
      exported === name ? [] : [`plugins/${name}/index.ts exports ${exported}`],
    ),
  )
  expect(offending).toEqual([])
})

/**
 * One way to build a section's routes: its index.ts hands `ops` (and what of the context they
 * need) to `<name>Routes` of its routes.ts, which composes whatever the section serves. The
 * isolated section's index.ts assembled its two Elysia instances itself until stop 52.
 */
test("a section's routes are its routes.ts's `<name>Routes`, loaded when built: its index.ts holds no Elysia", () => {
  const offending = sectionNames.flatMap(name => {
    const text = readFileSync(join(top, `plugins/${name}/index.ts`), 'utf8')
    const routes = new RegExp(`\\broutes: async \\(\\) => \\(await import\\('\\./routes'\\)\\)\\.${name}Routes\\(`)
    return [
      ...(routes.test(text)
        ? []
        : [`plugins/${name}/index.ts: routes is not (await import('./routes')).${name}Routes(…)`]),
      ...(/new Elysia\b|import\('elysia'\)/.test(text) ? [`plugins/${name}/index.ts: builds an Elysia`] : []),
    ]
  })
  expect(offending).toEqual([])
})

/**
 * One name per section across folder, URL prefix and OpenAPI tag: every Elysia instance of a
 * section's routes is named `api/<name>` (or `api/<name>-<part>`) and tags its routes `<name>`
 * (a route may add its own, as the files section's `directories`: that name is on the wire).
 */
test("a section's Elysia instances are named api/<name> and tagged <name>", () => {
  const named = sectionNames.flatMap(name =>
    filesIn(`plugins/${name}`).filter(f => /new Elysia\(\{ name: 'api\//.test(readFileSync(join(top, f), 'utf8'))),
  )
  expect(named.length).toBeGreaterThan(sectionNames.length)
  const offending = sectionNames.flatMap(name =>
    filesIn(`plugins/${name}`)
      .filter(f => !f.endsWith('.test.ts'))
      .flatMap(f =>
        [...readFileSync(join(top, f), 'utf8').matchAll(/new Elysia\(\{ name: '(api\/[^']*)'([^\n]*)/g)].flatMap(
          ([, named, rest]) =>
            new RegExp(`^api/${name}(-[a-z]+)?$`).test(named!) && rest!.includes(`detail: { tags: ['${name}'] }`)
              ? []
              : [`${f}: ${named}${rest}`],
        ),
      ),
  )
  expect(offending).toEqual([])
})

test("a section's routes.ts builds no TypeBox model of a request: its schema.ts holds them", () => {
  const offending = sectionNames.flatMap(name =>
    [...readFileSync(join(top, `plugins/${name}/routes.ts`), 'utf8').matchAll(/\bt\.(Object|Record)\(/g)].map(
      ([, kind]) => `plugins/${name}/routes.ts builds a t.${kind}`,
    ),
  )
  expect(offending).toEqual([])
})

test("an opened section's pools and end are its operations' own: `held: () => ops.held()`, `close: () => ops.close()`", () => {
  // The section's index.ts names no part of its operations (a store, a pool): a CLI verb's opened
  // section and a server's report and end the same things. Each property is read up to its end
  // (a comma, a brace, the line's end), for a section opened in one line too.
  const own = (text: string) =>
    [...text.matchAll(/\b(held|close): ([^,}\n]*)/g)].flatMap(([, key, value]) =>
      value?.trim() === `() => ops.${key}()` ? [] : [`${key}: ${value?.trim()}`],
    )
  expect(own('      held: () => [ops.store.held()],\n      close: () => ops.close(),')).toEqual([
    'held: () => [ops.store.held()]',
  ])
  expect(own('return { ops, held: () => [uploadsHeld(), ops.walks.pool.held()] }')).toEqual([
    'held: () => [uploadsHeld()',
  ])
  expect(own('return { ops, routes, held: () => ops.held() }')).toEqual([])
  const offending = sectionNames.flatMap(name =>
    own(readFileSync(join(top, `plugins/${name}/index.ts`), 'utf8')).map(o => `plugins/${name}/index.ts ${o}`),
  )
  expect(offending).toEqual([])
})

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
  'plugins/javascript/driver.ts': 'interruptRunning cellNumber queue ourRequire ourRequireCwd',
  'plugins/javascript/driver-cell.ts': 'repl plain kept reusable keptChars',
  'plugins/javascript/driver-settle.ts': 'failSettle failedBefore',
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
  'core/ownership.ts': 'seq',
  'core/exit-removals.ts': 'removals hooked',
  'core/temp-dir.ts': 'sweeps',
  'core/secrets.ts': 'pending',
  // The process's cgroups, memory reserve and OOM counts.
  'core/cgroup-confinement.ts': 'tree pending refusals',
  'core/memory-reserve.ts': 'reserve shells',
  'core/reserve-gate.ts': 'gate',
  'core/oom.ts': 'cgroups children recent',
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
  // Budgets of what the process has one of: its memory and disk for answers being sent, the event
  // loop's turns.
  'core/file-body.ts': 'memory disk',
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

test("a plugin reaches another plugin's folder only through its contract.ts (tests excepted)", () => {
  const offending = filesIn('plugins')
    .filter(f => !f.endsWith('.test.ts') && f.split('/').length > 2)
    .flatMap(f =>
      importsOf(f)
        .filter(i => i.startsWith('.'))
        .map(i => relative(top, join(top, dirname(f), i)).split('/'))
        .filter(
          ([root, name, ...rest]) => root === 'plugins' && name !== f.split('/')[1] && rest.join('/') !== 'contract',
        )
        .map(target => `${f} → ${target.join('/')}`),
    )
  expect(offending).toEqual([])
})

test("a contract.ts hands out no settings reader: a section's settings are read by it and offered opened, in the registry", () => {
  const contracts = [...new Bun.Glob('plugins/*/contract.ts').scanSync({ cwd: top })]
  expect(contracts.length).toBeGreaterThan(1)
  const offending = contracts.flatMap(f =>
    [...readFileSync(join(top, f), 'utf8').matchAll(/export\s*\{([^}]*)\}/g)].flatMap(([, names]) =>
      (names ?? '')
        .split(',')
        .map(n => n.trim())
        .filter(n => /^[a-z]\w*Settings$/.test(n))
        .map(n => `${f} exports ${n}`),
    ),
  )
  expect(offending).toEqual([])
})

// Static imports only (`import … from '…'`, not `import('…')`): what a section's index.ts loads
// with it is loaded before execd listens (core/app.ts builds routes after).
const staticImportsOf = (file: string) =>
  [...readFileSync(join(top, file), 'utf8').matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)].flatMap(
    ([, path]) => (path === undefined ? [] : [path]),
  )

test("a section's index.ts loads its routes, their schemas and Elysia only when they are built", () => {
  expect(staticImportsOf('plugins/files/index.ts')).toContain('./options')
  const offending = sectionNames.flatMap(name =>
    staticImportsOf(`plugins/${name}/index.ts`)
      .filter(i => i === 'elysia' || /(^|\/)(routes|files-routes|schema)$/.test(i))
      .map(i => `plugins/${name}/index.ts → ${i}`),
  )
  expect(offending).toEqual([])
})

test('a section that opens after listening loads its operations then, not with its index.ts', () => {
  const late = sectionNames.filter(name =>
    /^\s*opensLate: true,/m.test(readFileSync(join(top, `plugins/${name}/index.ts`), 'utf8')),
  )
  expect(late.length).toBeGreaterThan(0)
  const offending = late.flatMap(name =>
    staticImportsOf(`plugins/${name}/index.ts`)
      .filter(i => /^\.\/ops($|\/)/.test(i))
      .map(i => `plugins/${name}/index.ts → ${i}`),
  )
  expect(offending).toEqual([])
})

test("a plugin's options.ts imports nothing but core/config and its constant defaults", () => {
  const options = [...new Bun.Glob('plugins/*/options.ts').scanSync({ cwd: top })]
  expect(options.length).toBeGreaterThan(5)
  const allowed = (i: string) => i === '../../core/config' || i === './defaults'
  const offending = options.flatMap(f =>
    importsOf(f)
      .filter(i => !allowed(i))
      .map(i => `${f} → ${i}`),
  )
  // A defaults file is constants: it imports nothing at all.
  const defaults = options.flatMap(f => (importsOf(f).includes('./defaults') ? [join(dirname(f), 'defaults.ts')] : []))
  expect(defaults.length).toBeGreaterThan(0)
  expect([...offending, ...defaults.flatMap(f => importsOf(f).map(i => `${f} → ${i}`))]).toEqual([])
})

test('a section adds its interrupt handler in its index.ts, to the hub it requires (core/app.ts always provides one)', () => {
  const offending = filesIn('plugins')
    .filter(f => !f.endsWith('.test.ts'))
    .flatMap(f => {
      const text = readFileSync(join(top, f), 'utf8')
      return [
        ...(/registry\.get\(INTERRUPTS\)/.test(text) ? [`${f}: get(INTERRUPTS), not require`] : []),
        ...(/\bINTERRUPTS\b/.test(text) && !/^plugins\/[^/]+\/index\.ts$/.test(f) ? [`${f}: INTERRUPTS`] : []),
      ]
    })
  expect(offending).toEqual([])
})

test('every service a plugin provides in the registry is asked for by another', () => {
  const sources = [...filesIn('plugins'), ...filesIn('core'), ...filesIn('cmd')]
    .filter(f => !f.endsWith('.test.ts'))
    .map(f => readFileSync(join(top, f), 'utf8'))
  const provided = sources.flatMap(text => [...text.matchAll(/registry\.provide\((\w+)/g)].map(([, key]) => key!))
  expect(provided.length).toBeGreaterThan(0)
  const unread = provided.filter(key => !sources.some(text => new RegExp(`\\.(get|require)\\(${key}\\)`).test(text)))
  expect(unread).toEqual([])
})

test("cmd/ reaches a plugin only through its face: the section's index.ts or contract.ts, or the plugin list", () => {
  const face = /^plugins(\/(index|options)|\/[^/]+(\/(index|contract))?)?$/
  expect(face.test('plugins/files/contract')).toBe(true)
  expect(face.test('plugins/files/ops/list')).toBe(false)
  const offending = filesIn('cmd').flatMap(f =>
    importsOf(f)
      .filter(i => i.startsWith('.'))
      .map(i => relative(top, join(top, dirname(f), i)))
      .filter(target => target.startsWith('plugins') && !face.test(target))
      .map(target => `${f} → ${target}`),
  )
  expect(offending).toEqual([])
})

test("every Elysia app's errors go through core/mount.ts renderError: one answer and one log line per error, whoever serves it", () => {
  const offending = [...filesIn('core'), ...filesIn('plugins'), ...filesIn('cmd')]
    .filter(f => !f.endsWith('.test.ts'))
    .flatMap(f =>
      [...readFileSync(join(top, f), 'utf8').matchAll(/\.onError\(([^\n]*)/g)]
        .filter(([, rest]) => !/=>\s*renderError\(/.test(rest ?? ''))
        .map(([call]) => `${f}: ${call.trim()}`),
    )
  expect(offending).toEqual([])
})

/**
 * Test helpers live where the tests are: shared ones in spec/kit/, a plugin's own beside its tests
 * as `test-*.ts` (test-context.ts, test-server.ts), never in core/. The executable never loads
 * one: no other file of core/ or plugins/ imports bun:test, spec/, a test helper or a test.
 */
test('production code in core/ and plugins/ imports no test helper, and core/ holds none', () => {
  const isTest = (f: string) => /\.test\.ts$/.test(f)
  const isHelper = (f: string) => /^plugins\/[^/]+\/test-[^/]+\.ts$/.test(f)
  const testOnly = (target: string) =>
    /^spec(\/|$)/.test(target) || /(^|\/)test-[^/]+$/.test(target) || /\.test(\.ts)?$/.test(target)
  expect(testOnly('spec/kit/test-roots')).toBe(true)
  expect(testOnly('core/test-roots')).toBe(true)
  expect(testOnly('core/temp-dir')).toBe(false)
  const production = [...filesIn('core'), ...filesIn('plugins')].filter(f => !isTest(f) && !isHelper(f))
  const offending = production.flatMap(f =>
    importsOf(f)
      .map(i => (i.startsWith('.') ? relative(top, join(top, dirname(f), i)) : i))
      .filter(target => target === 'bun:test' || testOnly(target))
      .map(target => `${f} → ${target}`),
  )
  expect(offending).toEqual([])
})

test('the staging journal is opened and closed by the app that owns it (core/app.ts), never by a section', () => {
  const offending = filesIn('plugins')
    .filter(f => !f.endsWith('.test.ts'))
    .flatMap(f =>
      [...readFileSync(join(top, f), 'utf8').matchAll(/\bstagedEntries\.(open|close)\(/g)].map(
        ([call]) => `${f}: ${call}`,
      ),
    )
  expect(offending).toEqual([])
  expect(readFileSync(join(top, 'core/app.ts'), 'utf8')).toContain('stagedEntries.open()')
})

/**
 * The files section's operations of a scope (`deleteFiles(scope, …)`, `replaceInFiles(scope, …)`)
 * are called by its ops object (plugins/files/files-ops.ts), built once with the section's scope
 * and limits, and by nothing else outside ops/: `execd fs` binding one itself is how a local
 * replace came to ignore --max-replace-growth (stop 49), the limit passed by hand a second time.
 */
test("the files section's operations of a scope are bound once, in its ops object: cmd/ and its routes call that", () => {
  const scoped = filesIn('plugins/files/ops')
    .filter(f => !f.endsWith('.test.ts'))
    .flatMap(f => [
      ...readFileSync(join(top, f), 'utf8').matchAll(
        /^export (?:async )?(?:function\*?\s+(\w+)\s*\(|const (\w+) = (?:async )?\()\s*scope: PathScope\b/gm,
      ),
    ])
    .map(([, fn, arrow]) => (fn ?? arrow)!)
  expect(scoped).toContain('replaceInFiles')
  expect(scoped).toContain('listingBatches')
  const callers = [...filesIn('cmd'), ...filesIn('plugins')].filter(
    f => !f.endsWith('.test.ts') && !f.startsWith('plugins/files/ops/') && f !== 'plugins/files/files-ops.ts',
  )
  // What a file imports or re-exports by name (`import { a, b as c } from`, `const { a } = await import(`).
  const namesTaken = (text: string) =>
    [
      ...text.matchAll(/(?:(?:import|export)\s*(?:type\s*)?|const\s*)\{([^}]*)\}\s*(?:from\b|=\s*await\s+import\()/g),
    ].flatMap(([, names]) => names!.split(',').map(n => n.trim().split(/\s+/)[0]!))
  const offending = callers.flatMap(f =>
    namesTaken(readFileSync(join(top, f), 'utf8'))
      .filter(name => scoped.includes(name))
      .map(name => `${f}: ${name}`),
  )
  expect(offending).toEqual([])
})
