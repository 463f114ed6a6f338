/**
 * A listing of `/` named its entries `//bin`, `//etc` (the walk joined `/` and a name with a
 * second `/`), in `execd fs ls /` here and with --url, and in the wire's own answer, where
 * the reference (Go's filepath.Join) says `/bin`. Now every entry under `/` is `/name`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { runCli, startDaemon, type Daemon } from './harness'

let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(() => d.stop())

const names = readdirSync('/').sort()

test('fs ls / names each entry /name, here and with --url, and in --json', async () => {
  for (const where of [[], ['--url', d.url]]) {
    const env = { EXECD_ACCESS_TOKEN: d.token }
    const plain = await runCli(['fs', 'ls', '/', ...where], { env })
    expect([plain.code, plain.stderr]).toEqual([0, ''])
    const paths = plain.stdout
      .trimEnd()
      .split('\n')
      .map(line => /\s(\/\S*)/.exec(line)?.[1])
    expect(paths.sort()).toEqual(names.map(n => `/${n}`))
    const json = await runCli(['fs', 'ls', '/', '--json', ...where], { env })
    const listed = (JSON.parse(json.stdout) as { path: string }[]).map(e => e.path)
    expect(listed.sort()).toEqual(names.map(n => `/${n}`))
  }
}, 60_000)
