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

  test('the pool says who holds it: by kind, oldest first, released slots gone, live beside it', () => {
    let live = 2
    const cap = new Capacity('unit pool', 3, 'max-unit', () => live)
    const a = cap.acquire('POST /command')
    cap.acquire('POST /code')
    cap.acquire('POST /command')
    let err: ExecdError | undefined
    try {
      cap.acquire('POST /code')
    } catch (e) {
      err = e as ExecdError
    }
    const held = err!.held!()
    expect(held).toMatchObject({ what: 'unit pool', max: 3, held: 3, live: 2 })
    expect(held.byKind).toEqual({ 'POST /command': 2, 'POST /code': 1 })
    expect(held.oldest.map(s => s.kind)).toEqual(['POST /command', 'POST /code', 'POST /command'])
    a()
    a()
    live = 1
    expect(cap.held()).toMatchObject({ held: 2, live: 1, byKind: { 'POST /command': 1, 'POST /code': 1 } })
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

  test('its holds are listed under its pool name, each released once', () => {
    const work = new QueuedWork<object>('runs', 2, 100, 'wait', 'unit runs')
    const a = {}
    const r = work.hold(a, 'x', 'bash')
    work.hold(a, 'y', 'bash')
    let err: ExecdError | undefined
    try {
      work.check(a, 'the shell', '')
    } catch (e) {
      err = e as ExecdError
    }
    expect(err!.held!()).toMatchObject({ what: 'unit runs', max: 2, held: 2, byKind: { bash: 2 } })
    r()
    r()
    expect(work.held()).toMatchObject({ what: 'unit runs', held: 1, byKind: { bash: 1 } })
    work.check(a, 'the shell', 'z')
  })
})
