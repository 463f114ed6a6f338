import { expect, test } from 'bun:test'
import { makeEvent } from '../../core/events'
import { EventQueue } from './event-queue'

const drain = async (q: EventQueue) => {
  const out = []
  for await (const e of q) out.push([e.type, e.text ?? ''])
  return out
}

test('output queued while the reader lags merges into one event per stream run', async () => {
  const q = new EventQueue()
  q.output('stdout', 'a')
  q.output('stdout', 'b')
  q.output('stderr', 'c')
  q.push(makeEvent('execution_count', { execution_count: 1 }))
  q.end()
  expect(await drain(q)).toEqual([
    ['stdout', 'ab'],
    ['stderr', 'c'],
    ['execution_count', ''],
  ])
})

test('output beyond the bound is dropped and the reader is told how much', async () => {
  const q = new EventQueue(10)
  q.output('stdout', '12345678')
  q.output('stdout', 'too much')
  q.end()
  const events = await drain(q)
  expect(events[0]).toEqual(['stdout', '12345678'])
  expect(events[1]![1]).toContain('8 characters of output dropped')
})

test('the reader waits for events pushed later and ends with the queue', async () => {
  const q = new EventQueue()
  const reading = drain(q)
  await Bun.sleep(10)
  q.output('stdout', 'late')
  q.end()
  expect(await reading).toEqual([['stdout', 'late']])
  await q.finished
})
