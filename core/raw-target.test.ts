import { expect, test } from 'bun:test'
import { leavesProxyPrefix } from './raw-target'

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
