import { afterAll, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { findJdk, helperClasses, type Jdk } from './jdk'
import { noJdk, removeTempDirs, resultOf, runCell, startJava } from './test-context'

afterAll(removeTempDirs)

test.skipIf(!!noJdk)(
  `a damaged CDS archive is dropped and the context starts without it${noJdk ? ` (skipped: ${noJdk})` : ''}`,
  async () => {
    // The first start makes the archive (training run) if this machine has none yet.
    await (await startJava()).close()
    const helper = await helperClasses(findJdk(process.env.EXECD_JSHELL || 'jshell') as Jdk)
    if (!helper.archive || !existsSync(helper.archive)) return // no `jar` in this JDK: nothing to damage
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

test.skipIf(!!noJdk)(
  `a helper removed by a tmp cleaner is compiled again${noJdk ? ` (skipped: ${noJdk})` : ''}`,
  async () => {
    const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell') as Jdk
    const before = await helperClasses(jdk)
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
