import { expect, test } from 'bun:test'
import { lineEvent } from './events'
import { sseTurns } from './fair'
import { Journal } from './journal'
import { sseResponse } from './sse'
import { Streams } from './streams'

const streams = new Streams(0)

/**
 * Many streams opening together on a journal that holds a flood (256 clients of
 * `GET /command/{id}/events` at once): each opening framed its first batch (64 KiB) without
 * asking the budget all writers share, so 256 openings framed 16 MiB in the turn they started,
 * and a `/ping` waited behind it.
 */
test('sixty-four streams opening at once on a flood frame about 256 KiB together in any turn of the loop', async () => {
  const j = new Journal({ maxEvents: 100_000, maxBytes: 64 * 1024 * 1024 })
  for (let i = 0; i < 4000; i++) j.tryAppend(lineEvent('stdout', `${i} ${'y'.repeat(1000)}`))
  let framed = 0
  const count = sseTurns.count.bind(sseTurns)
  sseTurns.count = (bytes: number) => {
    framed += bytes
    count(bytes)
  }
  const perTurn: number[] = []
  const marked = new Promise<void>(done => {
    let last = framed
    const mark = (): void => {
      perTurn.push(framed - last)
      last = framed
      if (perTurn.length < 60) setImmediate(mark)
      else done()
    }
    setImmediate(mark)
  })
  try {
    const responses = await Promise.all(
      Array.from({ length: 64 }, () => sseResponse(streams, j.read(0, { paces: false }), { pingMs: 0 })),
    )
    const readers = responses.map(r => r.body!.getReader())
    const drained = readers.map(async r => {
      while (!(await r.read()).done);
    })
    await marked
    await Promise.all(readers.map(r => r.cancel()))
    await Promise.all(drained)
  } finally {
    sseTurns.count = count
    j.end()
  }
  // 256 KiB, the batch that crossed it (64 KiB) and a little: 64 first batches were 4 MiB.
  expect(Math.max(...perTurn)).toBeLessThan(400 * 1024)
  expect(perTurn.reduce((a, b) => a + b, 0)).toBeGreaterThan(1024 * 1024)
})
