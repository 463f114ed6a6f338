import { describe, expect, test } from 'bun:test'
import { DeadlineQueue, queueFor, withinQueued } from './deadline-queue'

/** A queue on a clock and a timer the test moves: `advance` runs the timer when it is due. */
function fake(ms: number) {
  let now = 0
  let timer: { fn: () => void; at: number } | undefined
  let arms = 0
  const q = new DeadlineQueue(ms, () => now, {
    set: (fn, after) => {
      if (timer) throw new Error('armed twice')
      arms++
      timer = { fn, at: now + after }
    },
  })
  return {
    q,
    get arms() {
      return arms
    },
    get armed() {
      return timer !== undefined
    },
    /** Time passes; the timer fires when its moment comes (`late`: the loop was busy, it fires later). */
    advance(by: number, late = 0) {
      now += by
      if (timer && timer.at <= now) {
        const t = timer
        timer = undefined
        now += late
        t.fn()
      }
    },
    /** execd stopped: the timer comes due on the monotonic clock, the awake clock did not move. */
    fireEarly() {
      const t = timer
      timer = undefined
      t?.fn()
    },
  }
}

describe('DeadlineQueue', () => {
  test('deadlines fire in order once their time has come, on one timer', () => {
    const f = fake(100)
    const fired: number[] = []
    f.q.add(() => fired.push(1))
    f.advance(30)
    f.q.add(() => fired.push(2))
    f.advance(69)
    expect(fired).toEqual([])
    f.advance(1)
    expect(fired).toEqual([1])
    // Armed again for the second only now, for what is left of it.
    f.advance(29)
    expect(fired).toEqual([1])
    f.advance(1)
    expect(fired).toEqual([1, 2])
    expect(f.arms).toBe(2)
    expect(f.armed).toBe(false)
    expect(f.q.size).toBe(0)
  })

  test('a cancelled deadline never fires, and many cancelled within the duration cost no timer each', () => {
    const f = fake(10)
    let fired = 0
    for (let i = 0; i < 1000; i++) {
      const d = f.q.add(() => fired++)
      f.q.cancel(d)
      f.q.cancel(d) // twice is once
    }
    expect(f.q.size).toBe(0)
    f.advance(10)
    expect(fired).toBe(0)
    expect(f.arms).toBe(1)
    expect(f.armed).toBe(false)
  })

  test('a late timer fires every deadline due by then, the others later', () => {
    const f = fake(10)
    const fired: number[] = []
    f.q.add(() => fired.push(1))
    f.advance(5)
    f.q.add(() => fired.push(2))
    f.advance(3)
    f.q.add(() => fired.push(3))
    f.advance(2, 6) // fires at 16: the first two are due, the third at 18
    expect(fired).toEqual([1, 2])
    f.advance(2)
    expect(fired).toEqual([1, 2, 3])
  })

  test('a timer that comes early (execd was stopped: its clock did not move) waits again', () => {
    const f = fake(100)
    let fired = 0
    f.q.add(() => fired++)
    f.fireEarly()
    expect(fired).toBe(0)
    expect(f.armed).toBe(true)
    f.advance(100)
    expect(fired).toBe(1)
  })

  test('cancelled deadlines behind a live one are let go at once', () => {
    const f = fake(1000)
    let slowFired = 0
    f.q.add(() => slowFired++) // a body that never comes, at the head
    for (let i = 0; i < 20_000; i++) f.q.cancel(f.q.add(() => {}))
    expect(f.q.size).toBe(1)
    f.advance(1000)
    expect(slowFired).toBe(1)
    expect(f.q.size).toBe(0)
  })

  test('a deadline added or cancelled by a firing one is kept in order', () => {
    const f = fake(10)
    const fired: string[] = []
    let second: ReturnType<typeof f.q.add> | undefined
    f.q.add(() => {
      fired.push('a')
      if (second) f.q.cancel(second)
      f.q.add(() => fired.push('c'))
    })
    second = f.q.add(() => fired.push('b'))
    f.advance(10)
    expect(fired).toEqual(['a'])
    f.advance(10)
    expect(fired).toEqual(['a', 'c'])
  })

  test('a duration out of range is refused', () => {
    expect(() => new DeadlineQueue(-1, () => 0)).toThrow(RangeError)
    expect(() => new DeadlineQueue(2 ** 31, () => 0)).toThrow(RangeError)
    expect(queueFor(2 ** 31)).toBeUndefined()
    expect(queueFor(Number.NaN)).toBeUndefined()
  })
})

describe('withinQueued', () => {
  test('the value, the failure, or timeout; past the range a timer of its own', async () => {
    expect(await withinQueued(Promise.resolve(7), 50)).toBe(7)
    expect(await withinQueued(new Promise(() => {}), 5)).toBe('timeout')
    await expect(withinQueued(Promise.reject(new Error('gone')), 50)).rejects.toThrow('gone')
    expect(await withinQueued(Promise.resolve('far'), 2 ** 32)).toBe('far')
    expect(queueFor(5)?.size).toBe(0)
  })
})
