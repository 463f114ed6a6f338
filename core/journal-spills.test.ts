/**
 * A journal's spilled values (core/spilled-bytes.ts): counted at their handle, so one past the
 * journal's bytes stays replayable; held open by the entry and by each reader handed it, so a
 * writer still sending one reads its own bytes after the journal let go of it.
 */
import { expect, test } from 'bun:test'
import { EncodedEvent } from './events'
import { Journal } from './journal'
import { SpilledFile, spilledBytesHeld } from './spilled-bytes'

const MiB = 1024 * 1024

/** A result event whose JSON (`size` bytes) lies in a spilled file. */
function spilledResult(size: number): { event: EncodedEvent; file: SpilledFile } {
  const file = SpilledFile.open(size) as SpilledFile
  expect(file).toBeInstanceOf(SpilledFile)
  const json = new Uint8Array(size).fill(0x78)
  json[0] = 0x7b
  json.set(new TextEncoder().encode('"text/plain":"'), 1)
  json[size - 2] = 0x22
  json[size - 1] = 0x7d
  expect(file.append(json)).toBeUndefined()
  return { event: new EncodedEvent('result', [file.range(0, size)]), file }
}

test('a spilled value larger than the journal is still replayed after the execution completes', () => {
  const j = new Journal({ maxBytes: 1 * MiB })
  j.tryAppend({ type: 'execution_count', timestamp: 1 })
  const { event } = spilledResult(3 * MiB)
  expect(j.tryAppend(event)).toBe(2)
  j.tryAppend({ type: 'execution_complete', timestamp: 2 })
  j.end()
  const it = j.read(1, { paces: false })
  const first = it.ready()!
  expect(first.done).toBe(false)
  expect((first.value as { event: EncodedEvent }).event.type).toBe('result')
})

test('a value the journal gives up stays open for the reader sending it, and closes when it asks for the next', () => {
  const before = spilledBytesHeld()
  const j = new Journal()
  const { event, file } = spilledResult(2 * MiB)
  j.tryAppend(event)
  j.tryAppend({ type: 'execution_complete', timestamp: 2 })
  j.end()
  const it = j.read(0, { paces: false })
  expect(it.ready()!.done).toBe(false)
  j.giveUp(file)
  expect(j.firstRetainedId).toBe(2)
  // the reader has not asked for the next: its writer may be reading the file a slice at a time
  expect(file.open).toBe(true)
  expect(file.read(0, 2)).toEqual(new Uint8Array([0x7b, 0x22]))
  expect(spilledBytesHeld()).toBe(before + 2 * MiB)
  expect(it.ready()!.done).toBe(false)
  expect(file.open).toBe(false)
  expect(spilledBytesHeld()).toBe(before)
  expect(() => file.read(0, 2)).toThrow('given up')
})

test('a value no reader was handed is closed when the journal drops it', () => {
  const before = spilledBytesHeld()
  const j = new Journal({ maxEvents: 2 })
  const { event, file } = spilledResult(2 * MiB)
  j.tryAppend(event)
  j.tryAppend({ type: 'execution_complete', timestamp: 2 })
  expect(file.open).toBe(true)
  j.tryAppend({ type: 'status', text: 'x', timestamp: 3 })
  expect(file.open).toBe(false)
  expect(spilledBytesHeld()).toBe(before)
})

test('an ended journal gives its spilled value back once its keepSpilled is up, and its replay says so', async () => {
  const j = new Journal({ keepSpilled: 50 })
  const { event, file } = spilledResult(2 * MiB)
  // (others' files may be collected meanwhile: the count only falls by this one's at least)
  const held = spilledBytesHeld()
  j.tryAppend(event)
  j.tryAppend({ type: 'execution_complete', timestamp: 2 })
  j.end()
  // replayable at first, as before
  expect(file.open).toBe(true)
  for (let waited = 0; file.open && waited < 5000; waited += 10) await Bun.sleep(10)
  expect(file.open).toBe(false)
  expect(spilledBytesHeld()).toBeLessThanOrEqual(held - 2 * MiB)
  const first = j.read(0, { paces: false }).ready()!
  expect((first.value as { event: { text?: string } }).event.text).toBe('events_dropped')
})

test('an ended journal keeps its spilled value while replays keep reading it, and gives it back keepSpilled after the last', async () => {
  const KEEP_MS = 600
  const j = new Journal({ keepSpilled: KEEP_MS })
  const { event, file } = spilledResult(2 * MiB)
  j.tryAppend(event)
  j.tryAppend({ type: 'execution_complete', timestamp: 2 })
  j.end()
  // Replays, each reading the value whole, for three times its keepSpilled: on the build before,
  // its time counted from the execution's end, and a replay after it said events_dropped.
  const ended = performance.now()
  let replays = 0
  while (performance.now() - ended < 3 * KEEP_MS) {
    const it = j.read(0, { paces: false })
    const first = it.ready()!
    expect((first.value as { event: { type: string } }).event.type).toBe('result')
    expect(file.read(0, 2)).toEqual(new Uint8Array([0x7b, 0x22]))
    expect((it.ready()!.value as { event: { type: string } }).event.type).toBe('execution_complete')
    expect(it.ready()!.done).toBe(true)
    replays++
    await Bun.sleep(KEEP_MS / 6)
  }
  expect(replays).toBeGreaterThan(3)
  expect(file.open).toBe(true)
  // No reader since: given back once its time from the last read is up.
  for (let waited = 0; file.open && waited < 10_000; waited += 20) await Bun.sleep(20)
  expect(file.open).toBe(false)
})
