/**
 * The sql runtime on a PostgreSQL server: EXECD_TEST_SQL_DSN's, or a throwaway cluster when
 * Debian's postgresql package is installed (spec/kit/postgres.ts); skipped with neither.
 */
import { expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { interruptKeepsSession, startSql, texts, serverForTests } from './test-context'

const { dsn, skip, why } = await serverForTests('postgres')

const startServer = () => startSql({ 'sql-dsn': dsn })

test.skipIf(skip)(`postgres: session state lasts the context, dollar quotes split right${why}`, async () => {
  const ctx = await startServer()
  try {
    await runCell(ctx, 'CREATE TEMPORARY TABLE tmp (x int); INSERT INTO tmp VALUES (1), (2)')
    await runCell(
      ctx,
      'CREATE FUNCTION pg_temp.twice(n int) RETURNS int AS $$ BEGIN RETURN n * 2; END; $$ LANGUAGE plpgsql',
    )
    expect(texts(await runCell(ctx, 'UPDATE tmp SET x = pg_temp.twice(x); SELECT sum(x) AS s FROM tmp'))).toEqual([
      { columns: ['affected_rows'], rows: [[2]] },
      { columns: ['s'], rows: [[6]] },
    ])
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`postgres: values keep their JSON types${why}`, async () => {
  const ctx = await startServer()
  try {
    const [table] = texts(
      await runCell(
        ctx,
        `SELECT 1::bigint AS b, 2.5::numeric AS n, '{"k":[1]}'::jsonb AS j, ARRAY[1,2] AS a, true AS t, '\\x00ff'::bytea AS y, NULL AS z WHERE false`,
      ),
    )
    expect(table).toEqual({ columns: ['b', 'n', 'j', 'a', 't', 'y', 'z'], rows: [] })
    const [row] = texts(
      await runCell(ctx, `SELECT 1::int AS i, '{"k":[1]}'::jsonb AS j, ARRAY[1,2] AS a, true AS t, NULL AS z`),
    )
    expect(row).toEqual({ columns: ['i', 'j', 'a', 't', 'z'], rows: [[1, { k: [1] }, [1, 2], true, null]] })
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`postgres: an interrupt cancels the running query and the session survives${why}`, async () => {
  const ctx = await startServer()
  try {
    await interruptKeepsSession(ctx, 'SELECT pg_sleep(30)')
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`postgres: errors carry the server message and code${why}`, async () => {
  const ctx = await startServer()
  try {
    const error = errorOf(await runCell(ctx, 'INSERT INTO missing_table VALUES (1)'))
    expect(error?.ename).toBe('DBExecError')
    expect(error?.evalue).toBe('relation "missing_table" does not exist')
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(
  `postgres: a query is read through a cursor to its row limit, in the transaction it would have had${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    // Outside a transaction block SAVEPOINT is refused: no transaction of ours is left open.
    const noBlock = async () =>
      expect(errorOf(await runCell(ctx, 'SAVEPOINT probe'))?.evalue).toContain('transaction blocks')
    try {
      await runCell(ctx, 'CREATE TEMPORARY TABLE t (x int); CREATE TEMPORARY SEQUENCE s')
      // Rows past the limit and one more are never computed: the sequence moved 4, not 10.
      expect(texts(await runCell(ctx, "SELECT nextval('s') AS n FROM generate_series(1, 10)"))).toEqual([
        { columns: ['n'], rows: [[1], [2], [3]], truncated: true },
      ])
      expect(texts(await runCell(ctx, 'SELECT last_value AS v FROM s'))).toEqual([{ columns: ['v'], rows: [[4]] }])
      await noBlock()
      // What a cursor cannot hold runs as it is, once: a data-modifying WITH, INSERT … RETURNING.
      const written = await runCell(
        ctx,
        'WITH w AS (INSERT INTO t SELECT g FROM generate_series(1, 5) g RETURNING x) SELECT x FROM w; INSERT INTO t VALUES (6), (7) RETURNING x; SELECT count(*) AS n FROM t',
      )
      expect(texts(written)).toEqual([
        { columns: ['x'], rows: [[1], [2], [3]], truncated: true },
        { columns: ['x'], rows: [[6], [7]] },
        { columns: ['n'], rows: [[7]] },
      ])
      // A WITH that ends in an INSERT, and SELECT … INTO, are no queries: counts, as before.
      expect(
        texts(
          await runCell(ctx, 'WITH v AS (SELECT 0 AS x) INSERT INTO t SELECT x FROM v; SELECT 1 AS a INTO TEMP made'),
        ),
      ).toEqual([
        { columns: ['affected_rows'], rows: [[1]] },
        // The server tags it SELECT 1, which Bun's client counts as no rows written.
        { columns: ['affected_rows'], rows: [[0]] },
      ])
      await runCell(ctx, 'DELETE FROM t WHERE x = 0')
      // In the session's own transaction: a query leaves it open and uncommitted.
      await runCell(ctx, 'BEGIN; INSERT INTO t VALUES (8); SELECT x FROM t ORDER BY x DESC')
      expect(texts(await runCell(ctx, 'SELECT max(x) AS m FROM t; ROLLBACK; SELECT max(x) AS m FROM t'))).toEqual([
        { columns: ['m'], rows: [[8]] },
        { columns: ['affected_rows'], rows: [[0]] },
        { columns: ['m'], rows: [[7]] },
      ])
      // Errors as the statement alone gives them: planning (a missing table) and mid-rows.
      expect(errorOf(await runCell(ctx, 'SELECT * FROM missing_table'))?.evalue).toBe(
        'relation "missing_table" does not exist',
      )
      const midRows = await runCell(ctx, 'SELECT 10 / (3 - g) AS q FROM generate_series(1, 5) g')
      expect(errorOf(midRows)?.evalue).toBe('division by zero')
      await noBlock()
      // … and in a block, an error aborts it as before.
      const aborted = await runCell(ctx, 'BEGIN; SELECT 1 / 0 AS z; SELECT 1 AS one')
      expect(errorOf(aborted)?.evalue).toBe('division by zero')
      expect(errorOf(await runCell(ctx, 'SELECT 1 AS one'))?.evalue).toContain('current transaction is aborted')
      await runCell(ctx, 'ROLLBACK')
      await noBlock()
      // An interrupt mid-query leaves no block of ours either.
      await interruptKeepsSession(ctx, 'SELECT pg_sleep(30)')
      await noBlock()
    } finally {
      await ctx.close()
    }
  },
)

test.skipIf(skip)(
  `postgres: what must run whole (RETURNING, a data-modifying WITH) runs once into a table, read to its row limit; a text value cut on the server${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    const serial = async () => texts(await runCell(ctx, 'SELECT last_value AS v FROM w_id_seq'))[0]?.rows[0]?.[0]
    const ours = async () =>
      texts(await runCell(ctx, "SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'execd\\_rows\\_%'"))[0]?.rows
    const noBlock = async () =>
      expect(errorOf(await runCell(ctx, 'SAVEPOINT probe'))?.evalue).toContain('transaction blocks')
    try {
      await runCell(ctx, 'CREATE TEMPORARY TABLE w (id serial, x int)')
      // All ten written, the serial moved ten: once; three rows of the answer.
      const written = await runCell(
        ctx,
        'INSERT INTO w (x) SELECT g FROM generate_series(1, 10) g RETURNING id, x; WITH d AS (DELETE FROM w WHERE x > 4 RETURNING x) SELECT x FROM d; SELECT count(*) AS n FROM w',
      )
      expect(texts(written)).toEqual([
        {
          columns: ['id', 'x'],
          rows: [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          truncated: true,
        },
        { columns: ['x'], rows: [[5], [6], [7]], truncated: true },
        { columns: ['n'], rows: [[4]] },
      ])
      expect(await serial()).toBe(10)
      expect(await ours()).toEqual([[0]])
      await noBlock()
      // An error mid-run is the statement's, run once: the serial moved 3, as alone.
      await runCell(ctx, 'TRUNCATE w; ALTER SEQUENCE w_id_seq RESTART')
      const failed = await runCell(
        ctx,
        'INSERT INTO w (x) SELECT 10 / (3 - g) FROM generate_series(1, 5) g RETURNING id',
      )
      expect(errorOf(failed)?.evalue).toBe('division by zero')
      expect(await serial()).toBe(3)
      await noBlock()
      // What a table cannot hold (a repeated name) runs as it is, once, cut here.
      expect(
        texts(await runCell(ctx, 'INSERT INTO w (x) SELECT g FROM generate_series(1, 5) g RETURNING x, x')),
      ).toEqual([
        {
          columns: ['x', 'x'],
          rows: [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          truncated: true,
        },
      ])
      expect(await serial()).toBe(8)
      // A WITH before the write: the same.
      expect(
        texts(
          await runCell(
            ctx,
            'WITH v AS (SELECT 7 AS x) INSERT INTO w (x) SELECT x FROM v, generate_series(1, 4) RETURNING id',
          ),
        ),
      ).toEqual([{ columns: ['id'], rows: [[9], [10], [11]], truncated: true }])
      expect(await serial()).toBe(12)
      // In the session's block: left open, ROLLBACK undoes the rows, and no table of ours stays.
      await runCell(ctx, 'BEGIN; INSERT INTO w (x) SELECT g FROM generate_series(1, 5) g RETURNING x')
      expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM w; ROLLBACK; SELECT count(*) AS n FROM w'))).toEqual([
        { columns: ['n'], rows: [[14]] },
        { columns: ['affected_rows'], rows: [[0]] },
        { columns: ['n'], rows: [[9]] },
      ])
      expect(await ours()).toEqual([[0]])
      const aborted = await runCell(ctx, 'BEGIN; UPDATE w SET x = 1 / (x - 3) RETURNING x')
      expect(errorOf(aborted)?.evalue).toBe('division by zero')
      expect(errorOf(await runCell(ctx, 'SELECT 1 AS one'))?.evalue).toContain('current transaction is aborted')
      await runCell(ctx, 'ROLLBACK')
      await noBlock()
      await interruptKeepsSession(ctx, 'INSERT INTO w (x) SELECT 1 FROM pg_sleep(30) RETURNING x')
      await noBlock()
      expect(await ours()).toEqual([[0]])
      // A text column is cut on the server in a query around the statement's: still computed once
      // a row (the sequence moved the limit and one more), in the statement's order.
      const cut = await runCell(
        ctx,
        "CREATE TEMPORARY SEQUENCE v; SELECT nextval('v')::text AS t, 'x' AS u FROM generate_series(1, 10); SELECT last_value AS n FROM v; SELECT g::text AS t FROM generate_series(1, 10) g ORDER BY g DESC",
      )
      expect(texts(cut).slice(1)).toEqual([
        {
          columns: ['t', 'u'],
          rows: [
            ['1', 'x'],
            ['2', 'x'],
            ['3', 'x'],
          ],
          truncated: true,
        },
        { columns: ['n'], rows: [[4]] },
        { columns: ['t'], rows: [['10'], ['9'], ['8']], truncated: true },
      ])
    } finally {
      await ctx.close()
    }
  },
)

test.skipIf(skip)(
  `postgres: an answer's table is pg_temp's and its cut pg_catalog's, whatever the search path finds first${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    const names = [...Array(20).keys()].map(i => `execd_rows_${i + 1}`)
    try {
      // A user's tables under our names, found before pg_temp: none dropped, read or written.
      await runCell(ctx, names.map(n => `CREATE TABLE ${n} (mine text); INSERT INTO ${n} VALUES ('kept')`).join('; '))
      // … and a `left` of theirs before pg_catalog's: a text value still comes whole.
      await runCell(
        ctx,
        "CREATE FUNCTION public.left(text, int) RETURNS text AS $$ SELECT 'theirs' $$ LANGUAGE sql; SET search_path = public, pg_catalog, pg_temp; CREATE TEMPORARY TABLE w (x int)",
      )
      expect(texts(await runCell(ctx, "SELECT 'mine' AS t"))).toEqual([{ columns: ['t'], rows: [['mine']] }])
      const written = await runCell(ctx, 'INSERT INTO w SELECT g FROM generate_series(1, 5) g RETURNING x')
      expect(texts(written)).toEqual([{ columns: ['x'], rows: [[1], [2], [3]], truncated: true }])
      const union = names.map(n => `SELECT mine FROM public.${n}`).join(' UNION ALL ')
      expect(texts(await runCell(ctx, `SELECT count(*) AS n FROM (${union}) u WHERE mine = 'kept'`))).toEqual([
        { columns: ['n'], rows: [[20]] },
      ])
    } finally {
      await runCell(
        ctx,
        [...names.map(n => `DROP TABLE IF EXISTS public.${n}`), 'DROP FUNCTION public.left'].join('; '),
      )
      await ctx.close()
    }
  },
)
