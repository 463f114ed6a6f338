import { describe, expect, test } from 'bun:test'
import { EncodedEvent } from './events'
import { Journal } from './journal'
import type { SseItem } from './sse'

/** Chunk `n`'s JSON string: `size` bytes, every one of them its number's digit. */
function chunk(n: number, size: number): Uint8Array {
  const json = new Uint8Array(size).fill(48 + (n % 10))
  json[0] = json[size - 1] = 0x22
  return json
}
const jsonOf = (item: SseItem): string => (item.event as EncodedEvent).jsonText()
const expected = (n: number, size: number): string => `"${String(n % 10).repeat(size - 2)}"`

describe('Journal output that is its JSON already (a bash cell’s chunks)', () => {
  test('is copied into the ring and its chunk freed; a follower and a late replay read every byte', async () => {
    const j = new Journal({ maxBytes: 1 << 20 })
    const size = 60 * 1024
    const follower = j.read(0)
    const seen: string[] = []
    // 64 chunks of 60 KiB through a 1 MiB ring: reused round and round while the follower reads.
    for (let n = 0; n < 64; n++) {
      const json = chunk(n, size)
      const event = new EncodedEvent('stdout', json, true)
      if (!j.tryAppend(event)) await j.append(event)
      // The journal holds a copy: the chunk's own memory is given back now, not to the collector.
      expect(json.byteLength).toBe(0)
      seen.push(jsonOf((await follower.next()).value))
    }
    j.end()
    expect(seen).toEqual(Array.from({ length: 64 }, (_, n) => expected(n, size)))
    expect((await follower.next()).done).toBe(true)
    // What an ended journal keeps is moved out of the ring, whole.
    const replay: SseItem[] = []
    for await (const item of j.read(0, { paces: false })) replay.push(item)
    expect(replay[0]!.event).toMatchObject({ type: 'status', text: 'events_dropped' })
    const kept = replay.slice(1)
    expect(kept.length).toBeGreaterThan(5)
    expect(kept.map(i => jsonOf(i))).toEqual(kept.map(i => expected(i.id! - 1, size)))
  })

  test('a watcher keeps the chunk it was handed intact while the flood laps the ring', async () => {
    const j = new Journal({ maxBytes: 256 * 1024 })
    const size = 16 * 1024
    j.tryAppend(new EncodedEvent('stdout', chunk(0, size), true))
    const watcher = j.read(0, { paces: false })
    const held = (await watcher.next()).value
    // Past the ring's size many times over: the chunk the watcher holds is not written over.
    for (let n = 1; n < 100; n++) j.tryAppend(new EncodedEvent('stderr', chunk(n, size), true))
    expect(jsonOf(held)).toBe(expected(0, size))
    // It asks for more: told what it missed, then the rest, intact.
    const gap = (await watcher.next()).value
    expect(gap.event).toMatchObject({ type: 'status', text: 'events_dropped' })
    const next = (await watcher.next()).value
    expect(jsonOf(next)).toBe(expected(next.id! - 1, size))
    j.end()
  })

  test('a chunk that is not disposable is copied and left as it was', () => {
    const j = new Journal()
    const json = chunk(7, 100)
    j.tryAppend(new EncodedEvent('stdout', json))
    expect(json.byteLength).toBe(100)
  })
})
