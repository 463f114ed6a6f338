import { expect, test } from 'bun:test'
import { RequestsInFlight, SENDING } from './requests-in-flight'

/** A promise settled when asked. */
function pending(): { promise: Promise<void>; settle(ok: boolean): void } {
  let settle!: (ok: boolean) => void
  const promise = new Promise<void>((resolve, reject) => (settle = ok => (ok ? resolve() : reject(new Error('x')))))
  promise.catch(() => {})
  return { promise, settle }
}

test('a request is held until its answer settles, either way; the rest of Bun’s count is sending', async () => {
  const inFlight = new RequestsInFlight(8, (method, path) => `${method} /${path.split('/')[1]}`)
  const a = pending()
  const b = pending()
  const c = pending()
  expect(inFlight.track('POST', '/files/upload', a.promise)).toBe(a.promise)
  inFlight.track('POST', '/code', b.promise)
  inFlight.track('GET', '/files/download', c.promise)
  // Bun counts the three, two answered and still sending, and the one refused.
  expect(inFlight.held(6)).toMatchObject({
    what: 'requests in flight',
    max: 8,
    held: 5,
    byKind: { 'POST /files': 1, 'POST /code': 1, 'GET /files': 1, [SENDING]: 2 },
  })
  expect(inFlight.held(6).oldest.map(s => s.kind)).toEqual(['POST /files', 'POST /code', 'GET /files'])
  b.settle(true)
  a.settle(false)
  await Bun.sleep(0)
  expect(inFlight.held(2)).toMatchObject({ held: 1, byKind: { 'GET /files': 1 } })
  c.settle(true)
  await Bun.sleep(0)
  expect(inFlight.held(1)).toMatchObject({ held: 0, byKind: {}, oldest: [] })
  // The list is whole again after emptying: a new request is its first.
  inFlight.track('GET', '/metrics', pending().promise)
  expect(inFlight.held(2).oldest.map(s => s.kind)).toEqual(['GET /metrics'])
})
