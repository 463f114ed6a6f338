/**
 * What the SQL client process reads of a PostgreSQL answer it shows only part of. Statements
 * the server must run whole (INSERT … RETURNING, a data-modifying WITH, a locking SELECT):
 * every row is written or locked, and only the answer is bounded; before, the process held
 * every returned row to show 10,000. One huge value (text, bytea, json, xml, an array, a
 * composite, a range): cut on the server; before, read whole and cut after. Its peak resident
 * memory (VmHWM) is read from /proc; the bound is far above what a bounded read takes (about
 * 50-70 MiB) and far below what the whole took (330-600 MiB for 2 million rows).
 *
 * The values are a quarter of the 100-200 MB they were, under a bound of 120 MiB where it was
 * 150: they took ~300 s at load 20 (the server makes them, most of the file's time), ~100 s
 * now. Read whole (cutQuery made to cut nothing), the quarters still took the client to 235
 * MiB (text and bytea), 854 (jsonb, array, xml) and 185 (composite, record, range); cut, 65-71.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { peakMiB } from './kit/peak-memory'
import { sqlClient } from './kit/sql-client'
import { startPostgres } from './kit/postgres'
import { expectWellFormed, ofType, resultText, runCode } from './runtime-kit'

const server = await startPostgres()
afterAll(() => server?.stop())
const dsn = server?.dsn
/** The client's peak after 2 million rows of which it shows 10,000, and after a row of huge values. */
const ROWS_MIB = 150
const VALUES_MIB = 120

describe.skipIf(!dsn)(`bounded reads on PostgreSQL${dsn ? '' : ' (skipped: no postgresql installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: dsn ?? '' } }))

  /** A fresh context (its own SQL client process, so its own peak) and a way to run cells in it. */
  const context = () => sqlClient(fx.d)

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
    expect(peakMiB(pid)).toBeLessThan(ROWS_MIB)
  })

  test('EXECUTE of a prepared query of 2 million rows: 10,000 shown, the client small', async () => {
    const { pid, sql } = await context()
    await sql('PREPARE many AS SELECT g, md5(g::text) AS h FROM generate_series(1, 2000000) g')
    const executed = answer(await sql('EXECUTE many'))
    expect(executed.rows).toHaveLength(10_000)
    expect(executed.rows.at(-1)?.[0]).toBe(10_000)
    expect(executed.truncated).toBe(true)
    expect(peakMiB(pid)).toBeLessThan(ROWS_MIB)
  }, 180_000)

  test("FETCH ALL of a user's cursor over 2 million rows: 10,000 shown, the cursor at its end, the client small", async () => {
    const { pid, sql } = await context()
    await sql('DECLARE mine CURSOR WITH HOLD FOR SELECT g, md5(g::text) AS h FROM generate_series(1, 2000000) g')
    const fetched = answer(await sql('FETCH ALL FROM mine'))
    expect(fetched.rows).toHaveLength(10_000)
    expect(fetched.rows.at(-1)?.[0]).toBe(10_000)
    expect(fetched.truncated).toBe(true)
    expect(answer(await sql('FETCH NEXT FROM mine')).rows).toEqual([])
    expect(peakMiB(pid)).toBeLessThan(ROWS_MIB)
  }, 180_000)

  test('SELECT … FOR UPDATE of 2 million rows: 10,000 shown, the client small', async () => {
    const { pid, sql } = await context()
    await sql('CREATE TEMPORARY TABLE t AS SELECT g AS x, md5(g::text) AS h FROM generate_series(1, 2000000) g')
    const locked = answer(await sql('SELECT x, h FROM t FOR UPDATE'))
    expect(locked.rows).toHaveLength(10_000)
    expect(locked.truncated).toBe(true)
    expect(peakMiB(pid)).toBeLessThan(ROWS_MIB)
  })

  test('a row of a 50 MB text and a 25 MB bytea: each cut to its share, the next column whole, the client small', async () => {
    const { pid, sql } = await context()
    const row = answer(
      await sql("SELECT repeat('x', 50000000) AS v, decode(repeat('ab', 25000000), 'hex') AS b, 7 AS n"),
    )
    const share = Math.floor((4 * 1024 * 1024) / 3)
    expect(row.truncated).toBe(true)
    expect(row.rows[0]?.[0]).toBe('x'.repeat(share))
    expect(row.rows[0]?.[1]).toBe(`\\x${'ab'.repeat(share >> 1)}`)
    expect(row.rows[0]?.[2]).toBe(7)
    expect(peakMiB(pid)).toBeLessThan(VALUES_MIB)
  })

  test('a row of a 50 MB jsonb, an array of 5 million and an xml of 25 MB: each cut to its share as its text, the client small', async () => {
    const { pid, sql } = await context()
    const row = answer(
      await sql(
        `SELECT jsonb_build_object('a', repeat('x', 50000000)) AS j,
                (SELECT array_agg(g) FROM generate_series(1, 5000000) g) AS a,
                xmlelement(name x, repeat('y', 25000000)) AS x, 7 AS n`,
      ),
    )
    const share = Math.floor((4 * 1024 * 1024) / 4)
    expect(row.truncated).toBe(true)
    expect(row.rows[0]?.[0]).toBe(`{"a": "${'x'.repeat(share - 7)}`)
    expect(row.rows[0]?.[1]).toStartWith('{1,2,3,')
    expect(row.rows[0]?.[1]).toHaveLength(share)
    expect(row.rows[0]?.[2]).toBe(`<x>${'y'.repeat(share - 3)}`)
    expect(row.rows[0]?.[3]).toBe(7)
    expect(peakMiB(pid)).toBeLessThan(VALUES_MIB)
  }, 180_000)

  test('a row of a 25 MB composite, record and range: each cut to its share as its text, the client small', async () => {
    const { pid, sql } = await context()
    await sql('CREATE TYPE pair AS (a text, b int); CREATE TYPE textrange AS RANGE (subtype = text)')
    try {
      const row = answer(
        await sql(
          `SELECT (repeat('x', 25000000), 1)::pair AS p, ROW(repeat('y', 25000000), 2) AS r,
                  textrange('a', repeat('z', 25000000)) AS t, 7 AS n`,
        ),
      )
      const share = Math.floor((4 * 1024 * 1024) / 4)
      expect(row.truncated).toBe(true)
      expect(row.rows[0]?.[0]).toBe(`(${'x'.repeat(share - 1)}`)
      expect(row.rows[0]?.[1]).toBe(`(${'y'.repeat(share - 1)}`)
      expect(row.rows[0]?.[2]).toBe(`[a,${'z'.repeat(share - 3)}`)
      expect(row.rows[0]?.[3]).toBe(7)
      expect(peakMiB(pid)).toBeLessThan(VALUES_MIB)
    } finally {
      await sql('DROP TYPE pair; DROP TYPE textrange')
    }
  }, 180_000)
})
