import { expect, test } from 'bun:test'
import { readdirSync, readlinkSync } from 'node:fs'
import { schedClock } from './sched-clock'

/** This process's descriptors open on its main thread's schedstat. */
const schedstatFds = () =>
  readdirSync('/proc/self/fd').filter(fd => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).endsWith(`/task/${process.pid}/schedstat`)
    } catch {
      return false
    }
  })

test('the scheduler clock is read through one kept descriptor, and reads the clock as it is now', () => {
  const first = schedClock()
  expect(first).toBeDefined()
  // The awake clock looks each second: one pread, not an open, two reads into a fresh 256 KiB
  // buffer and a close each time.
  expect(schedStatFdsAfter(50)).toHaveLength(1)
  const until = performance.now() + 30
  while (performance.now() < until) {}
  // Read again from its start (a pread at 0 makes the file anew): the busy 30 ms are counted.
  const after = schedClock()!
  expect(after.run + after.wait).toBeGreaterThan(first!.run + first!.wait + 20)
})

function schedStatFdsAfter(readings: number): string[] {
  for (let i = 0; i < readings; i++) schedClock()
  return schedstatFds()
}
