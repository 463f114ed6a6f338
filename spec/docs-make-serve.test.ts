/**
 * The README's `make serve`: it listens where EXECD_HOST/EXECD_PORT say, and the daemon (so
 * every command it runs) gets the caller's environment without make's own variables.
 */
import { describe, expect, test } from 'bun:test'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort, readSse, waitFor } from './harness'

const ROOT = join(import.meta.dir, '..')
const MAKE_VARS = ['MAKEFLAGS', 'MAKELEVEL', 'MFLAGS', 'MAKEOVERRIDES']

describe('make serve', () => {
  test('honours EXECD_HOST and EXECD_PORT and keeps MAKEFLAGS, MAKELEVEL… from the daemon', async () => {
    const port = await freePort()
    const token = `t-${crypto.randomUUID()}`
    // -o build: dist/execd is the one under test, never rebuilt here. Its own process group,
    // so the test can stop make and the daemon it execs together.
    const make = spawn('make', ['-s', '-o', 'build', 'serve'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EXECD_HOST: '127.0.0.1', EXECD_PORT: String(port), EXECD_ACCESS_TOKEN: token },
    })
    let out = ''
    make.stdout.on('data', chunk => (out += chunk))
    make.stderr.on('data', chunk => (out += chunk))
    const url = `http://127.0.0.1:${port}`
    const headers = { 'X-EXECD-ACCESS-TOKEN': token }
    try {
      await waitFor(`make serve on port ${port}: ${out}`, async () => {
        if (make.exitCode !== null) throw new Error(`make serve exited ${make.exitCode}: ${out}`)
        return (await fetch(`${url}/ping`, { headers }).catch(() => undefined))?.status === 200
      })
      expect(out).toContain(`serving on http://127.0.0.1:${port}`)

      const res = await fetch(`${url}/command`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'env' }),
      })
      const frames = await readSse(res)
      const env = frames
        .filter(f => f.data?.type === 'stdout')
        .map(f => String(f.data.text))
        .join('\n')
      expect(env).toContain('PATH=')
      for (const name of MAKE_VARS) expect(env).not.toMatch(new RegExp(`^${name}=`, 'm'))
    } finally {
      if (make.pid) process.kill(-make.pid, 'SIGTERM')
      await new Promise(resolve => (make.exitCode !== null ? resolve(null) : make.once('exit', resolve)))
    }
  })
})
