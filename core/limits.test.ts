import { describe, expect, test } from 'bun:test'
import { ExecdError } from './errors'
import { Capacity, IdleExpiry, QueuedWork } from './limits'
import { setLongTimeout } from './timers'

describe('Capacity', () => {
  test('a full pool throws 503 naming the limit and its option', () => {
    const cap = new Capacity('sessions', 2, 'max-sessions')
    const a = cap.acquire()
    cap.acquire()
    let err: unknown
    try {
      cap.acquire()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ExecdError)
    expect((err as ExecdError).status).toBe(503)
    expect((err as ExecdError).message).toContain('--max-sessions')
    a()
    a() // idempotent
    expect(cap.count).toBe(1)
    cap.acquire()
    expect(cap.count).toBe(2)
  })

  test('a zero maximum means no limit', () => {
    const cap = new Capacity('streams', 0, 'max-streams')
    for (let i = 0; i < 1000; i++) cap.acquire()
    expect(cap.count).toBe(1000)
  })
})

describe('IdleExpiry', () => {
  test('expires only keys idle for longer than the limit', async () => {
    let now = 0
    const expired: string[] = []
    const idle = new IdleExpiry<string>(
      100,
      k => void expired.push(k),
      () => now,
    )
    idle.touch('a')
    now = 60
    idle.touch('b')
    now = 150
    expect(idle.sweep()).toEqual(['a'])
    idle.forget('b')
    now = 1000
    expect(idle.sweep()).toEqual([])
    await Promise.resolve()
    await Promise.resolve()
    expect(expired).toEqual(['a'])
  })
})

describe('setLongTimeout', () => {
  test('a delay past the 32-bit timer range does not fire at once', async () => {
    let fired = false
    const t = setLongTimeout(() => (fired = true), 3_000_000_000)
    await Bun.sleep(30)
    expect(fired).toBe(false)
    t.clear()
  })

  test('Infinity never fires, a short delay does', async () => {
    let a = false
    let b = false
    setLongTimeout(() => (a = true), Infinity)
    setLongTimeout(() => (b = true), 5)
    await Bun.sleep(40)
    expect(a).toBe(false)
    expect(b).toBe(true)
  })
})

describe('QueuedWork', () => {
  test('a holder past its count, or all past the characters, is a 503; a release gives the room back once', () => {
    const work = new QueuedWork<object>('runs', 2, 10, 'wait')
    const a = {}
    const b = {}
    const r1 = work.hold(a, 'xxx')
    work.hold(a, 'x')
    expect(() => work.check(a, 'the shell', '')).toThrow(
      'limit reached: the shell has 2 runs queued or running, at most 2; wait',
    )
    work.check(b, 'the shell', 'xxxxxx')
    expect(() => work.check(b, 'the shell', 'xxxxxxx')).toThrow('hold 4 characters of code, and 7 more would pass 10')
    r1()
    r1()
    work.check(a, 'the shell', 'xxxxxxxxx')
    expect(() => work.check(a, 'the shell', 'xxxxxxxxxx')).toThrow('hold 1 characters')
  })
})
