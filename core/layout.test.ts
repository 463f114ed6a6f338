/**
 * The layout rules of STYLE.md and plugins/README.md, checked: what imports what, the shape of a
 * section folder, how sections reach each other (core/layout-state.test.ts: where module-level
 * state may live; core/layout-start.test.ts: what a start evaluates).
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
