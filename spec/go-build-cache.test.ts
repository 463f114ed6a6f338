/**
 * The go build cache every context shares stays bounded (plugins/go/kernel/cache.go). Go trims
 * it only of entries unused for 5 days, and each context's dir was in its builds' keys: the same
 * cell in 40 contexts added ~6 files each, 60 distinct cells 4.9 MB, without end.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, lstatSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findGo } from '../plugins/go/toolchain'
import { daemonWithDir } from './kit/daemon-dir'
import { createContext, runCode } from './runtime-kit'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
// From go 1.20 builds leave their dir out of the cache keys (plugins/go/toolchain.ts trimsPaths).
const trims = !('missing' in toolchain) && Number(toolchain.language.split('.')[1]) >= 20
const MiB = 1 << 20
const CAP = 48 * MiB

/** The files of the cache's entry dirs and the blocks they take (what the bound counts). */
function measure(cache: string): { files: string[]; bytes: number } {
  const files: string[] = []
  let bytes = 0
  for (const dir of existsSync(cache) ? readdirSync(cache) : []) {
    if (dir.length !== 2) continue
    for (const name of readdirSync(join(cache, dir))) {
      const st = lstatSync(join(cache, dir, name))
      files.push(join(dir, name))
      bytes += st.blocks * 512
    }
  }
  return { files, bytes }
}

describe.skipIf('missing' in toolchain)(
  `the go build cache${'missing' in toolchain ? ` (skipped: ${toolchain.missing})` : ''}`,
  () => {
    // A temp dir of the file's own: the cache lives in it, measured from empty.
    const fx = daemonWithDir('go-build-cache', tmp => ({ env: { TMPDIR: tmp, EXECD_GO_CACHE_MAX: String(CAP) } }))
    const cache = () => join(fx.tmp, `execd-${process.getuid!()}`, 'go-cache')

    const printed = async (id: string, code: string) =>
      (await runCode(fx.d, code, { id, language: 'go' }))
        .filter(e => e.type === 'stdout' || e.type === 'error')
        .map(e => e.text ?? JSON.stringify(e.error))
        .join('')

    test.skipIf(!trims)(
      `the same cell in five more contexts adds no file to the cache${trims ? '' : ' (skipped: go before 1.20 keeps its dir in the keys)'}`,
      async () => {
        const cell = 'fmt.Println("same")'
        expect(await printed(await createContext(fx.d, 'go'), cell)).toBe('same\n')
        const before = measure(cache()).files
        for (let i = 0; i < 5; i++) expect(await printed(await createContext(fx.d, 'go'), cell)).toBe('same\n')
        // Main's build: 30 more (the context's dir was in the keys).
        expect(measure(cache()).files.filter(f => !before.includes(f))).toEqual([])
      },
      240_000,
    )

    test('a cache past the bound is trimmed to it at a build, the oldest entries first', async () => {
      const built = measure(cache()).files
      // 64 MiB of entries nothing has used for two days, as a platform's old cells leave them.
      const old = Date.now() / 1000 - 2 * 86_400
      const stale: string[] = []
      for (let i = 0; i < 64; i++) {
        const hash = (0x10_0000 + i).toString(16).padStart(64, 'e')
        const dir = join(cache(), hash.slice(0, 2))
        mkdirSync(dir, { recursive: true })
        writeFileSync(join(dir, `${hash}-d`), Buffer.alloc(MiB, 1))
        utimesSync(join(dir, `${hash}-d`), old, old)
        stale.push(join(dir, `${hash}-d`))
      }
      expect(measure(cache()).bytes).toBeGreaterThan(CAP)
      // A context's first build looks at the cache.
      const id = await createContext(fx.d, 'go')
      expect(await printed(id, 'func seven() int { return 7 }\nfmt.Println(seven())')).toBe('7\n')
      const after = measure(cache())
      // Main's build: 64 MiB more than the cap, every stale entry still there.
      expect(after.bytes).toBeLessThanOrEqual(CAP)
      const staleLeft = stale.filter(p => existsSync(p)).length
      expect(staleLeft).toBeLessThan(stale.length)
      // The oldest went first: while a stale entry is left, everything built before is too.
      if (staleLeft > 0) expect(built.filter(f => !after.files.includes(f))).toEqual([])
      // What was trimmed around was not what builds use: the next cells build and run.
      expect(await printed(id, 'fmt.Println(seven() * 6)')).toBe('42\n')
      expect(await printed(await createContext(fx.d, 'go'), 'fmt.Println("another")')).toBe('another\n')
      expect(measure(cache()).bytes).toBeLessThanOrEqual(CAP)
    }, 240_000)
  },
)
