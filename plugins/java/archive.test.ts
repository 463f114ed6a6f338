import { afterAll, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { findJdk, helperClasses, type Jdk } from './jdk'
import { assertPrivate, noJdk, privateHelperCache, removeTempDirs, resultOf, runCell, startJava } from './test-context'

// This test damages the helper's archive: it gets a helper cache of its own.
const cache = privateHelperCache()
afterAll(() => {
  removeTempDirs()
  cache.restore()
})

test.skipIf(!!noJdk)(
  `a damaged CDS archive is dropped and the context starts without it${noJdk ? ` (skipped: ${noJdk})` : ''}`,
  async () => {
    // The first start makes the archive (training run): the cache is new.
    await (await startJava()).close()
    const helper = await helperClasses(findJdk(process.env.EXECD_JSHELL || 'jshell') as Jdk)
    if (!helper.archive || !existsSync(helper.archive)) return // no `jar` in this JDK: nothing to damage
    assertPrivate(helper.archive, cache.dir)
    writeFileSync(helper.archive, readFileSync(helper.archive).subarray(0, 100_000))
    const ctx = await startJava()
    try {
      expect(resultOf(await runCell(ctx, '6 * 7'))?.text).toBe('42')
      expect(existsSync(helper.archive)).toBe(false)
    } finally {
      await ctx.close()
    }
  },
)
