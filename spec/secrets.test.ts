/**
 * Secrets never reach children or logs (issue 10.12), through the compiled executable: a
 * command reads its parent's /proc cmdline and environ and its own environment, for a token
 * given as a flag, as a variable, in a file and on standard input.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, readSse, serveArgv, stdoutJoined } from './harness'

/**
 * Letters of alternating case (gHkM…), so no 4-character piece of it occurs by chance in a log
 * line or an environment: uppercase only, a token once held "STUP", which CI's RUSTUP_… holds.
 */
const LETTERS = 'ghjkmnpqrstvwxz'
const secret = () =>
  Array.from({ length: 24 }, (_, i) => {
    const c = LETTERS[Math.floor(Math.random() * LETTERS.length)] ?? 'q'
    return i % 2 ? c.toUpperCase() : c
  }).join('')

const PROBE = 'cat /proc/$PPID/cmdline; echo; cat /proc/$PPID/environ; echo; env'

async function serveWith(args: string[], env: Record<string, string>, token: string, stdin?: string) {
  const port = await freePort()
  const proc = Bun.spawn([...serveArgv(port), '--log-level', 'debug', ...args], {
    stdin: stdin === undefined ? 'ignore' : Buffer.from(stdin),
    stdout: 'ignore',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', ...env },
  })
  const url = `http://127.0.0.1:${port}`
  const headers = { 'X-EXECD-ACCESS-TOKEN': token }
  for (let i = 0; i < 400; i++) {
    const status = await fetch(`${url}/ping`, { headers }).then(
      r => r.status,
      () => 0,
    )
    if (status === 200) break
    if (proc.exitCode !== null) throw new Error(`execd exited: ${await new Response(proc.stderr).text()}`)
    await Bun.sleep(25)
  }
  const res = await fetch(`${url}/command`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ command: PROBE }),
  })
  expect(res.status).toBe(200)
  const seen = stdoutJoined(await readSse(res))
  proc.kill('SIGTERM')
  await proc.exited
  return { seen, logs: await new Response(proc.stderr).text() }
}

const expectHidden = (text: string, value: string) => {
  expect(text).not.toContain(value)
  for (let i = 0; i + 4 <= value.length; i++) expect(text).not.toContain(value.slice(i, i + 4))
}

describe('the access token', () => {
  test('given as --access-token: not in the parent cmdline, environ, the child env or the logs', async () => {
    const token = secret()
    const { seen, logs } = await serveWith(['--access-token', token], {}, token)
    expect(seen).toContain('serve') // the probe did read execd's own cmdline
    expectHidden(seen, token)
    expectHidden(logs, token)
  })

  test('given as --access-token=VALUE: the value is hidden, the flag name stays', async () => {
    const token = secret()
    const { seen } = await serveWith([`--access-token=${token}`], {}, token)
    expect(seen).toContain('--access-token=')
    expectHidden(seen, token)
  })

  test('given as EXECD_ACCESS_TOKEN: not in the parent environ or the child env', async () => {
    const token = secret()
    const { seen, logs } = await serveWith([], { EXECD_ACCESS_TOKEN: token }, token)
    expect(seen).toContain('PATH=')
    expectHidden(seen, token)
    expectHidden(logs, token)
  })

  test('given in a file (--access-token-file): the token works and is nowhere to be read', async () => {
    const token = secret()
    const dir = mkdtempSync(join(tmpdir(), 'execd-secret-'))
    try {
      const file = join(dir, 'token')
      writeFileSync(file, `${token}\n`, { mode: 0o600 })
      const { seen, logs } = await serveWith(['--access-token-file', file], {}, token)
      expectHidden(seen, token)
      expectHidden(logs, token)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('given on standard input (--access-token-file -)', async () => {
    const token = secret()
    const { seen, logs } = await serveWith(['--access-token-file', '-'], {}, token, `${token}\n`)
    expectHidden(seen, token)
    expectHidden(logs, token)
  })
})

test('JUPYTER_TOKEN and EXECD_SQL_DSN are not passed on to children or left in /proc', async () => {
  const token = secret()
  const jupyter = secret()
  const password = secret()
  const { seen, logs } = await serveWith(
    [],
    { EXECD_ACCESS_TOKEN: token, JUPYTER_TOKEN: jupyter, EXECD_SQL_DSN: `postgres://u:${password}@127.0.0.1:1/db` },
    token,
  )
  expectHidden(seen, jupyter)
  expectHidden(seen, password)
  expect(seen).not.toContain('JUPYTER_TOKEN=' + jupyter.slice(0, 1))
  expectHidden(logs, jupyter)
  expectHidden(logs, password)
})

test("serve's main process (`serve -- cmd`), spawned the moment execd listens, finds no secret in its parent's /proc", async () => {
  const token = secret()
  const jupyter = secret()
  const port = await freePort()
  const proc = Bun.spawn([...serveArgv(port), `--access-token=${token}`, '--', 'sh', '-c', PROBE], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', JUPYTER_TOKEN: jupyter },
  })
  const [seen, logs, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  expect(status).toBe(0)
  expect(seen).toContain('--access-token=') // the probe did read execd's own cmdline
  expect(seen).toContain('PATH=')
  expectHidden(seen, token)
  expectHidden(seen, jupyter)
  expectHidden(logs, token)
})
