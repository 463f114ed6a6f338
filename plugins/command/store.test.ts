import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { Journal } from '../../core/journal'
import { rfc3339 } from './ops'
import { CommandStore, type CommandRecord } from './store'

const stores: CommandStore[] = []
afterEach(() => stores.splice(0).forEach(s => s.close()))

const make = (limits: Partial<CommandStore['limits']> = {}) => {
  const s = new CommandStore({ count: 100, ageMs: 1e9, bytes: 1e12, journals: 100, ...limits })
  stores.push(s)
  return s
}

function finished(store: CommandStore, id: string, finishedAt: number, bytes = 1, running = false): CommandRecord {
  const r: CommandRecord = {
    id,
    content: 'x',
    background: false,
    startedAt: new Date(finishedAt),
    startedMono: 0,
    finishedAt: running ? undefined : new Date(finishedAt),
    finishedAwake: running ? undefined : finishedAt,
    running,
    logBytes: bytes,
    lastEventId: 0,
    done: Promise.resolve(),
  }
  writeFileSync(store.logPathFor(id), 'x'.repeat(bytes))
  store.add(r)
  return r
}

describe('CommandStore retention', () => {
  test('keeps the newest finished commands by count and removes their logs', async () => {
    const s = make({ count: 2 })
    const rs = [1, 2, 3].map(i => finished(s, `c${i}`, i))
    s.prune(10)
    expect(rs.map(r => !!s.get(r.id))).toEqual([false, true, true])
    await s.unlinked()
    expect(rs[0] && existsSync(s.logPathFor(rs[0].id))).toBe(false)
    expect(rs.slice(1).map(r => existsSync(s.logPathFor(r.id)))).toEqual([true, true])
  })

  test('removes commands older than the age limit', () => {
    const s = make({ ageMs: 100 })
    finished(s, 'old', 0)
    finished(s, 'new', 950)
    s.prune(1000)
    expect([!!s.get('old'), !!s.get('new')]).toEqual([false, true])
  })

  test('keeps the total log bytes within the limit, oldest removed first', () => {
    const s = make({ bytes: 25 })
    for (const i of [1, 2, 3]) finished(s, `c${i}`, i, 10)
    s.prune(10)
    expect(['c1', 'c2', 'c3'].map(id => !!s.get(id))).toEqual([false, true, true])
  })

  test('running commands are never removed', () => {
    const s = make({ count: 0, ageMs: 0, bytes: 0 })
    const r = finished(s, 'running', 0, 1, true)
    s.prune(1e12)
    expect(s.get('running')).toBe(r)
  })

  test('a command is subject to the limits from when it finishes, in the order they finish', () => {
    const s = make({ count: 2 })
    const [a, b, c] = ['a', 'b', 'c'].map(id => finished(s, id, 0, 1, true))
    for (const r of [c!, a!, b!]) {
      Object.assign(r, { running: false, finishedAt: new Date() })
      s.finish(r)
    }
    expect(['a', 'b', 'c'].map(id => !!s.get(id))).toEqual([true, true, false])
  })

  test('only the newest finished commands keep their event journal', () => {
    const s = make({ journals: 2 })
    const rs = ['a', 'b', 'c'].map(id => finished(s, id, 0, 1, true))
    for (const r of rs) {
      r.journal = new Journal({ maxEvents: 4, maxBytes: 1024 })
      Object.assign(r, { running: false, finishedAt: new Date() })
      s.finish(r)
    }
    expect(rs.map(r => !!r.journal)).toEqual([false, true, true])
    expect(rs.map(r => !!s.get(r.id))).toEqual([true, true, true])
  })

  test('close removes the whole temp dir', () => {
    const s = make()
    finished(s, 'a', 0)
    s.close()
    expect(existsSync(s.dir)).toBe(false)
  })
})

test('timestamps are RFC 3339 with trailing zeros trimmed, like Go', () => {
  expect(rfc3339(new Date('2026-01-01T00:00:00.120Z'))).toBe('2026-01-01T00:00:00.12Z')
  expect(rfc3339(new Date('2026-01-01T00:00:00.000Z'))).toBe('2026-01-01T00:00:00Z')
  expect(rfc3339(new Date('2026-01-01T00:00:10.100Z'))).toBe('2026-01-01T00:00:10.1Z')
})
