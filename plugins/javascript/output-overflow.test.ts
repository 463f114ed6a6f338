import { expect, test } from 'bun:test'
import { CellQueue } from '../../core/cell-queue'
import { OUTPUT_OVERFLOW } from './context'

const drain = async (q: CellQueue) => {
  const out = []
  for await (const e of q) out.push([e.type, e.text ?? ''])
  return out
}

test('output beyond the bound waits for the reader, and none of it is dropped', async () => {
  const q = new CellQueue({ ...OUTPUT_OVERFLOW, maxBytes: 10 })
  expect(q.output('stdout', '12345678')).toBeUndefined()
  const held = q.output('stdout', 'too much')
  expect(held).toBeInstanceOf(Promise)
  expect(q.isHeld).toBe(true)
  q.end()
  const events = await drain(q)
  await held
  expect(events.map(e => e[1]).join('')).toBe('12345678too much')
})

test('once the cell is being stopped, output past the bound is dropped and counted instead', async () => {
  const q = new CellQueue({ ...OUTPUT_OVERFLOW, maxBytes: 10 })
  void q.output('stdout', '12345678')
  q.unblock()
  expect(q.output('stdout', 'too much')).toBeUndefined()
  q.end()
  const events = await drain(q)
  expect(events[0]).toEqual(['stdout', '12345678'])
  expect(events[1]?.[1]).toContain('8 characters of output dropped')
})
