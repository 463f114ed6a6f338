/**
 * A Host header Bun takes but the URL parser refuses (a port past 65535, an unclosed `[`, five
 * IPv4 parts, two ports) made `request.url` a URL nothing could parse: the files routes, the
 * proxy and the isolated files routes answered a 500 RUNTIME_ERROR "Invalid URL" and logged an
 * error line each. Such a request is routed by its target, as one with an empty Host is, and the
 * target's dot segments are judged as for any other request (core/raw-target.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from './harness'
import { portOf, rawRequest } from './raw-http'

let d: Daemon
let dir: string
let upstream: ReturnType<typeof Bun.serve>
const asked: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'host-refused-'))
  upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: req => (asked.push(new URL(req.url).pathname), new Response('app')),
  })
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
  upstream?.stop(true)
  rmSync(dir, { recursive: true, force: true })
})

const HOSTS = ['x:99999', '[::1', '1.2.3.4.5', 'x:80:80']

const get = (target: string, host: string) =>
  rawRequest(
    portOf(d.url),
    `GET ${target} HTTP/1.1\nHost: ${host}\nX-EXECD-ACCESS-TOKEN: ${d.token}\nConnection: close`,
    '',
    500,
  )

test('a Host the URL parser refuses: the request is routed by its target, never a 500', async () => {
  const file = join(dir, 'f')
  writeFileSync(file, 'x')
  const q = `?path=${encodeURIComponent(file)}`
  for (const host of HOSTS) {
    const info = await get(`/files/info${q}`, host)
    expect({ host, status: info.status }).toEqual({ host, status: 200 })
    expect(Object.keys(JSON.parse(info.body))).toEqual([file])
    const proxied = await get(`/proxy/${upstream.port}/app?a=1`, host)
    expect({ host, status: proxied.status, body: proxied.body }).toEqual({ host, status: 200, body: 'app' })
  }
  expect(asked).toEqual(HOSTS.map(() => '/app'))
  expect(d.logs()).not.toContain('Invalid URL')
})

test('and its dot segments are judged as any target: out of /proxy/<port>/ or into a route is a 400', async () => {
  asked.length = 0
  for (const host of HOSTS)
    for (const target of [`/proxy/${upstream.port}/%2e%2e/%2e%2e/files/info?path=/`, '/x/%2e%2e/files/info?path=/']) {
      const reply = await get(target, host)
      expect({ host, target, status: reply.status }).toEqual({ host, target, status: 400 })
      expect(JSON.parse(reply.body).code).toBe('INVALID_REQUEST_BODY')
    }
  expect(asked).toEqual([])
})
