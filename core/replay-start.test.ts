import { expect, test } from 'bun:test'
import { replayFrom, replayStart } from './replay-start'

const codeOf = (f: () => unknown): string => {
  try {
    f()
    return 'ok'
  } catch (e) {
    return (e as { code: string }).code
  }
}

test('none, a blank id or 0 is the start; the header wins over ?after=', () => {
  expect(replayStart(undefined, undefined).after).toBe(0)
  expect(replayStart(null, ' ').after).toBe(0)
  expect(replayStart('', '4').after).toBe(4)
  expect(replayStart(' 7 ', '4')).toEqual({ after: 7, named: 'Last-Event-ID 7' })
  expect(replayStart(undefined, '0')).toEqual({ after: 0, named: 'after=0' })
})

test('anything but a whole number is a 400, quoting at most 40 characters of it', () => {
  for (const bad of ['1.5', '-3', 'abc', '0x10', '1e3', '+2']) {
    expect([bad, codeOf(() => replayStart(bad, undefined))]).toEqual([bad, 'INVALID_REQUEST_BODY'])
  }
  try {
    replayStart('y'.repeat(8000), undefined)
  } catch (e) {
    expect((e as Error).message).toContain(`'${'y'.repeat(40)}…'`)
    expect((e as Error).message.length).toBeLessThan(200)
  }
})

test('an id past the last sent is refused with the last named; the last itself is taken', () => {
  expect(replayFrom(replayStart('5', undefined), 5, 'command')).toBe(5)
  expect(() => replayFrom(replayStart('6', undefined), 5, 'command')).toThrow(
    'Last-Event-ID 6 was never sent: the last is 5 of this command',
  )
  expect(codeOf(() => replayFrom(replayStart('99999999999999999999', undefined), 5, 'command'))).toBe(
    'INVALID_REQUEST_BODY',
  )
})
