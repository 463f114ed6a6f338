/**
 * What an ended journal keeps (`keepEnded`): a finished cell's newest output and its result,
 * once no reader paces it; a client still reading when the cell ends loses nothing.
 */
import { expect, test } from 'bun:test'
import { EncodedEvent } from './events'
import { Journal } from './journal'
import type { SseItem } from './sse'

const KiB = 1024

/** Chunk `n`'s JSON string: `size` bytes, every one of them its number's digit. */
function chunk(n: number, size: number): Uint8Array {
  const json = new Uint8Array(size).fill(48 + (n % 10))
  json[0] = json[size - 1] = 0x22
  return json
}

/** A cell's flood: 48 chunks of 60 KiB (2.8 MiB, within the 4 MiB journal), a 20 KiB result, its end. */
function flood(j: Journal): void {
  j.tryAppend({ type: 'init', text: 'ctx', timestamp: 1 })
  for (let n = 0; n < 48; n++)
    expect(j.tryAppend(new EncodedEvent('stdout', chunk(n, 60 * KiB), true))).toBeGreaterThan(0)
  j.tryAppend({ type: 'result', results: { 'text/plain': 'x'.repeat(20 * KiB) }, timestamp: 2 })
  j.tryAppend({ type: 'execution_complete', timestamp: 3 })
  j.end()
}

async function all(it: AsyncIterable<SseItem>): Promise<SseItem[]> {
  const items: SseItem[] = []
  for await (const item of it) items.push(item)
  return items
}

test('an ended journal read by no one keeps its newest output within the bound, and its result', async () => {
  const j = new Journal({ keepEnded: 512 * KiB })
  flood(j)
  expect(j.retainedBytes).toBeLessThanOrEqual(512 * KiB)
  const replay = await all(j.read(0, { paces: false }))
  expect(replay[0]!.event).toMatchObject({ type: 'status', text: 'events_dropped' })
  const types = replay.slice(1).map(i => i.event?.type)
  // The newest chunks (about 8 of 60 KiB), then the result and the end.
  expect(types.length).toBeGreaterThan(4)
  expect(types.slice(-2)).toEqual(['result', 'execution_complete'])
  expect(replay.at(-3)!.id).toBe(49)
})

test('the client still reading when the cell ends gets all of it; the journal keeps the bound once it is done', async () => {
  const j = new Journal({ keepEnded: 512 * KiB })
  const client = j.read(0)
  flood(j)
  // Nothing dropped while it reads: the 4 MiB journal held the whole flood.
  expect(j.retainedBytes).toBeGreaterThan(48 * 60 * KiB)
  const read = await all(client)
  expect(read.map(i => i.id)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1))
  expect(j.retainedBytes).toBeLessThanOrEqual(512 * KiB)
})

test('a journal without the bound keeps what it held at its end', () => {
  const j = new Journal()
  flood(j)
  expect(j.retainedBytes).toBeGreaterThan(48 * 60 * KiB)
})

test('a result larger than the bound is kept, and what follows it', async () => {
  const j = new Journal({ keepEnded: 64 * KiB })
  for (let n = 0; n < 4; n++) j.tryAppend(new EncodedEvent('stdout', chunk(n, 60 * KiB), true))
  j.tryAppend({ type: 'result', results: { 'text/plain': 'x'.repeat(300 * KiB) }, timestamp: 2 })
  j.tryAppend(new EncodedEvent('stdout', chunk(9, 60 * KiB), true))
  j.tryAppend({ type: 'execution_complete', timestamp: 3 })
  j.end()
  const replay = await all(j.read(0, { paces: false }))
  expect(replay.slice(1).map(i => i.event?.type)).toEqual(['result', 'stdout', 'execution_complete'])
})

/** The buffer an event's JSON lies in (the journal's ring while the flood runs). */
const bufferOf = (item: SseItem): ArrayBuffer =>
  ((item.event as EncodedEvent).parts[0] as Uint8Array).buffer as ArrayBuffer
const nextTurn = () => new Promise<void>(r => setImmediate(r))
/** The flood's last chunk, as its client read it. */
const lastChunk = (items: SseItem[]): SseItem => items.findLast(i => i.event?.type === 'stdout')!

test('an ended journal that no one reads frees its ring at once, not at a collection; what it keeps reads whole', async () => {
  const j = new Journal({ keepEnded: 512 * KiB })
  const read = await (async () => {
    const client = j.read(0)
    flood(j)
    return all(client)
  })()
  const ring = bufferOf(lastChunk(read))
  // Not in the tick its reader ended in: a writer may still frame the last batch it took.
  expect(ring.byteLength).toBeGreaterThan(0)
  await nextTurn()
  expect(ring.byteLength).toBe(0)
  const replay = await all(j.read(0, { paces: false }))
  expect(lastChunk(replay).id).toBe(49)
  expect((lastChunk(replay).event as EncodedEvent).jsonText()).toBe(`"${'7'.repeat(60 * KiB - 2)}"`)
})

test('a watcher attached when the journal ends keeps the ring for the collector', async () => {
  const j = new Journal({ keepEnded: 512 * KiB })
  const client = j.read(0)
  const watcher = j.read(0, { paces: false })
  flood(j)
  await all(client)
  const watched = await all(watcher)
  await nextTurn()
  const last = lastChunk(watched)
  expect(bufferOf(last).byteLength).toBeGreaterThan(0)
  expect((last.event as EncodedEvent).jsonText()).toBe(`"${'7'.repeat(60 * KiB - 2)}"`)
})
