import { describe, expect, test } from 'bun:test'
import { makeEvent } from './events'
import { Journal } from './journal'
import type { SseItem } from './sse'

const out = (text: string) => makeEvent('stdout', { text })

async function collect(it: AsyncIterable<SseItem>): Promise<SseItem[]> {
  const items: SseItem[] = []
  for await (const x of it) items.push(x)
  return items
}

describe('Journal', () => {
  test('a reader replays from an id and then follows live until the end', async () => {
    const j = new Journal()
    await j.append(out('a'))
    await j.append(out('b'))
    const reading = collect(j.read(1))
    await j.append(out('c'))
    j.end()
    const items = await reading
    expect(items.map(i => [i.id, i.event.text])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ])
  })

  test('beyond(id) settles with the first event after id, or the end, and not before', async () => {
    const j = new Journal()
    j.tryAppend(out('init'))
    const settled: string[] = []
    void j.beyond(1).then(() => settled.push('event'))
    void j.beyond(2).then(() => settled.push('end'))
    await Bun.sleep(0)
    expect(settled).toEqual([])
    j.tryAppend(out('first'))
    await Bun.sleep(0)
    expect(settled).toEqual(['event'])
    j.end()
    await Bun.sleep(0)
    expect(settled).toEqual(['event', 'end'])
    await j.beyond(0) // passed already: at once
  })

  test('an event that pushes out several waits until the reader has taken every one of them', async () => {
    const j = new Journal({ maxBytes: 4096 })
    const reader = j.read(0)
    expect(j.tryAppend(out('a'))).toBe(1)
    expect(j.tryAppend(out('b'))).toBe(2)
    expect(j.tryAppend(out('c'))).toBe(3)
    expect((await reader.next()).value.event.text).toBe('a')
    // Needs the room of all three: the reader has taken only the first.
    const big = out('x'.repeat(4000))
    expect(j.tryAppend(big)).toBe(0)
    const appended = j.append(big)
    const rest = [(await reader.next()).value, (await reader.next()).value, (await reader.next()).value]
    expect(await appended).toBe(4)
    expect(rest.map(i => i.id)).toEqual([2, 3, 4])
  })

  test('an event dropped from the journal is let go (a finished cell kept its large value)', async () => {
    const j = new Journal({ maxBytes: 64 * 1024 })
    const appendLarge = () => {
      const large = out('x'.repeat(1 << 20))
      j.tryAppend(large)
      return new WeakRef(large)
    }
    const ref = appendLarge()
    j.tryAppend(out('a')) // no reader: the large one goes
    await Bun.sleep(0) // a WeakRef holds its target to the end of the job that made it
    Bun.gc(true)
    expect(ref.deref()).toBeUndefined()
  })

  test('without readers the oldest events are dropped and a late reader is told', async () => {
    const j = new Journal({ maxEvents: 3 })
    for (const t of ['a', 'b', 'c', 'd', 'e']) await j.append(out(t))
    j.end()
    const items = await collect(j.read(0))
    expect(items[0]?.event).toMatchObject({ type: 'status', text: 'events_dropped', dropped: { from: 1, to: 2 } })
    // The gap's last id: resumed from, the replay goes on past the gap (it was counted: 1).
    expect(items[0]?.id).toBe(2)
    expect(items.slice(1).map(i => i.id)).toEqual([3, 4, 5])
  })

  test('a live reader that lags holds the producer back instead of losing events', async () => {
    const j = new Journal({ maxEvents: 2 })
    const reader = j.read(0)
    await j.append(out('a'))
    await j.append(out('b'))
    let third = false
    const appending = j.append(out('c')).then(() => (third = true))
    await Bun.sleep(10)
    expect(third).toBe(false)
    expect((await reader.next()).value?.event.text).toBe('a')
    await appending
    expect(third).toBe(true)
    j.end()
    const rest = await collect(reader)
    expect(rest.map(i => i.event.text)).toEqual(['b', 'c'])
  })

  test('a watcher (paces: false) never holds the producer back; it is told what it missed, then follows', async () => {
    const j = new Journal({ maxEvents: 2 })
    const watcher = j.read(0, { paces: false })
    expect(j.followed).toBe(false)
    await j.append(out('a'))
    expect((await watcher.next()).value?.event.text).toBe('a')
    for (const t of ['b', 'c', 'd', 'e']) await j.append(out(t)) // none waits
    const gap = (await watcher.next()).value
    expect(gap?.event).toMatchObject({ type: 'status', text: 'events_dropped', dropped: { from: 2, to: 3 } })
    expect(gap?.id).toBe(3)
    expect((await watcher.next()).value?.event.text).toBe('d')
    await j.append(out('f'))
    j.end()
    expect((await collect(watcher)).map(i => i.event.text)).toEqual(['e', 'f'])
  })

  test('beside a watcher, the reader that paces still holds the producer back', async () => {
    const j = new Journal({ maxEvents: 1 })
    const pacer = j.read(0)
    const watcher = j.read(0, { paces: false })
    expect(j.followed).toBe(true)
    await j.append(out('a'))
    let second = false
    const appending = j.append(out('b')).then(() => (second = true))
    await Bun.sleep(10)
    expect(second).toBe(false)
    expect((await pacer.next()).value?.event.text).toBe('a')
    await appending
    await watcher.return!()
    await pacer.return!()
    expect(j.followed).toBe(false)
  })

  test('stopPacing releases a waiting producer; the reader that paced is told what it missed, then follows', async () => {
    const j = new Journal({ maxEvents: 2 })
    const reader = j.read(0)
    await j.append(out('a'))
    await j.append(out('b'))
    const appending = j.append(out('c')) // waits: the reader has not taken 'a'
    j.stopPacing()
    await appending
    await j.append(out('d')) // and nothing waits from now on, nor for a reader attached later
    const late = j.read(0)
    expect(j.followed).toBe(false)
    await j.append(out('e'))
    j.end()
    const items = await collect(reader)
    expect(items[0]?.event).toMatchObject({ type: 'status', text: 'events_dropped', dropped: { from: 1, to: 3 } })
    expect(items.slice(1).map(i => i.event.text)).toEqual(['d', 'e'])
    await late.return!()
  })

  test('a reader that detaches stops holding the producer back', async () => {
    const j = new Journal({ maxEvents: 1 })
    const reader = j.read(0)
    await j.append(out('a'))
    const appending = j.append(out('b'))
    await reader.return!()
    await appending
    expect(j.lastId).toBe(2)
  })

  test('byte bound: big events evict older ones when no reader needs them', async () => {
    const j = new Journal({ maxBytes: 10_000 })
    for (let i = 0; i < 20; i++) await j.append(out('x'.repeat(1000)))
    expect(j.firstRetainedId).toBeGreaterThan(10)
  })

  test('tryAppend adds at once while there is room and answers 0 where append would wait', async () => {
    const j = new Journal({ maxEvents: 2 })
    const reader = j.read(0)
    expect([j.tryAppend(out('a')), j.tryAppend(out('b')), j.tryAppend(out('c'))]).toEqual([1, 2, 0])
    expect((await reader.next()).value?.event.text).toBe('a')
    expect(j.tryAppend(out('c'))).toBe(3)
    j.end()
    expect((await collect(reader)).map(i => i.event.text)).toEqual(['b', 'c'])
    const unread = new Journal({ maxEvents: 1 })
    expect([unread.tryAppend(out('x')), unread.tryAppend(out('y'))]).toEqual([1, 2])
  })
})

describe('Journal output lines kept as bytes', () => {
  const bytes = (s: string) => new TextEncoder().encode(s)

  test('a following reader and a late replay get every line, in order, though the ring is reused', async () => {
    // Small limits: the ring (as big as maxBytes) is written round many times.
    const j = new Journal({ maxEvents: 64, maxBytes: 8 * 1024 })
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`)
    const seen: string[] = []
    const reading = (async () => {
      for await (const item of j.read(0)) seen.push(item.event.text!)
    })()
    for (const l of lines) await j.appendLine('stdout', bytes(l))
    j.end()
    await reading
    expect(seen).toEqual(lines)
    // What the journal still holds replays the same after it ended (kept in a buffer of its own).
    const replay: string[] = []
    for await (const item of j.read(j.lastId - 10)) replay.push(item.event.text!)
    expect(replay).toEqual(lines.slice(-10))
  })

  test('a line given as text is an ordinary event; bytes and text keep their order', async () => {
    const j = new Journal()
    expect(j.tryAppendLine('stdout', bytes('a'))).toBe(1)
    expect(j.tryAppendLine('stderr', 'é')).toBe(2)
    await j.appendLine('stdout', bytes('b'))
    j.end()
    const items: [number | undefined, string, string | undefined][] = []
    for await (const item of j.read(0)) items.push([item.id, item.event.type, item.event.text])
    expect(items).toEqual([
      [1, 'stdout', 'a'],
      [2, 'stderr', 'é'],
      [3, 'stdout', 'b'],
    ])
  })
})
