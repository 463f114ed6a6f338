import { expect, test } from 'bun:test'
import { boundedError, boundedErrorEvent } from './error-bound'
import { errorEvent, lineEvent } from './events'

test('an error that fits is the same object', () => {
  const e = { ename: 'ValueError', evalue: 'bad', traceback: ['ValueError: bad', '  at <cell 1>'] }
  expect(boundedError(e)).toBe(e)
  const ev = errorEvent('E', 'v', ['E: v'])
  expect(boundedErrorEvent(ev)).toBe(ev)
  const out = lineEvent('stdout', 'x'.repeat(100))
  expect(boundedErrorEvent(out)).toBe(out)
})

test('a long evalue is cut within the bound, saying how much went', () => {
  const e = boundedError({ ename: 'Error', evalue: 'x'.repeat(5000), traceback: [] }, 1000)
  expect(e.evalue.length).toBeLessThanOrEqual(1000)
  expect(e.evalue).toStartWith('x'.repeat(900))
  expect(e.evalue).toContain('4100 more characters dropped')
})

test('a traceback keeps whole lines while they fit, then says how many went', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'y'.repeat(40)}`)
  const e = boundedError({ ename: 'E', evalue: 'v', traceback: lines }, 1000)
  const kept = e.traceback.slice(0, -1)
  expect(kept).toEqual(lines.slice(0, kept.length))
  expect(kept.reduce((n, l) => n + l.length + 1, 0)).toBeLessThanOrEqual(1000)
  expect(e.traceback.at(-1)).toContain(`${100 - kept.length} more lines`)
})

test('a first traceback line longer than the bound keeps its start', () => {
  const e = boundedError({ ename: 'E', evalue: 'v', traceback: ['z'.repeat(5000), 'at x'] }, 1000)
  expect(e.traceback).toHaveLength(2)
  expect(e.traceback[0]).toBe('z'.repeat(900))
  expect(e.traceback[1]).toContain('1 more lines, 4104 characters')
})

test('a million empty lines are counted, and a name is at most 1024 characters', () => {
  const e = boundedError({ ename: 'N'.repeat(5000), evalue: '', traceback: Array(1_000_000).fill('') }, 1000)
  expect(e.traceback.length).toBeLessThan(1002)
  expect(e.ename.length).toBeLessThanOrEqual(1024)
})
