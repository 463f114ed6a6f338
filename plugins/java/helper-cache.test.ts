import { afterAll, expect, test } from 'bun:test'
import { existsSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { findJdk, helperClasses, type Jdk } from './jdk'
import { assertPrivate, noJdk, privateHelperCache, removeTempDirs, resultOf, runCell, startJava } from './test-context'

// This test deletes the helper's directory: it gets a helper cache of its own.
const cache = privateHelperCache()
afterAll(() => {
  removeTempDirs()
  cache.restore()
})

test.skipIf(!!noJdk)(
  `a helper removed by a tmp cleaner is compiled again${noJdk ? ` (skipped: ${noJdk})` : ''}`,
  async () => {
    const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell') as Jdk
    const before = await helperClasses(jdk)
    assertPrivate(before.classpath, cache.dir)
    rmSync(dirname(before.classpath), { recursive: true, force: true })
    const ctx = await startJava()
    try {
      expect(resultOf(await runCell(ctx, '"back"'))?.text).toBe('"back"')
      expect(existsSync((await helperClasses(jdk)).classpath)).toBe(true)
    } finally {
      await ctx.close()
    }
  },
)
