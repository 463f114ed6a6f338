import { expect, test } from 'bun:test'
import { badPercentRun } from './percent-utf8'

test('escapes that are UTF-8 pass, whatever else the target holds', () => {
  for (const target of [
    '/ping',
    '/files/info?path=/tmp/caf%C3%A9',
    '/files/info?path=%E2%82%AC%F0%9F%98%80',
    '/files/info?path=/tmp/x%EF%BF%BD', // U+FFFD sent on purpose
    '/files/info?path=100%', // a lone % is literal (WHATWG), no byte
    '/files/info?path=%zz%2',
    '/files/info?path=a%20b%2F..%2Fc%00',
  ])
    expect({ target, run: badPercentRun(target) }).toEqual({ target, run: undefined })
})

test('escapes that are not UTF-8 are named: a lone byte, an overlong, a cut character, a surrogate', () => {
  expect(badPercentRun('/files?path=/tmp/x%ff')).toBe('%ff')
  expect(badPercentRun('/files/info?path=/etc/%c0%ae%c0%ae/passwd')).toBe('%c0%ae%c0%ae')
  expect(badPercentRun('/files/info?path=caf%C3')).toBe('%C3')
  expect(badPercentRun('/files/info?path=%ED%A0%80')).toBe('%ED%A0%80') // U+D800 as UTF-8 bytes
  expect(badPercentRun('/command/status/%ff%fe')).toBe('%ff%fe')
  expect(badPercentRun('/files/info?a=%C3%A9&path=%E9t%E9')).toBe('%E9')
})
