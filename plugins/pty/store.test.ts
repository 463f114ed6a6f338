import { describe, expect, test } from 'bun:test'
import { awakeNow } from '../../core/awake-clock'
import { ExecdError } from '../../core/errors'
import type { ProcScanner } from '../../core/proc-scan'
import { pidsInSessions } from '../../spec/kit/own-pids'
import { PtyStore } from './store'

const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await Bun.sleep(10)
  if (!check()) throw new Error('timed out')
}

describe('PtyStore', () => {
  test('unknown sessions are CONTEXT_NOT_FOUND with the reference message', () => {
    const store = new PtyStore()
    try {
      store.get('nope')
      throw new Error('expected a throw')
    } catch (e) {
      expect(e).toBeInstanceOf(ExecdError)
      expect((e as ExecdError).code).toBe('CONTEXT_NOT_FOUND')
      expect((e as ExecdError).message).toBe('pty session nope not found')
    }
  })

  test('a cwd that is missing or not a directory is refused at create', () => {
    const store = new PtyStore()
    expect(() => store.create({ cwd: '/definitely/not/here' })).toThrow('error creating pty session: ')
    expect(() => store.create({ cwd: '/etc/hostname' })).toThrow('is not a directory')
    expect(store.size).toBe(0)
  })

  test('delete kills the process and forgets the session', async () => {
    const store = new PtyStore()
    const s = store.create({ command: 'sleep 100' })
    s.start('pipe')
    await store.delete(s.id)
    expect(s.running).toBe(false)
    expect(() => store.get(s.id)).toThrow()
  })

  test('exited and never-connected sessions without a client are swept after the retention time, running ones never', async () => {
    // A retention far longer than the test: a slow machine must not age `fresh` before the first sweep.
    const store = new PtyStore({ retainMs: 60_000 })
    const exited = store.create({ command: 'true' })
    const running = store.create({ command: 'sleep 100' })
    const fresh = store.create()
    exited.start('pipe')
    running.start('pipe')
    await until(() => exited.exitCode !== null)
    expect(store.sweep(awakeNow())).toBe(0)
    expect(store.sweep(awakeNow() + 120_000)).toBe(2)
    expect(() => store.get(exited.id)).toThrow()
    expect(() => store.get(fresh.id)).toThrow()
    expect(store.get(running.id)).toBe(running)
    await store.closeAll()
    expect(running.running).toBe(false)
  })

  test('at most max sessions: the next is a 503 naming --max-ptys; a delete frees a slot', async () => {
    const store = new PtyStore({ max: 2 })
    const a = store.create()
    store.create()
    let err: unknown
    try {
      store.create()
    } catch (e) {
      err = e
    }
    expect((err as ExecdError).code).toBe('SERVICE_UNAVAILABLE')
    expect((err as ExecdError).message).toContain('at most 2 terminals (--max-ptys)')
    await store.delete(a.id)
    expect(store.create().id).toBeString()
    await store.closeAll()
  })

  test('when full, an exited session without a client gives way to a new one', async () => {
    const store = new PtyStore({ max: 1 })
    const exited = store.create({ command: 'true' })
    exited.start('pipe')
    await until(() => exited.exitCode !== null)
    const fresh = store.create()
    expect(() => store.get(exited.id)).toThrow('not found')
    expect(store.get(fresh.id)).toBe(fresh)
    expect(() => store.create()).toThrow('--max-ptys')
  })

  test('a running session with no client and no output is hung up after the idle time; an attached one is kept', async () => {
    const store = new PtyStore({ idleMs: 300 })
    store.startSweeper()
    const client = { output: () => {}, exit: () => {} }
    const abandoned = store.create({ command: 'sleep 100' })
    const watched = store.create({ command: 'sleep 100' })
    abandoned.start('pipe')
    abandoned.attach(client, 0)
    abandoned.detach(client)
    watched.start('pipe')
    watched.attach(client, 0)
    await until(() => !abandoned.running)
    expect(abandoned.running).toBe(false)
    expect(() => store.get(abandoned.id)).toThrow('not found')
    expect(watched.running).toBe(true)
    await store.closeAll()
    expect(watched.running).toBe(false)
  })

  test('closing 40 terminals reads /proc a few times in all, without stalling the event loop', async () => {
    const store = new PtyStore({ max: 0 })
    const scanner = (store as unknown as { scanner: ProcScanner }).scanner
    let scans = 0
    const scan = scanner.scan.bind(scanner)
    scanner.scan = () => {
      scans++
      return scan()
    }
    const client = { output: () => {}, exit: () => {} }
    const sessions = Array.from({ length: 40 }, () => store.create())
    for (const s of sessions) {
      s.start('pty')
      s.attach(client, 0)
      s.write("trap '' HUP; sleep 700.5 & sleep 700.25\n")
    }
    const sids = sessions.map(s => s.pid!)
    await until(() => pidsInSessions('sleep 700.', sids).length >= 80)
    let last = performance.now()
    let longestGap = 0
    const ticker = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last)
      last = performance.now()
    }, 5)
    await store.closeAll()
    clearInterval(ticker)
    expect(pidsInSessions('sleep 700.', sids)).toEqual([])
    expect(sessions.filter(s => s.running)).toEqual([])
    // Before, every terminal scanned /proc three times and again while waiting: 120+ scans.
    expect(scans).toBeLessThan(40)
    expect(longestGap).toBeLessThan(1000)
  }, 30_000)
})
