/**
 * A chunk of output nobody reads is handed on in pieces, the pacer asked before each: a 64 KiB
 * chunk of two-byte lines was 32,768 events framed in one go, 4–240 ms of the loop at load 10,
 * and the pacer heard of it only after (spec/fairness failed 1 run in 40).
 */
import { afterAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { PIECE_BYTES, UnreadPacer } from '../../core/fair'
import { CommandOps } from './ops'
import type { CommandRecord } from './store'

/** The log's size each time the pacer is told of work: how much went on between its asks. */
class WatchingPacer extends UnreadPacer {
  record?: CommandRecord
  readonly sizes: number[] = []
  override spend(ms: number): void {
    this.sizes.push(this.record!.logBytes)
    super.spend(ms)
  }
}

const ops = new CommandOps({
  logMaxBytes: 1 << 20,
  logTotalBytes: 1 << 30,
  interruptGraceMs: 200,
  retention: { count: 16, ageMs: 3_600_000, bytes: 1 << 30, journals: 16 },
})
afterAll(() => ops.close())

test('64 KiB of `y` lines in one write: the pacer hears of every 8 KiB, and every byte is logged', async () => {
  const pacer = new WatchingPacer()
  ;(ops as unknown as { unread: UnreadPacer }).unread = pacer
  const python = process.env.EXECD_PYTHON ?? 'python3'
  // One write(2) of a pipe's whole capacity: the reader wakes once and reads it as one chunk.
  const record = ops.start({
    command: `${python} -c 'import os; os.write(1, b"y\\n" * 32768)'`,
    background: true,
  })
  pacer.record = record // its pipe is read later, in a turn of its own
  await record.done
  const steps = pacer.sizes.map((size, i) => size - (pacer.sizes[i - 1] ?? 0))
  expect(pacer.sizes.at(-1)).toBe(65536)
  expect(Math.max(...steps)).toBeLessThanOrEqual(PIECE_BYTES)
  expect(readFileSync(ops.store.logPathFor(record.id), 'latin1')).toBe('y\n'.repeat(32768))
  expect(record.lastEventId).toBeGreaterThanOrEqual(32768 + 3) // init, ping, the lines, the end
})
