/**
 * Statements a server must run whole (PostgreSQL's INSERT … RETURNING, a data-modifying WITH, a
 * locking SELECT): every row is written or locked, and only the answer is bounded. Before, the
 * SQL client process held every returned row to show 10,000. Its peak resident memory (VmHWM)
 * is read from /proc; the bound is far above what a bounded read takes (about 50 MiB) and far
 * below what two million rows took (about 330 MiB).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { pidsWith } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { startPostgres } from './kit/postgres'
import { createContext, expectWellFormed, ofType, resultText, runCode } from './runtime-kit'

const server = await startPostgres()
afterAll(() => server?.stop())
const dsn = server?.dsn

const peakMiB = (pid: number): number =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

describe.skipIf(!dsn)(`statements run whole on PostgreSQL${dsn ? '' : ' (skipped: no postgresql installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: dsn ?? '' } }))

  /** A fresh context (its own SQL client process, so its own peak) and a way to run cells in it. */
  async function context(): Promise<{ pid: number; sql: (code: string) => ReturnType<typeof runCode> }> {
    const before = pidsWith('sql-driver.js', fx.d.proc.pid)
    const id = await createContext(fx.d, 'sql')
    const [pid] = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
    expect(pid).toBeDefined()
    return { pid: pid!, sql: code => runCode(fx.d, code, { id, language: 'sql' }) }
  }

  const answer = (events: Awaited<ReturnType<typeof runCode>>) => {
    expectWellFormed(events)
    return ofType(events, 'result')[0]?.results['application/json'] as { rows: unknown[][]; truncated?: boolean }
  }

  test('INSERT … RETURNING and a data-modifying WITH of 2 million rows: all written, 10,000 shown, the client small', async () => {
    const { pid, sql } = await context()
    await sql('CREATE TEMPORARY TABLE t (x int, h text)')
    const inserted = answer(
      await sql('INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000000) g RETURNING x, h'),
    )
    expect(inserted.rows).toHaveLength(10_000)
    expect(inserted.rows.at(-1)).toEqual([10_000, 'b7a782741f667201b54880c925faec4b'])
    expect(inserted.truncated).toBe(true)
    const deleted = answer(await sql('WITH d AS (DELETE FROM t WHERE x > 10 RETURNING x, h) SELECT x, h FROM d'))
    expect(deleted.rows).toHaveLength(10_000)
    expect(deleted.truncated).toBe(true)
    expect(resultText(await sql('SELECT count(*) AS n FROM t'))).toEqual(['{"columns":["n"],"rows":[[10]]}'])
    expect(peakMiB(pid)).toBeLessThan(150)
  })

  test('SELECT … FOR UPDATE of 2 million rows: 10,000 shown, the client small', async () => {
    const { pid, sql } = await context()
    await sql('CREATE TEMPORARY TABLE t AS SELECT g AS x, md5(g::text) AS h FROM generate_series(1, 2000000) g')
    const locked = answer(await sql('SELECT x, h FROM t FOR UPDATE'))
    expect(locked.rows).toHaveLength(10_000)
    expect(locked.truncated).toBe(true)
    expect(peakMiB(pid)).toBeLessThan(150)
  })
})
