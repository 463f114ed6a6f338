/**
 * A request target under `/proxy/<port>/` stays there. Bun's URL parser resolves `..` (and
 * `%2e%2e`, and `\` as `/`) before execd sees the request, so `/proxy/P/%2e%2e/%2e%2e/files?path=x`
 * was execd's own DELETE /files, and `/proxy/P/%2e%2e/Q/` port Q: a gateway handing the world
 * `/proxy/P/` with the token added handed it every route and port. Clients resolve dot
 * segments before they send; these come from raw sockets, so the tests send raw HTTP.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { portOf, rawRequest } from './raw-http'

let port: number
/** What each upstream was asked: the path and query. */
const asked: Record<'app' | 'other', string[]> = { app: [], other: [] }
const upstreams: ReturnType<typeof Bun.serve>[] = []
const upstream = (name: 'app' | 'other') => {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: req => {
      const url = new URL(req.url)
      asked[name].push(url.pathname + url.search)
      return new Response(`${name} ${url.pathname}`)
    },
  })
  upstreams.push(server)
  return server.port!
}
let app: number
let other: number

const fx = daemonWithDir('proxy-raw-target', () => {
  app = upstream('app')
  other = upstream('other')
  return []
})
beforeAll(() => {
  port = portOf(fx.d.url)
})
afterAll(() => {
  for (const server of upstreams) server.stop(true)
})

const send = (method: string, target: string, token = fx.d.token, host = '127.0.0.1') =>
  rawRequest(
    port,
    `${method} ${target} HTTP/1.1\nHost: ${host}\nX-EXECD-ACCESS-TOKEN: ${token}\nConnection: close`,
    '',
    500,
  )

function expectRefused(reply: Awaited<ReturnType<typeof send>>, target: string) {
  expect({ target, status: reply.status }).toEqual({ target, status: 400 })
  const error = JSON.parse(reply.body)
  expect(error.code).toBe('INVALID_REQUEST_BODY')
  expect(error.message).toContain('leaves /proxy/')
}

test("dot segments and backslashes cannot lead a proxied target to execd's own routes", async () => {
  const victim = join(fx.tmp, 'victim')
  writeFileSync(victim, 'keep me')
  const q = `?path=${encodeURIComponent(victim)}`
  for (const [method, target] of [
    ['DELETE', `/proxy/${app}/%2e%2e/%2e%2e/files${q}`],
    ['DELETE', `/proxy/${app}/a/%2E%2e/.%2e/%2e./files${q}`],
    ['DELETE', `/proxy/${app}/../../files${q}`],
    ['DELETE', `/proxy/${app}/..\\..\\files${q}`],
    ['DELETE', `/proxy/${app}\\..\\..\\files${q}`],
    ['GET', `/proxy/${app}/%2e%2e/%2e%2e/files/info${q}`],
  ] as const) {
    expectRefused(await send(method, target), target)
    expect(existsSync(victim)).toBe(true)
    // With a Host Bun cannot use, the target reaches execd as sent and is resolved there.
    expectRefused(await send(method, target, fx.d.token, ''), `${target} (empty Host)`)
    expect(existsSync(victim)).toBe(true)
  }
  expect(asked.app).toEqual([])
})

test('nor to another port', async () => {
  for (const target of [
    `/proxy/${app}/%2e%2e/${other}/x`,
    `/proxy/${app}/../${other}/x`,
    `/proxy/${app}\\..\\${other}/x`,
    `/proxy/${app}/.%2E/${other}/x`,
  ])
    expectRefused(await send('GET', target), target)
  expect([asked.app, asked.other]).toEqual([[], []])
})

test('without the token such a target is the 401 every route answers', async () => {
  const reply = await send('GET', `/proxy/${app}/%2e%2e/%2e%2e/files/info?path=/`, 'wrong')
  expect(reply.status).toBe(401)
})

test('dot segments that stay beneath /proxy/<port>/ are relayed as before', async () => {
  asked.app.length = 0
  for (const target of [`/proxy/${app}/a/%2e%2e/b`, `/proxy/${app}/x/..`, `/proxy/${app}/%252e%252e/y?z=1`]) {
    const reply = await send('GET', target)
    expect({ target, status: reply.status }).toEqual({ target, status: 200 })
  }
  expect(asked.app).toEqual(['/b', '/', '/%252e%252e/y?z=1'])
  // An empty Host: relayed as well (a first version of the check answered a 500 "Invalid URL").
  const reply = await send('GET', `/proxy/${app}/a/%2e%2e/c`, fx.d.token, '')
  expect(reply.status).toBe(200)
  expect(asked.app.at(-1)).toBe('/c')
})
