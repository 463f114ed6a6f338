import { expect, test } from 'bun:test'
import { makeEvent } from '../../core/events'
import { EventQueue } from './queue'

async function drain(q: EventQueue) {
  const out = []
  for await (const e of q) out.push(e)
  return out
}

test('consecutive output of one stream is merged while the reader is away', async () => {
  const q = new EventQueue()
  q.push(makeEvent('stdout', { text: 'a' }), makeEvent('stdout', { text: 'b' }), makeEvent('stderr', { text: 'c' }))
  q.end()
  expect((await drain(q)).map(e => [e.type, e.text])).toEqual([
    ['stdout', 'ab'],
    ['stderr', 'c'],
  ])
})

test('output past the limit is dropped and reported, the terminal event is kept', async () => {
  const q = new EventQueue(10)
  q.push(
    makeEvent('stdout', { text: '0123456789' }),
    makeEvent('stdout', { text: 'lost' }),
    makeEvent('stderr', { text: 'more' }),
  )
  q.end(makeEvent('error', { error: { ename: 'E', evalue: '', traceback: [] } }))
  const events = await drain(q)
  expect(events.map(e => e.type)).toEqual(['stdout', 'stderr', 'error'])
  expect(events[1].text).toContain('8 bytes of output dropped')
})

test('a reader waiting for events wakes when they come', async () => {
  const q = new EventQueue()
  const read = drain(q)
  setTimeout(() => {
    q.push(makeEvent('stdout', { text: 'late' }))
    q.end()
  }, 10)
  expect((await read).map(e => e.text)).toEqual(['late'])
})
