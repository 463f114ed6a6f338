import { describe, expect, test } from 'bun:test'
import { CellQueue, pulled, type Overflow } from './cell-queue'
import { makeEvent } from './events'

const drop = (maxBytes = 8 << 20): Overflow => ({ policy: 'drop', maxBytes, notice: n => `${n} dropped\n` })
const block = (maxBytes = 1 << 20): Overflow => ({ policy: 'block', maxBytes })

const drain = async (q: CellQueue) => {
  const out = []
  for await (const e of q) out.push([e.type, e.text ?? ''])
  return out
}

describe.each([
  ['drop', drop()],
  ['block', block()],
] as const)('under %s', (_, overflow) => {
  test('output queued while the reader lags merges into one event per stream run', async () => {
    const q = new CellQueue(overflow)
    void q.output('stdout', 'a')
    void q.output('stdout', 'b')
    void q.output('stderr', 'c')
    q.push(makeEvent('execution_count', { execution_count: 1 }))
    q.end()
    expect(await drain(q)).toEqual([
      ['stdout', 'ab'],
      ['stderr', 'c'],
      ['execution_count', ''],
    ])
  })

  test('consecutive output of one stream is merged while the reader is away', async () => {
    const q = new CellQueue(overflow)
    q.push(makeEvent('stdout', { text: 'a' }), makeEvent('stdout', { text: 'b' }), makeEvent('stderr', { text: 'c' }))
    q.end()
    expect((await drain(q)).map(([type, text]) => [type, text])).toEqual([
      ['stdout', 'ab'],
      ['stderr', 'c'],
    ])
  })

  test('the reader waits for events pushed later and ends with the queue', async () => {
    const q = new CellQueue(overflow)
    const reading = drain(q)
    await Bun.sleep(10)
    void q.output('stdout', 'late')
    q.end()
    expect(await reading).toEqual([['stdout', 'late']])
    await q.finished
  })

  test('a reader waiting for events wakes when they come', async () => {
    const q = new CellQueue(overflow)
    const read = drain(q)
    setTimeout(() => {
      q.push(makeEvent('stdout', { text: 'late' }))
      q.end()
    }, 10)
    expect((await read).map(([, text]) => text)).toEqual(['late'])
  })
})

describe('drop', () => {
  test('output past the bound is counted in one notice where the loss happened; other events are kept', async () => {
    const q = new CellQueue(drop(10))
    void q.output('stdout', '0123456789')
    void q.output('stdout', 'lost')
    q.push(makeEvent('result', { results: { 'text/plain': 'kept' } }))
    void q.output('stderr', 'more')
    q.end(makeEvent('stdout', { text: 'last words' }))
    expect(await drain(q)).toEqual([
      ['stdout', '0123456789'],
      ['stderr', '8 dropped\n'],
      ['result', ''],
      ['stdout', 'last words'],
    ])
  })

  test('later losses count in the waiting notice, output is never merged into it, a read notice is not reused', async () => {
    const q = new CellQueue(drop(4))
    void q.output('stderr', 'abcd')
    void q.output('stderr', 'x')
    const events = q[Symbol.asyncIterator]()
    expect((await events.next()).value?.text).toBe('abcd')
    void q.output('stderr', 'ef')
    void q.output('stderr', 'ghi')
    expect((await events.next()).value?.text).toBe('4 dropped\n')
    expect((await events.next()).value?.text).toBe('ef')
    void q.output('stderr', 'jklmn')
    q.end()
    expect((await events.next()).value?.text).toBe('5 dropped\n')
    expect((await events.next()).done).toBe(true)
  })

  test('a reader that leaves early does not end the queue: the cell still owns its output', async () => {
    const q = new CellQueue(drop())
    void q.output('stdout', 'first')
    for await (const _ of q) break
    expect(q.isEnded).toBe(false)
    void q.output('stdout', 'second')
    q.end()
    expect(await drain(q)).toEqual([['stdout', 'second']])
  })
})

describe('block', () => {
  test('output within the bound returns at once; past it, only once the reader has taken enough; nothing is dropped', async () => {
    const q = new CellQueue(block(4))
    expect(q.output('stdout', 'ab')).toBeUndefined()
    const writing = q.output('stdout', 'cdef')
    expect(writing).toBeInstanceOf(Promise)
    let written = false
    void writing?.then(() => (written = true))
    await Bun.sleep(10)
    expect(written).toBe(false)
    const events = q[Symbol.asyncIterator]()
    expect((await events.next()).value?.text).toBe('abcdef')
    await writing
    q.end()
    expect((await events.next()).done).toBe(true)
  })

  test('a reader that leaves early ends the queue and frees the producers waiting for room', async () => {
    const q = new CellQueue(block(4))
    const first = q.output('stdout', 'abcdef')
    const second = q.output('stderr', 'ghijkl')
    for await (const _ of q) break
    await Promise.all([first, second])
    expect(q.isEnded).toBe(true)
  })

  test("runsOn: a reader that leaves early frees the producers; the queue stays the cell's, taking nothing more", async () => {
    const q = new CellQueue({ policy: 'block', maxBytes: 4, runsOn: true })
    const held = q.output('stdout', 'abcdef')
    for await (const _ of q) break
    await held
    expect(q.isEnded).toBe(false)
    expect(q.output('stdout', 'later')).toBeUndefined()
    expect(q.isFull).toBe(false)
    q.end()
    await q.finished
    expect(await drain(q)).toEqual([])
  })

  test('unblocked (its cell being stopped), it frees the held producer and drops past the bound, counted; nothing waits', async () => {
    const q = new CellQueue(block(4))
    const held = q.output('stdout', 'abcdef')
    expect(q.isHeld).toBe(true)
    q.unblock()
    await held
    expect(q.isHeld).toBe(false)
    expect(q.output('stdout', 'gh')).toBeUndefined()
    expect(q.output('stdout', 'ij')).toBeUndefined()
    q.push(makeEvent('execution_count', { execution_count: 1 }))
    q.end()
    expect(await drain(q)).toEqual([
      ['stdout', 'abcdef'],
      ['stderr', '[execd: 4 characters of output dropped while the cell was stopped: the reader fell behind]\n'],
      ['execution_count', ''],
    ])
  })
  test("unblocked, a display past the bound is dropped and counted; the cell's value given to end() is kept", async () => {
    const q = new CellQueue(block(10))
    const shown = (text: string) => makeEvent('result', { results: { 'text/plain': text } })
    q.push(shown('first'))
    q.unblock()
    q.push(shown('second display, past the bound'), shown('third'))
    q.end(shown('the value, past the bound too'))
    const events = await drain(q)
    expect(events.map(e => e[0])).toEqual(['result', 'stderr', 'result'])
    expect(events[1]![1]).toBe('[execd: 2 displays dropped while the cell was stopped: the reader fell behind]\n')
  })
})

describe('pulled', () => {
  const ev = (text: string) => makeEvent('stdout', { text })

  test('gives the events in order and ends when the run does; the run waits for its reader', async () => {
    let emitted = 0
    const it = pulled(async emit => {
      for (const t of ['a', 'b', 'c']) {
        emitted++
        await emit(ev(t))
      }
    })[Symbol.asyncIterator]()
    expect((await it.next()).value?.text).toBe('a')
    expect(emitted).toBeLessThanOrEqual(2)
    const rest: string[] = []
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.text!)
    expect(rest).toEqual(['b', 'c'])
  })

  test('a run that throws throws to the reader after its events', async () => {
    const seen: string[] = []
    const run = pulled(async emit => {
      await emit(ev('a'))
      throw new Error('boom')
    })
    await expect(
      (async () => {
        for await (const e of run) seen.push(e.text!)
      })(),
    ).rejects.toThrow('boom')
    expect(seen).toEqual(['a'])
  })

  test('a reader that leaves early lets the run finish', async () => {
    let finished!: () => void
    const done = new Promise<void>(r => (finished = r))
    const run = pulled(async emit => {
      for (let i = 0; i < 5; i++) await emit(ev(String(i)))
      finished()
    })
    for await (const e of run) if (e.text === '1') break
    await done
  })
})
