import { expect, test } from 'bun:test'
import { CellQueue } from '../../core/cell-queue'
import { makeEvent } from '../../core/events'
import { OUTPUT_OVERFLOW } from './kernel'

async function drain(q: CellQueue) {
  const out = []
  for await (const e of q) out.push(e)
  return out
}

test('output past the limit is dropped and reported, the terminal event is kept', async () => {
  const q = new CellQueue({ ...OUTPUT_OVERFLOW, maxBytes: 10 })
  q.push(
    makeEvent('stdout', { text: '0123456789' }),
    makeEvent('stdout', { text: 'lost' }),
    makeEvent('stderr', { text: 'more' }),
  )
  q.end(makeEvent('error', { error: { ename: 'E', evalue: '', traceback: [] } }))
  const events = await drain(q)
  expect(events.map(e => e.type)).toEqual(['stdout', 'stderr', 'error'])
  expect(events[1]?.text).toContain('8 bytes of output dropped')
})
