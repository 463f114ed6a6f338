import { expect, test } from 'bun:test'
import { makeEvent, type ExecEvent } from './events'
import { sseResponse } from './sse'
import { Streams } from './streams'

const streams = new Streams(0)
const TEXT = 'y'.repeat(1000)

/**
 * Many streams whose sources are always ready (256 clients replaying a flood's journal at
 * once): what all of them frame between two turns of the event loop is what a `/ping` waits
 * behind. A budget per writer let each frame 256 KiB per turn, 16 writers 4 MiB.
 */
test('sixteen always-ready streams frame about 256 KiB together per turn of the loop, not 256 KiB each', async () => {
  const WRITERS = 16
  let framed = 0
  const endless = async function* (): AsyncGenerator<ExecEvent> {
    for (;;) {
      framed++
      yield makeEvent('stdout', { text: TEXT })
    }
  }
  const readers = await Promise.all(
    Array.from({ length: WRITERS }, async () =>
      (await sseResponse(streams, endless(), { pingMs: 0 })).body!.getReader(),
    ),
  )
  const drained = readers.map(async r => {
    while (!(await r.read()).done);
  })
  // Events framed between consecutive turns (a `setImmediate` marker each), over 40 turns.
  const perTurn: number[] = []
  await new Promise<void>(done => {
    let last = framed
    const mark = (): void => {
      perTurn.push(framed - last)
      last = framed
      if (perTurn.length < 40) setImmediate(mark)
      else done()
    }
    setImmediate(mark)
  })
  await Promise.all(readers.map(r => r.cancel()))
  await Promise.all(drained)
  // Each frame is over 1 KiB: 256 KiB, the batch that crossed it (64 KiB) and one event per
  // other writer is under 400 of them; 16 budgets were 4096.
  expect(Math.max(...perTurn)).toBeLessThan(400)
  // It is paced, not stopped: every turn frames some.
  expect(perTurn.slice(1).every(n => n > 0)).toBe(true)
})
