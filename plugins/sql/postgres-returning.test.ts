/**
 * PostgreSQL's writes that return rows, outside a block: put in a table of the session kept for
 * the types they return (driver.js `throughKept`), where each made a table of its own and
 * probed with another. The answers, the runs and the errors as before; a throwaway cluster as
 * in postgres.test.ts, skipped without one.
 */
import { expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { startSql, texts, serverForTests } from './test-context'

const { dsn, skip, why } = await serverForTests('postgres')

test.skipIf(skip)(
  `postgres: one-row writes make no table each; their answers, runs and errors as before${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    const one = async (cell: string) => texts(await runCell(ctx, cell))
    // The OID a new relation gets: each table made takes three (itself, its row type, its array).
    const nextOid = async (name: string) =>
      Number(
        (await one(`CREATE TEMPORARY TABLE ${name} (); SELECT '${name}'::regclass::oid::int8 AS o`))[1]!.rows[0]![0],
      )
    const serial = async () => (await one('SELECT last_value AS v FROM k_id_seq'))[0]?.rows[0]?.[0]
    try {
      await one('CREATE TEMPORARY TABLE k (id serial, x int, t text)')
      const before = await nextOid('o1')
      const cell = [...Array(50).keys()].map(i => `INSERT INTO k (x, t) VALUES (${i}, 'v${i}') RETURNING id`)
      const answers = await one(cell.join(';\n'))
      expect(answers.length).toBe(50)
      expect(answers[49]).toEqual({ columns: ['id'], rows: [[50]] })
      // Main's build: 50 writes made 100 tables (over 300 OIDs); here one, and a function.
      expect((await nextOid('o2')) - before).toBeLessThan(20)
      // An error mid-run is the statement's, run once: the serial moved 3, nothing written.
      await one('INSERT INTO k (x) VALUES (1) RETURNING id')
      const failed = await runCell(
        ctx,
        'INSERT INTO k (x) SELECT 10 / (3 - g) FROM generate_series(1, 5) g RETURNING id',
      )
      expect(errorOf(failed)?.evalue).toBe('division by zero')
      expect(await serial()).toBe(54)
      expect(await one('SELECT count(*) AS n FROM k')).toEqual([{ columns: ['n'], rows: [[51]] }])
      // Other types than the last write's (the guess missed), names of the statement's own, a
      // repeated name, a varchar after text, a domain: each its answer, run once.
      await one('CREATE DOMAIN pg_temp.positive AS int CHECK (VALUE > 0)')
      const writes = [
        ['INSERT INTO k (x) SELECT g FROM generate_series(1, 5) g RETURNING id AS "Odd name", x', ['Odd name', 'x']],
        ['INSERT INTO k (x) SELECT g FROM generate_series(1, 5) g RETURNING x AS a, x AS a', ['a', 'a']],
        ["UPDATE k SET t = 'u' || x WHERE id > 51 RETURNING t", ['t']],
        ["UPDATE k SET t = 'w' || x WHERE id > 51 RETURNING t::varchar", ['t']],
        ['DELETE FROM k WHERE id > 51 RETURNING x::pg_temp.positive AS p', ['p']],
      ] as const
      for (const [write, columns] of writes) {
        const [answer] = await one(write)
        expect(answer!.columns).toEqual([...columns])
        expect(answer!.rows.length).toBe(3)
        expect(answer!.truncated).toBe(true)
      }
      expect(await one('SELECT count(*) AS n, max(t) AS t FROM k')).toEqual([
        { columns: ['n', 't'], rows: [[51, 'v9']] },
      ])
      // A value longer than a result carries is cut as through a table of its own.
      const long = "INSERT INTO k (t) VALUES (repeat('é', 5000000)) RETURNING t, length(t) AS n"
      const own = await one(`SELECT 1 AS one; ${long}`)
      const keptAnswer = await one(long)
      expect(keptAnswer).toEqual(own.slice(1))
      expect(keptAnswer[0]!.truncated).toBe(true)
      // Our table and function gone (DISCARD TEMP drops them): the write still right, once.
      await one('CREATE TEMPORARY TABLE z (x int); INSERT INTO z VALUES (1) RETURNING x')
      await one('INSERT INTO z VALUES (2) RETURNING x')
      await one('DISCARD TEMP; CREATE TEMPORARY TABLE z (x int)')
      expect(await one('INSERT INTO z VALUES (3) RETURNING x')).toEqual([{ columns: ['x'], rows: [[3]] }])
      expect(await one('INSERT INTO z VALUES (4), (5) RETURNING x')).toEqual([{ columns: ['x'], rows: [[4], [5]] }])
      expect(await one('SELECT count(*) AS n FROM z')).toEqual([{ columns: ['n'], rows: [[3]] }])
      // An interrupt of a write through the kept table ends it; nothing written, the session lives.
      const sleeping = runCell(ctx, 'INSERT INTO z SELECT 6 FROM pg_sleep(30) RETURNING x')
      await Bun.sleep(300)
      await ctx.interrupt()
      expect(errorOf(await sleeping)?.ename).toBe('KeyboardInterrupt')
      expect(await one('SELECT count(*) AS n FROM z')).toEqual([{ columns: ['n'], rows: [[3]] }])
      // No block of ours left open.
      expect(errorOf(await runCell(ctx, 'SAVEPOINT probe'))?.evalue).toContain('transaction blocks')
    } finally {
      await ctx.close()
    }
  },
  30_000,
)

test.skipIf(skip)(
  `postgres: EXECUTE of a prepared query is read to its row limit, a prepared write runs once, each in its block${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    const one = async (cell: string) => texts(await runCell(ctx, cell))
    try {
      await one(`CREATE TEMPORARY TABLE e (x int); CREATE TEMPORARY SEQUENCE s;
        PREPARE q (int) AS SELECT g, nextval('s') AS n FROM generate_series(1, $1) g;
        PREPARE w AS INSERT INTO e SELECT g FROM generate_series(1, 5) g;
        PREPARE r AS INSERT INTO e VALUES (6), (7), (8), (9) RETURNING x`)
      expect(await one('EXECUTE q(10)')).toEqual([
        {
          columns: ['g', 'n'],
          rows: [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          truncated: true,
        },
      ])
      // Run once, whole, into the table: every row computed.
      expect(await one("SELECT currval('s') AS c")).toEqual([{ columns: ['c'], rows: [[10]] }])
      expect(await one('EXECUTE w')).toEqual([{ columns: ['affected_rows'], rows: [[5]] }])
      expect(await one('EXECUTE r')).toEqual([{ columns: ['x'], rows: [[6], [7], [8]], truncated: true }])
      expect(await one('SELECT count(*) AS n FROM e')).toEqual([{ columns: ['n'], rows: [[9]] }])
      // In the session's block: its rollback undoes the execution's writes, the error its own.
      await one('BEGIN; EXECUTE w')
      expect(errorOf(await runCell(ctx, 'EXECUTE missing'))?.evalue).toContain('missing')
      await one('ROLLBACK')
      expect(await one('SELECT count(*) AS n FROM e')).toEqual([{ columns: ['n'], rows: [[9]] }])
      expect(await one("SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'execd_rows_%'")).toEqual([
        { columns: ['n'], rows: [[0]] },
      ])
    } finally {
      await ctx.close()
    }
  },
  30_000,
)
