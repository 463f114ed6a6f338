import { describe, expect, test } from 'bun:test'
import { type SendQueue, SendQueues } from './send-queues'

const queue = (bytes: { n: number }): SendQueue => ({ counted: 0, measure: () => bytes.n })

describe('SendQueues', () => {
  test('refuses the queue that takes all of them past the budget, and counts the others afresh', () => {
    const queues = new SendQueues(100)
    const a = { n: 60 }
    const b = { n: 0 }
    const qa = queue(a)
    const qb = queue(b)
    queues.add(qa)
    queues.add(qb)
    expect(queues.within(qa)).toBe(true)
    b.n = 50
    expect(queues.within(qb)).toBe(false)
    // a drained unwatched: counting all again finds room
    a.n = 0
    expect(queues.within(qb)).toBe(true)
  })

  test('a forgotten queue gives its bytes back and counts for nothing', () => {
    const queues = new SendQueues(100)
    const a = { n: 90 }
    const qa = queue(a)
    const qb = queue({ n: 20 })
    queues.add(qa)
    queues.add(qb)
    expect(queues.within(qa)).toBe(true)
    queues.forget(qa)
    expect(queues.within(qa)).toBe(true)
    expect(queues.within(qb)).toBe(true)
  })
})
