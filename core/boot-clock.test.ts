import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { bootTicks } from './boot-clock'

/** /proc/uptime's seconds in ticks, from its text exactly (no floating point). */
const uptimeTicks = (): number => {
  const [whole, fraction = '0'] = readFileSync('/proc/uptime', 'latin1').split(' ')[0]!.split('.')
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0').slice(0, 2))
}

test('the boot clock reads the ticks /proc/uptime reads, between a read before and one after', () => {
  for (let i = 0; i < 200; i++) {
    const before = uptimeTicks()
    const ticks = bootTicks()
    const after = uptimeTicks()
    expect(ticks).toBeGreaterThanOrEqual(before)
    expect(ticks).toBeLessThanOrEqual(after)
  }
})
