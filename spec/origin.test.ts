/**
 * Browser defences (issue 10.6): without a token a web page must not be able to run commands
 * (cross-site "simple" requests, DNS rebinding); with a token, browser requests from other
 * origins are refused unless allowed. Clients that are not browsers are unaffected.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { BIN, freePort, startDaemon, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { documentedStatuses } from './kit/documented'
import { portOf, rawRequest } from './raw-http'

const fx = daemonAlone(() => ({ token: null }))

const marker = () => `/tmp/execd-origin-${crypto.randomUUID()}`
const crossSitePost = (d: Daemon, file: string, origin = 'http://evil.example') =>
  d.fetch('/command', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin },
    body: JSON.stringify({ command: `touch ${file}` }),
  })

describe('without a token', () => {
  test('a cross-site text/plain POST /command is 403 and the command does not run', async () => {
    const file = marker()
    const res = await crossSitePost(fx.d, file)
    expect(res.status).toBe(403)
    expect((await res.json()).code).toBe('FORBIDDEN')
    expect(await documentedStatuses(fx.d, 'POST', '/command')).toContain('403')
    await Bun.sleep(300)
    expect(existsSync(file)).toBe(false)
  })

  test('a Host that is not loopback (DNS rebinding) is 403', async () => {
    const port = portOf(fx.d.url)
    const reply = await rawRequest(port, `GET /metrics HTTP/1.1\nHost: evil.example:${port}`)
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.body).code).toBe('FORBIDDEN')
    // Answered before any route: each operation lists it (a files route beside its own 403).
    expect(await documentedStatuses(fx.d, 'GET', '/metrics')).toContain('403')
    expect(await documentedStatuses(fx.d, 'GET', '/ping')).toContain('403')
  })

  test('loopback names pass; same-origin browser requests (the /docs page) pass', async () => {
    const port = portOf(fx.d.url)
    for (const host of [`localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, '127.0.0.1']) {
      expect((await rawRequest(port, `GET /ping HTTP/1.1\nHost: ${host}\nConnection: close`)).status).toBe(200)
    }
    const file = marker()
    const res = await crossSitePost(fx.d, file, fx.d.url)
    expect(res.status).toBe(200)
    await res.text()
    expect(existsSync(file)).toBe(true)
    await Bun.$`rm -f ${file}`.quiet()
  })

  test('an --allowed-host passes', async () => {
    const own = await startDaemon({ token: null, args: ['--allowed-host', 'sandbox.internal,other'] })
    try {
      const port = portOf(own.url)
      const reply = await rawRequest(port, `GET /ping HTTP/1.1\nHost: sandbox.internal:${port}\nConnection: close`)
      expect(reply.status).toBe(200)
    } finally {
      await own.stop()
    }
  })

  test('without --host it listens on loopback only, and warns', async () => {
    const port = await freePort()
    const proc = Bun.spawn([BIN, 'serve', '--port', String(port)], {
      stdout: 'ignore',
      stderr: 'pipe',
      env: { ...process.env, EXECD_ACCESS_TOKEN: '', EXECD_HOST: '' },
    })
    try {
      let status = 0
      for (let i = 0; i < 400 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/ping`).then(
          r => r.status,
          () => 0,
        )
        if (status !== 200) await Bun.sleep(25)
      }
      expect(status).toBe(200)
      const listening = await Bun.$`ss -Hltn sport = :${port}`.text()
      // One listening socket, and its local address is IPv4 loopback.
      expect(
        listening
          .trim()
          .split('\n')
          .map(line => line.trim().split(/\s+/)[3]),
      ).toEqual([`127.0.0.1:${port}`])
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
    }
    expect(await new Response(proc.stderr).text()).toContain('no access token set')
  })
})

describe('with a token', () => {
  let d: Daemon
  beforeAll(async () => {
    d = await startDaemon()
  })
  afterAll(async () => {
    await d.stop()
  })

  test('a browser request from another origin is 403 even with the token; without Origin it runs', async () => {
    const file = marker()
    expect((await crossSitePost(d, file)).status).toBe(403)
    await Bun.sleep(300)
    expect(existsSync(file)).toBe(false)
    const plain = await d.fetch('/command', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ command: `touch ${file}` }),
    })
    expect(plain.status).toBe(200)
    await plain.text()
    expect(existsSync(file)).toBe(true)
    await Bun.$`rm -f ${file}`.quiet()
  })

  test('an --allowed-origin may call', async () => {
    const own = await startDaemon({ args: ['--allowed-origin', 'http://evil.example'] })
    try {
      const file = marker()
      const res = await crossSitePost(own, file)
      expect(res.status).toBe(200)
      await res.text()
      expect(existsSync(file)).toBe(true)
      await Bun.$`rm -f ${file}`.quiet()
    } finally {
      await own.stop()
    }
  })
})
