import { describe, expect, test } from 'bun:test'
import { setLongTimeout, sleep, within } from './timers'

describe('within', () => {
  test('a promise settled in time gives its value; a rejection passes through', async () => {
    expect(await within(Promise.resolve(7), 1000)).toBe(7)
    expect(
      await within(
        sleep(1).then(() => 'late enough'),
        1000,
      ),
    ).toBe('late enough')
    await expect(within(Promise.reject(new Error('no')), 1000)).rejects.toThrow('no')
  })

  test('a wait of 2^31 ms or more is that long, not 1 ms (setTimeout wraps it)', async () => {
    for (const ms of [2 ** 31, 3e9, Number.MAX_SAFE_INTEGER, Infinity]) {
      expect(
        await within(
          sleep(30).then(() => 'in time'),
          ms,
        ),
      ).toBe('in time')
    }
  })

  test("a promise that outlasts the wait gives 'timeout', and its later settling changes nothing", async () => {
    let settle!: (v: string) => void
    const slow = new Promise<string>(r => (settle = r))
    expect(await within(slow, 5)).toBe('timeout')
    settle('after')
    expect(await slow).toBe('after')
  })
})
