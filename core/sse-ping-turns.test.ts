import { expect, test } from 'bun:test'
import { makeEvent, type ExecEvent } from './events'
import { sseResponse } from './sse'
import { Streams } from './streams'

const streams = new Streams(0)

/**
 * Idle streams opened together have their keepalives due together: a turn of the loop wrote
 * every one of them (a socket write each) before a `/ping` was read.
 */
test('the keepalives of 1,000 idle streams due at once go out over turns of the loop, not in one', async () => {
  const STREAMS = 1000
  let quiet: () => void = () => {}
  const silent = new Promise<void>(r => (quiet = r))
  const idle = async function* (): AsyncGenerator<ExecEvent> {
    yield makeEvent('init', { text: 'idle' })
    await silent
  }
  let pings = 0
  const responses = await Promise.all(
    Array.from({ length: STREAMS }, () => sseResponse(streams, idle(), { pingMs: 200 })),
  )
  const readers = responses.map(r => r.body!.getReader())
  const decoder = new TextDecoder()
  const drained = readers.map(async r => {
    for (let c = await r.read(); !c.done; c = await r.read())
      pings += decoder.decode(c.value).split('"type":"ping"').length - 1
  })
  // Keepalives counted between consecutive turns (a `setImmediate` marker each), until each
  // stream has sent its first.
  const perTurn: number[] = []
  await new Promise<void>(done => {
    let last = 0
    const mark = (): void => {
      if (pings > last) perTurn.push(pings - last)
      last = pings
      if (pings < STREAMS) setImmediate(mark)
      else done()
    }
    setImmediate(mark)
  })
  quiet()
  await Promise.all(readers.map(r => r.cancel()))
  await Promise.all(drained)
  expect(Math.max(...perTurn)).toBeLessThanOrEqual(100)
})
