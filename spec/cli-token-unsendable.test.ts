/**
 * A token that cannot go in a header (a line break inside, a control character, a character
 * past U+00FF) was said as a daemon out of reach (`cannot reach URL: Header
 * 'X-EXECD-ACCESS-TOKEN' has invalid value`), or sent and answered a bare 400. It is the value
 * that is wrong: one line naming where the token came from, none of the token, exit 2, before
 * any request (the port here has nothing listening, and is never asked).
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runCli } from './harness'

const LINE = (from: string) =>
  `execd: the token in ${from} cannot be sent in a header: it holds a line break, a control character or one past U+00FF\n`

test('a line break, a control character or a wide character in EXECD_ACCESS_TOKEN: one line, exit 2, every verb', async () => {
  const url = `http://127.0.0.1:${await freePort()}`
  for (const token of ['sek\nrit-1', 'sek\x01rit-2', 'sek€rit-3']) {
    for (const args of [
      ['exec', '--shell', 'true', '--url', url],
      ['fs', 'ls', '/', '--url', url],
      ['metrics', '--url', url],
      ['ping', '--url', url],
    ]) {
      const r = await runCli(args, { env: { EXECD_ACCESS_TOKEN: token } })
      expect([args[0], token, r]).toEqual([args[0], token, { code: 2, stdout: '', stderr: LINE('EXECD_ACCESS_TOKEN') }])
    }
  }
}, 60_000)

test("ping's token file names itself; a token with spaces at its ends still goes (fetch trims them)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-token-unsendable-'))
  try {
    const file = join(dir, 'token')
    writeFileSync(file, 'sek\x7frit\n')
    const url = `http://127.0.0.1:${await freePort()}`
    expect(await runCli(['ping', '--url', url], { env: { EXECD_ACCESS_TOKEN_FILE: file } })).toEqual({
      code: 2,
      stdout: '',
      stderr: LINE(file),
    })
    const spaced = await runCli(['ping', '--url', url], { env: { EXECD_ACCESS_TOKEN: ' sekrit ' } })
    expect([spaced.code, spaced.stderr]).toEqual([
      1,
      `execd ping: ${url}/ping: connection refused (is execd serve running there, on that port?)\n`,
    ])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

test('serve refuses a token no client could send: one line naming where it came from, none of it, exit 2, nothing listening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-token-unsendable-'))
  try {
    const file = join(dir, 'token')
    writeFileSync(file, 'sek\x01rit\n')
    const port = String(await freePort())
    const cases: [string[], Record<string, string>, string][] = [
      [['--access-token', 'sek\nrit'], {}, '(--access-token or EXECD_ACCESS_TOKEN)'],
      [[], { EXECD_ACCESS_TOKEN: 'sekrit ' }, '(--access-token or EXECD_ACCESS_TOKEN)'],
      [['--access-token-file', file], {}, `in ${file}`],
    ]
    for (const [flags, env, from] of cases) {
      // Started, such a daemon refused every request (401) until stopped: here it must not start.
      const r = await Promise.race([
        runCli(['serve', '--port', port, ...flags], { env }),
        Bun.sleep(20_000).then(() => ({ code: -1, stdout: '', stderr: 'still serving after 20 s' })),
      ])
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toStartWith(`execd: the access token ${from} cannot be sent by any client: it `)
      expect(r.stderr.split('\n')).toHaveLength(2)
      expect(r.stderr).not.toContain('sek')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 90_000)
