/**
 * A request target reaches a route only when it was sent beneath that route's prefix. nginx
 * (`location /proxy/P/ { proxy_pass http://execd; }`, the token added) matches the path after
 * decoding every `%XX` and resolving dot segments, then forwards the target as sent; Bun's
 * parser decodes no `%2F`. So `/a%2F%2e%2e%2Fproxy%2FP%2Fb%2Fc/%2e%2e/%2e%2e/files` was
 * `/proxy/P/files` to nginx and execd's own `/files` to execd: a gateway handing the world
 * `/proxy/P/` handed it every route. (spec/proxy-raw-target covers targets sent beneath
 * `/proxy/P/` that leave it.) Clients resolve dot segments before they send: raw HTTP here.
 */
import { expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rawTargetFixture } from './kit/raw-target'
import { rawRequest } from './raw-http'

const fx = rawTargetFixture('route-raw-target')

const send = (method: string, target: string, token = fx.d.token, host = '127.0.0.1', body = '') =>
  rawRequest(
    fx.port,
    `${method} ${target} HTTP/1.1\nHost: ${host}\nX-EXECD-ACCESS-TOKEN: ${token}\nContent-Type: application/json\nContent-Length: ${body.length}\nConnection: close`,
    body,
    500,
  )

function expectRefused(reply: Awaited<ReturnType<typeof send>>, target: string, words: string) {
  expect({ target, status: reply.status }).toEqual({ target, status: 400 })
  const error = JSON.parse(reply.body)
  expect(error.code).toBe('INVALID_REQUEST_BODY')
  expect(error.message).toContain(words)
}

test("targets a normalising gateway reads as /proxy/<port>/… cannot reach execd's own routes", async () => {
  const victim = join(fx.dir, 'victim')
  writeFileSync(victim, 'keep me')
  const q = `?path=${encodeURIComponent(victim)}`
  const P = fx.upstream.port
  for (const target of [
    `/a%2F%2e%2e%2Fproxy%2F${P}%2Fb%2Fc/%2e%2e/%2e%2e/files${q}`,
    `/proxy%2F${P}%2Fa%2Fb//%2e%2e/%2e%2e/files${q}`,
    `/%70roxy/${P}/a%2Fb%2Fc/%2e%2e/%2e%2e/%2e%2e/files${q}`,
    `/./proxy/${P}/%2e%2e/%2e%2e/files${q}`,
    `/x\\..\\files${q}`,
  ]) {
    expectRefused(await send('DELETE', target), target, 'reaches /files only by')
    expect(existsSync(victim)).toBe(true)
    // With a Host Bun cannot use, the target reaches execd as sent and is resolved there.
    expectRefused(await send('DELETE', target, fx.d.token, ''), `${target} (empty Host)`, 'reaches /files only by')
    expect(existsSync(victim)).toBe(true)
  }
})

test('nor one sent beneath another route, nor the proxy reached from outside /proxy/', async () => {
  const mark = join(fx.dir, 'ran')
  const body = JSON.stringify({ command: `touch ${mark}` })
  for (const target of ['/files/%2e%2e/command', '/ping/../command', '/code/%2E%2e/command'])
    expectRefused(await send('POST', target, fx.d.token, '127.0.0.1', body), target, 'leaves /')
  for (const target of [`/./proxy/${fx.upstream.port}/x`, `/a/%2e%2e/proxy/${fx.upstream.port}/x`])
    expectRefused(await send('GET', target), target, 'reaches /proxy only by')
  await Bun.sleep(200)
  expect(existsSync(mark)).toBe(false)
  expect(fx.asked).toEqual([])
})

test('without the token such a target is the 401 every route answers', async () => {
  expect((await send('GET', '/x/%2e%2e/files/info?path=/', 'wrong')).status).toBe(401)
})

test('targets sent beneath their route are served as before, dot segments within it too', async () => {
  for (const target of ['/files/info?path=/', '/files/x/%2e%2e/info?path=/', '/files/info/?path=/', '/ping']) {
    const reply = await send('GET', target)
    expect({ target, status: reply.status }).toEqual({ target, status: 200 })
  }
  // Not beneath any route, as sent or resolved: the 404 it was.
  for (const target of ['/./nosuch', '//files/info']) expect((await send('GET', target)).status).toBe(404)
})
