/**
 * The README's configuration table against the options the code declares, both ways, and the
 * `EXECD_*` variables the code reads against those the README names: 45 stops of edits had
 * left the two to agree by care alone (spec/cli.test.ts checks only that each flag is named).
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { allOptions } from './options'

const top = join(import.meta.dir, '..')
const readme = readFileSync(join(top, 'README.md'), 'utf8')

/** `| \`--flag\` | \`ENV\` | default | meaning |` rows of the Configuration table. */
const rows = new Map(
  [...readme.matchAll(/^\| `--([a-z0-9-]+)` \| `([A-Z0-9_]+)` \| ([^|]+) \|/gm)].map(([, flag, env, def]) => [
    flag!,
    { env: env!, def: def!.trim() },
  ]),
)

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, s: 1000, min: 60_000 }

/**
 * The number a table cell says, in the option's own unit: a literal (`60000`) as written, a
 * size (16 MiB) in bytes, a duration (30 min) in ms, or in seconds for an `_SECONDS` variable.
 */
function cellValue(cell: string, env: string): string | undefined {
  const literal = /^`([^`]+)`/.exec(cell)
  if (literal) return literal[1]
  const unit = /^(\d+) (KiB|MiB|GiB|s|min)$/.exec(cell)
  if (!unit) return undefined
  const value = Number(unit[1]) * UNITS[unit[2]!]!
  const seconds = env.endsWith('_SECONDS') && (unit[2] === 's' || unit[2] === 'min')
  return String(seconds ? value / 1000 : value)
}

test('every option has its row, with its variable and its default', () => {
  const wrong = allOptions.flatMap(o => {
    const row = rows.get(o.flag)
    if (!row) return [`--${o.flag}: no row`]
    if (row.env !== o.env) return [`--${o.flag}: README says ${row.env}, the code reads ${o.env}`]
    const said = cellValue(row.def, row.env)
    // An option with no declared default says what stands in (none, off, a computed value).
    if (o.default === undefined)
      return /^`[^`]*`$/.test(row.def) ? [`--${o.flag}: README's default ${said}, none declared`] : []
    return said === o.default ? [] : [`--${o.flag}: README's default "${row.def}", the code's ${o.default}`]
  })
  expect(wrong).toEqual([])
})

test('every row is an option the code declares', () => {
  expect([...rows.keys()].filter(flag => !allOptions.some(o => o.flag === flag))).toEqual([])
})

/** Read by execd between its own parts, never set by a user: no README line owes them a word. */
const INTERNAL = new Set([
  'EXECD_BUILD_VERSION', // --define at build time (Makefile, scripts/release.mjs)
  'EXECD_BUILD_COMMIT', // the same
  'EXECD_JSC_ADDED', // serve's re-exec marker (core/threads.ts), withheld from children
  'EXECD_JS_LANGUAGE', // execd → its javascript interpreter, deleted as the driver starts
  'EXECD_JS_DOM', // the same
])

const namesIn = (text: string) => new Set([...text.matchAll(/\bEXECD_[A-Z0-9_]*[A-Z0-9]\b/g)].map(([name]) => name))
const namesInFiles = (dirs: string[], skip: (path: string) => boolean) =>
  new Set(
    dirs.flatMap(dir =>
      [...new Bun.Glob(`${dir}/**/*`).scanSync({ cwd: top })]
        .filter(path => !skip(path))
        .flatMap(path => [...namesIn(readFileSync(join(top, path), 'utf8'))]),
    ),
  )

test('every EXECD_ variable execd reads is in the README, and the README names no other', () => {
  const read = namesInFiles(['cmd', 'core', 'plugins'], path => path.endsWith('.test.ts'))
  expect([...read].filter(name => !INTERNAL.has(name) && !namesIn(readme).has(name)).sort()).toEqual([])
  // The README also names the tests' own variables (EXECD_BIG_TESTS, EXECD_MINBASE, …).
  const known = new Set([...read, ...namesInFiles(['spec', 'scripts', 'bench'], () => false)])
  for (const name of namesIn(readFileSync(join(top, 'Makefile'), 'utf8'))) known.add(name)
  expect([...namesIn(readme)].filter(name => !known.has(name)).sort()).toEqual([])
})

/** The README's `## Command line` summary block. */
const summary = /## Command line\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''

test('the command-line summary names every verb and every fs operation', async () => {
  // Read as text: importing cli.ts builds the whole CLI. Each verb is `.command('<verb> …'`.
  const cli = readFileSync(join(import.meta.dir, 'cli.ts'), 'utf8')
  const verbs = [...cli.matchAll(/\.command\('([a-z]+)/g)].map(([, verb]) => verb!)
  expect(verbs.length).toBeGreaterThan(5)
  expect(verbs.filter(verb => !summary.includes(`execd ${verb} `))).toEqual([])
  const { OPS } = await import('./fs-verbs')
  const listed = /file operations: ([a-z ]+)/.exec(summary)?.[1]?.split(' ') ?? []
  expect(listed.sort()).toEqual(OPS.map(op => op.name).sort())
})

test("'What it is' names every language runtime", async () => {
  // Go contexts had shipped long before this paragraph named them.
  const { runtimes } = await import('../plugins')
  // The list in parentheses: the paragraph also says OpenSandbox's Go execd.
  const what = /## What it is\n\n[^(]*stateful contexts \(([^)]*)\)/.exec(readme)?.[1]?.toLowerCase() ?? ''
  const names = runtimes.map(r => (r.name === 'jupyter' ? 'jupyter kernel' : r.name))
  expect(names.length).toBeGreaterThan(5)
  expect(names.filter(name => !new RegExp(`\\b${name}\\b`).test(what))).toEqual([])
})
