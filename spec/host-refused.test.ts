/**
 * A Host header Bun takes but the URL parser refuses (a port past 65535, an unclosed `[`, five
 * IPv4 parts, two ports) made `request.url` a URL nothing could parse: the files routes, the
 * proxy and the isolated files routes answered a 500 RUNTIME_ERROR "Invalid URL" and logged an
 * error line each. Such a request is routed by its target, as one with an empty Host is, and the
 * target's dot segments are judged as for any other request (core/raw-target.ts).
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rawTargetFixture } from './kit/raw-target'
import { rawRequest } from './raw-http'

const fx = rawTargetFixture('host-refused')

const HOSTS = ['x:99999', '[::1', '1.2.3.4.5', 'x:80:80']

const get = (target: string, host: string) =>
  rawRequest(
    fx.port,
    `GET ${target} HTTP/1.1\nHost: ${host}\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\nConnection: close`,
    '',
    500,
  )

test('a Host the URL parser refuses: the request is routed by its target, never a 500', async () => {
  const file = join(fx.dir, 'f')
  writeFileSync(file, 'x')
  const q = `?path=${encodeURIComponent(file)}`
  for (const host of HOSTS) {
    const info = await get(`/files/info${q}`, host)
    expect({ host, status: info.status }).toEqual({ host, status: 200 })
    expect(Object.keys(JSON.parse(info.body))).toEqual([file])
    const proxied = await get(`/proxy/${fx.upstream.port}/app?a=1`, host)
    expect({ host, status: proxied.status, body: proxied.body }).toEqual({ host, status: 200, body: 'app' })
  }
  expect(fx.asked).toEqual(HOSTS.map(() => '/app'))
  expect(fx.d.logs()).not.toContain('Invalid URL')
})

test('and its dot segments are judged as any target: out of /proxy/<port>/ or into a route is a 400', async () => {
  fx.asked.length = 0
  for (const host of HOSTS)
    for (const target of [
      `/proxy/${fx.upstream.port}/%2e%2e/%2e%2e/files/info?path=/`,
      '/x/%2e%2e/files/info?path=/',
    ]) {
      const reply = await get(target, host)
      expect({ host, target, status: reply.status }).toEqual({ host, target, status: 400 })
      expect(JSON.parse(reply.body).code).toBe('INVALID_REQUEST_BODY')
    }
  expect(fx.asked).toEqual([])
})
