import { expect, test } from 'bun:test'
import { refusedHostTarget } from './host-target'

test('a URL the parser takes, or a target alone, has no target to route by', () => {
  for (const url of ['http://127.0.0.1:44123/files/info?path=/x', 'http://[::1]:80/ping', 'http://x/', '/ping', '*'])
    expect([url, refusedHostTarget(url)]).toEqual([url, undefined])
  // The same authority again is taken without the parser.
  expect(refusedHostTarget('http://127.0.0.1:44123/code')).toBeUndefined()
})

test('a URL whose authority the parser refuses is routed by its path and query', () => {
  expect(refusedHostTarget('http://x:99999/files/info?path=/a b')).toBe('/files/info?path=/a b')
  expect(refusedHostTarget('http://[::1/ping')).toBe('/ping')
  expect(refusedHostTarget('http://1.2.3.4.5/proxy/80/%2e%2e/x')).toBe('/proxy/80/%2e%2e/x')
  expect(refusedHostTarget('http://x:80:80')).toBe('/')
  // A taken authority that prefixes a refused one is not mistaken for it.
  expect(refusedHostTarget('http://x:8/ping')).toBeUndefined()
  expect(refusedHostTarget('http://x:80000/ping')).toBe('/ping')
})
