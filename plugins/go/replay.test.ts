/**
 * A warm cell whose imports are the last build's is compiled and linked without the go command
 * (kernel/replay.go); what the go command would see differently still goes through it.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findGo } from './toolchain'
import { errorOf, GO_TEST_TIMEOUT_MS, noGo, removeTempDirs, resultOf, runCell, startGo, tempDir } from './test-context'

setDefaultTimeout(GO_TEST_TIMEOUT_MS)

/** A `go` that writes each `go build -o cell` it is asked for to a log, then is the real one. */
async function countingGo(): Promise<{ go: string; builds: () => number }> {
  const tc = await findGo(process.env.EXECD_GO || 'go')
  if ('missing' in tc) throw new Error(tc.missing)
  const dir = tempDir()
  const log = join(dir, 'builds.log')
  writeFileSync(log, '')
  const go = join(dir, 'go')
  writeFileSync(go, `#!/bin/sh\ncase " $* " in *" -o cell "*) echo build >> '${log}';; esac\nexec '${tc.go}' "$@"\n`)
  chmodSync(go, 0o755)
  return { go, builds: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length }
}

describe.skipIf(!!noGo)(`go cells built without the go command${noGo ? ` (skipped: ${noGo})` : ''}`, () => {
  afterAll(removeTempDirs)

  test('cells importing what the last one did run go build once, with values and lines right', async () => {
    const { go, builds } = await countingGo()
    const ctx = await startGo(tempDir(), { go })
    try {
      // The first cell's go build learns the plan (its attempt without the import `strings`
      // that failed ran again without -x: two builds more).
      for (let i = 0; i < 3; i++) {
        const events = await runCell(ctx, `strings.Repeat("a", ${i + 1})`)
        expect(errorOf(events)).toBeUndefined()
        expect(resultOf(events)?.['text/plain']).toBe('a'.repeat(i + 1))
      }
      const learned = builds()
      expect(learned).toBe(3)
      // A compile error of a replayed build names the cell's line as go build's does.
      const bad = await runCell(ctx, 'x := strings.Repeat("b", 2)\nx + 1')
      expect(errorOf(bad)?.evalue).toMatch(/^cell4:2:/)
      expect(builds()).toBe(learned)
      // Another import is another plan: go build once, then replayed again.
      for (const [code, value] of [
        ['import "sort"\n\nsort.IntsAreSorted([]int{1, 2})', 'true'],
        ['sort.IntsAreSorted([]int{2, 1})', 'false'],
      ]) {
        expect(resultOf(await runCell(ctx, code!))?.['text/plain']).toBe(value)
      }
      expect(builds()).toBe(learned + 1)
    } finally {
      await ctx.close()
    }
  })

  test('a go file or a package the cell writes into its module is built as go build would', async () => {
    const ctx = await startGo()
    // The program's own dir is the module's (os.Args[0] names it).
    const write = (name: string, text: string) =>
      runCell(
        ctx,
        `import "path/filepath"\n\n_ = os.MkdirAll(filepath.Join(filepath.Dir(os.Args[0]), filepath.Dir(${JSON.stringify(name)})), 0o700)\nos.WriteFile(filepath.Join(filepath.Dir(os.Args[0]), ${JSON.stringify(name)}), []byte(${JSON.stringify(text)}), 0o600)`,
      )
    try {
      expect(errorOf(await write('extra.go', 'package main\n\nfunc extra() int { return 7 }\n'))).toBeUndefined()
      expect(resultOf(await runCell(ctx, 'extra()'))?.['text/plain']).toBe('7')
      // Gone again: its cells may be replayed.
      expect(
        errorOf(await runCell(ctx, 'os.Remove(filepath.Join(filepath.Dir(os.Args[0]), "extra.go"))')),
      ).toBeUndefined()
      expect(errorOf(await write('sub/sub.go', 'package sub\n\nfunc V() int { return 1 }\n'))).toBeUndefined()
      expect(resultOf(await runCell(ctx, 'import "execdcell/sub"\n\nsub.V()'))?.['text/plain']).toBe('1')
      // Another import, the package from the build cache now: what a plan would keep.
      expect(resultOf(await runCell(ctx, 'import "sort"\n\nsub.V() + len(sort.IntSlice{})'))?.['text/plain']).toBe('1')
      expect(errorOf(await write('sub/sub.go', 'package sub\n\nfunc V() int { return 2 }\n'))).toBeUndefined()
      expect(resultOf(await runCell(ctx, 'sub.V() + len(sort.IntSlice{})'))?.['text/plain']).toBe('2')
    } finally {
      await ctx.close()
    }
  })
})
