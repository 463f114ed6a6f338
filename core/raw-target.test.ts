import { expect, test } from 'bun:test'
import type { Server } from 'bun'
import { handedTarget } from './host-target'
import { enteredPrefix, leavesProxyPrefix, rawTargetServe } from './raw-target'

test('a target the URL parser keeps beneath /proxy/<port as sent>/ stays; one it leads elsewhere leaves', () => {
  const at = (target: string) => new Request(`http://h${target}`).url
  expect(leavesProxyPrefix(at('/proxy/80/a/b'), '80')).toBe(false)
  expect(leavesProxyPrefix(at('/proxy/80'), '80')).toBe(false)
  expect(leavesProxyPrefix(at('/proxy/80/a/%2e%2e/b'), '80')).toBe(false)
  expect(leavesProxyPrefix(at('/proxy/80/%2e%2e/%2e%2e/files'), '80')).toBe(true)
  expect(leavesProxyPrefix(at('/proxy/80/%2e%2e/90/x'), '80')).toBe(true)
  expect(leavesProxyPrefix(at('/proxy/80\\..\\90/x'), '80\\..\\90')).toBe(true)
  // A Host Bun cannot use leaves the target alone, as sent (the fuzz's empty Host: a 500).
  expect(leavesProxyPrefix('/proxy/80/x', '80')).toBe(false)
  expect(leavesProxyPrefix('/proxy/80/%2e%2e/%2e%2e/files', '80')).toBe(true)
  // A port that only begins like the one sent is another port.
  expect(leavesProxyPrefix(at('/proxy/8080/x'), '80')).toBe(true)
})

test('a target the parser led beneath a route prefix names it; one beneath none names none', () => {
  const at = (target: string) => new Request(`http://h${target}`).url
  const prefixes = ['/ping', '/files', '/proxy']
  expect(enteredPrefix(at('/a%2F%2e%2e%2Fproxy%2F80%2Fb/%2e%2e/files/info'), prefixes)).toBe('/files')
  expect(enteredPrefix(at('/./proxy/80/x'), prefixes)).toBe('/proxy')
  expect(enteredPrefix(at('/x\\..\\ping'), prefixes)).toBe('/ping')
  expect(enteredPrefix(at('/./nosuch'), prefixes)).toBeUndefined()
  expect(enteredPrefix(at('//files/info'), prefixes)).toBeUndefined()
  expect(enteredPrefix(at('/filesystem'), prefixes)).toBeUndefined()
  // A Host Bun cannot use: the target as sent, resolved here.
  expect(enteredPrefix('/x/%2e%2e/files', prefixes)).toBe('/files')
})

test('a Host the parser refused is judged once: its target is handed on with the request', () => {
  const handed: (string | undefined)[] = []
  const door = rawTargetServe(
    request => (handed.push(handedTarget(request)), new Response()),
    () => true,
    ['/files'],
  )
  // What Bun hands the routes: a URL no Request made in process can have (its constructor parses it).
  const sent = (url: string, params: Record<string, string> = {}) =>
    ({ url, params, method: 'GET', headers: new Headers() }) as unknown as Request & { params: Record<string, string> }
  const server = {} as Server<unknown>
  door.routes['/files/*']!(sent('http://x:99999/files/info?path=/a'), server)
  door.routes['/proxy/:port/*']!(sent('http://[::1/proxy/80/x', { port: '80' }), server)
  door.fetch(sent('http://1.2.3.4.5/nosuch'), server)
  // A Host taken, or none Bun could use (the target alone): nothing to hand on.
  door.fetch(sent('http://h/nosuch'), server)
  door.routes['/files/*']!(sent('/files/info'), server)
  expect(handed).toEqual(['/files/info?path=/a', '/proxy/80/x', '/nosuch', undefined, undefined])
})
