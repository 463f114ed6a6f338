import { expect, test } from 'bun:test'
import { enteredPrefix, leavesProxyPrefix } from './raw-target'

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
