/**
 * The layout rules of what a start evaluates before its verb runs, checked on the bundle as the
 * Makefile splits it (core/layout.test.ts has the rest: what imports what, a section's shape).
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'

const top = join(import.meta.dir, '..')

/** The bundle as the Makefile splits it (not minified: each module's code follows a `// path` line). */
const bundled = (async () => {
  const built = await Bun.build({
    entrypoints: [join(top, 'cmd/execd.ts')],
    target: 'bun',
    format: 'esm',
    splitting: true,
    naming: { entry: '[name].[ext]', chunk: '[name]-[hash].[ext]' },
  })
  expect(built.success).toBe(true)
  const chunks = new Map<string, string>()
  for (const out of built.outputs)
    if (out.path.endsWith('.js')) chunks.set(out.path.replace(/^\.\//, ''), await out.text())
  return chunks
})()

/**
 * What a start evaluates before its verb runs: the entry's chunk, the one it goes `through` (the
 * CLI's, or serve-start's for serve's usual words) and the verb's (`serve`, `ping`…), and every
 * chunk they import statically; the node built-ins those import, and the source modules they hold.
 */
async function startOf(verb: string, through = 'cli') {
  const chunks = await bundled
  // `serve-<hash>.js`, not `serve-start-<hash>.js`.
  const named = (prefix: string) => [...chunks.keys()].filter(f => new RegExp(`^${prefix}-[a-z0-9]+\\.js$`).test(f))
  expect(named(through)).toHaveLength(1)
  expect(named(verb)).toHaveLength(1)
  const builtins = new Map<string, string>() // built-in → the chunk that imports it
  const seen = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = chunks.get(file) ?? ''
    for (const [, from, bare] of text.matchAll(/^import\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gms)) {
      const spec = from ?? bare ?? ''
      if (spec.startsWith('./')) walk(spec.slice(2))
      else builtins.set(spec.replace(/^node:/, ''), file)
    }
  }
  for (const file of ['execd.js', ...named(through), ...named(verb)]) walk(file)
  expect(seen.size).toBeGreaterThan(3)
  const modules = [...seen].flatMap(f => [...(chunks.get(f) ?? '').matchAll(/^\/\/ (\S+\.ts)$/gm)].map(m => m[1]!))
  return { builtins, modules }
}

test("a verb other than serve evaluates no section's or runtime's code before it runs (their options come from options.ts)", async () => {
  const { modules } = await startOf('ping')
  expect(modules).toContain('cmd/options.ts')
  expect(modules).toContain('plugins/code/options.ts')
  expect(modules.filter(m => /^plugins\/(index|[^/]+\/index)\.ts$/.test(m))).toEqual([])
})

/**
 * serve's usual words go from the entry to serve-start.ts, not through cli.ts: the CLI's verbs,
 * suggestions and help cost a start ~0.14 M instructions before listening, and nothing of them
 * is used unless the words need cac (or a failure is reported).
 */
test("a serve start evaluates none of the CLI's verbs, help or suggestions before it listens", async () => {
  const { modules } = await startOf('serve', 'serve-start')
  expect(modules).toContain('cmd/serve.ts')
  expect(modules).toContain('cmd/serve-flags.ts')
  expect(modules.filter(m => /^cmd\/(cli|suggest|help-wrap|argv|route-url)\.ts$/.test(m))).toEqual([])
})

/**
 * What a `serve` start evaluates before it listens: the entry's chunks, the CLI's and serve's,
 * and everything they import statically (the bundle as the Makefile splits it). Loading a
 * built-in is paid by every start; a compiled Bun.serve that imports one, against one that does
 * not (main-thread CPU to its first /ping, 40 interleaved starts, minimums/quartiles, loaded):
 * node:fs +5–9 ms, node:path ~+3, node:os ~+1, node:events +3–6, node:child_process +6–10,
 * node:stream +11, node:crypto +15–20. The ones a start does not load yet must stay off it:
 * import them where they are used (a verb's chunk, a section's operations, a lazy import()).
 */
test('a serve start loads none of the heavy node built-ins before it listens', async () => {
  const { builtins } = await startOf('serve')
  // fs, fs/promises, os and path too: a flag that needs them (--root, --log-file,
  // --access-token-file) loads its module then; process ownership loads after listening.
  const heavy = ['crypto', 'stream', 'stream/promises', 'child_process', 'events', 'readline', 'net', 'http', 'zlib']
  const light = ['fs', 'fs/promises', 'os', 'path']
  expect([...heavy, ...light].filter(b => builtins.has(b)).map(b => `node:${b} ← ${builtins.get(b)}`)).toEqual([])
})
