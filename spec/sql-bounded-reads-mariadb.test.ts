/**
 * What the SQL client process reads of a MariaDB answer it shows only part of, where Bun's
 * MySQL client holds a whole result (it has no cursor): a locking query (FOR UPDATE, LOCK IN
 * SHARE MODE) runs once into a temporary table, every row locked, and the table is read under
 * the select limit; before, the process held every locked row to show 10,000. What neither
 * bounds (`INSERT … RETURNING`, `EXECUTE IMMEDIATE`) the relay between client and server cuts
 * (plugins/sql/mysql-wire.js); before, 2 million rows returned took the process to 338 MiB. Its peak resident
 * memory (VmHWM) is read from /proc; the bound is far above what a bounded read takes (about
 * 50-70 MiB) and far below what the whole took (over 300 MiB for 2 million rows).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { daemonAlone } from './kit/daemon-dir'
import { peakMiB } from './kit/peak-memory'
import { sqlClient } from './kit/sql-client'
import { startMariadb } from './kit/mariadb'
import { expectWellFormed, ofType, runCode } from './runtime-kit'

const server = await startMariadb()
afterAll(() => server?.stop())
const dsn = server?.dsn

describe.skipIf(!dsn)(`bounded reads on MariaDB${dsn ? '' : ' (skipped: no mariadb-server installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: dsn ?? '' } }))

  /** A fresh context (its own SQL client process, so its own peak) and a way to run cells in it. */
  const context = () => sqlClient(fx.d)

  const answer = (events: Awaited<ReturnType<typeof runCode>>) => {
    expectWellFormed(events)
    expect(ofType(events, 'error')).toEqual([])
    return ofType(events, 'result')[0]?.results['application/json'] as { rows: unknown[][]; truncated?: boolean }
  }

  test('SELECT … FOR UPDATE of 2 million rows: 10,000 shown in order, the client small', async () => {
    const { pid, sql } = await context()
    await sql(
      'CREATE TABLE big (x int PRIMARY KEY, h char(32)); INSERT INTO big SELECT seq, md5(seq) FROM seq_1_to_2000000',
    )
    try {
      const locked = answer(await sql('SELECT x, h FROM big ORDER BY x DESC FOR UPDATE'))
      expect(locked.rows).toHaveLength(10_000)
      expect(locked.rows[0]).toEqual([2_000_000, createHash('md5').update('2000000').digest('hex')])
      expect(locked.rows.at(-1)?.[0]).toBe(1_990_001)
      expect(locked.truncated).toBe(true)
      expect(peakMiB(pid)).toBeLessThan(150)
    } finally {
      await sql('DROP TABLE big')
    }
  }, 180_000)

  test('INSERT … RETURNING of 2 million rows: each written, 10,000 shown, the client small', async () => {
    const { pid, sql } = await context()
    await sql('CREATE TABLE ret (x int PRIMARY KEY, h char(32))')
    try {
      const returned = answer(await sql('INSERT INTO ret SELECT seq, md5(seq) FROM seq_1_to_2000000 RETURNING x, h'))
      expect(returned.rows).toHaveLength(10_000)
      expect(returned.rows[0]).toEqual([1, createHash('md5').update('1').digest('hex')])
      expect(returned.truncated).toBe(true)
      expect(answer(await sql('SELECT count(*) AS n FROM ret')).rows).toEqual([[2_000_000]])
      expect(peakMiB(pid)).toBeLessThan(150)
    } finally {
      await sql('DROP TABLE ret')
    }
  }, 180_000)

  test('a query run by EXECUTE IMMEDIATE, 2 million rows: 10,000 shown, the client small', async () => {
    // Not a query to the splitter, so not under the select limit: only the relay bounds it.
    const { pid, sql } = await context()
    const executed = answer(await sql("EXECUTE IMMEDIATE 'SELECT seq, md5(seq) FROM seq_1_to_2000000'"))
    expect(executed.rows).toHaveLength(10_000)
    expect(executed.rows.at(-1)?.[0]).toBe(10_000)
    expect(executed.truncated).toBe(true)
    expect(peakMiB(pid)).toBeLessThan(150)
  }, 180_000)
})
