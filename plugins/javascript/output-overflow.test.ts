import { expect, test } from 'bun:test'
import { CellQueue } from '../../core/cell-queue'
import { OUTPUT_OVERFLOW } from './context'

const drain = async (q: CellQueue) => {
  const out = []
  for await (const e of q) out.push([e.type, e.text ?? ''])
  return out
}

test('output beyond the bound is dropped and the reader is told how much', async () => {
  const q = new CellQueue({ ...OUTPUT_OVERFLOW, maxBytes: 10 })
  void q.output('stdout', '12345678')
  void q.output('stdout', 'too much')
  q.end()
  const events = await drain(q)
  expect(events[0]).toEqual(['stdout', '12345678'])
  expect(events[1]?.[1]).toContain('8 characters of output dropped')
})
