import { describe, expect, test } from 'bun:test'
import { inLanes } from './lanes'

describe('inLanes', () => {
  test('every item once, never more than the lanes in flight', async () => {
    let inFlight = 0
    let most = 0
    const seen: number[] = []
    await inLanes([...Array(50).keys()], 4, async n => {
      most = Math.max(most, ++inFlight)
      await Bun.sleep(1)
      seen.push(n)
      inFlight--
    })
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()])
    expect(most).toBe(4)
  })

  test('the first failure is thrown and no item is started after it', async () => {
    const started: number[] = []
    const run = inLanes([0, 1, 2, 3, 4, 5], 2, async n => {
      started.push(n)
      if (n === 1) throw new Error('one failed')
      await Bun.sleep(5)
    })
    await expect(run).rejects.toThrow('one failed')
    expect(started).toEqual([0, 1])
  })
})
