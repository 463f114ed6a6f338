/**
 * The sql runtime on a MySQL-protocol server: EXECD_TEST_MYSQL_DSN's, or a throwaway MariaDB
 * when Debian's mariadb-server is installed (spec/kit/mariadb.ts); skipped with neither.
 */
import { expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { interruptKeepsSession, startSql, texts, serverForTests } from './test-context'

const { dsn, skip, why } = await serverForTests('mysql')

const startServer = () => startSql({ 'sql-dsn': dsn })

test.skipIf(skip)(`mysql: session state lasts the context; # comments and quoted ; split right${why}`, async () => {
  const ctx = await startServer()
  try {
    await runCell(
      ctx,
      'CREATE TEMPORARY TABLE tmp (x int, s text); # a comment; not a statement\nINSERT INTO tmp VALUES (1, \'a;b\'), (2, "c#d")',
    )
    expect(
      texts(
        await runCell(ctx, 'UPDATE tmp SET x = x * 2; SELECT sum(x) AS s, group_concat(s ORDER BY x) AS g FROM tmp'),
      ),
    ).toEqual([
      { columns: ['affected_rows'], rows: [[2]] },
      { columns: ['s', 'g'], rows: [['6', 'a;b,c#d']] },
    ])
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`mysql: values keep their JSON types${why}`, async () => {
  const ctx = await startServer()
  try {
    const [row] = texts(
      await runCell(
        ctx,
        "SELECT 1 AS i, 9007199254740993 AS big, CAST(2.5 AS DECIMAL(5,2)) AS d, TIMESTAMP '2026-01-02 03:04:05' AS t, x'00ff' AS y, NULL AS z",
      ),
    )
    expect(row.columns).toEqual(['i', 'big', 'd', 't', 'y', 'z'])
    const [values] = row.rows
    expect(values[0]).toBe(1)
    expect(values[1]).toBe('9007199254740993')
    expect(values[2]).toBe('2.50')
    expect(values[3]).toMatch(/^2026-01-0[12]T/)
    expect(values[4]).toBe('\\x00ff')
    expect(values[5]).toBeNull()
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`mysql: an interrupt ends the running query and the session survives${why}`, async () => {
  const ctx = await startServer()
  try {
    await interruptKeepsSession(ctx, 'SELECT SLEEP(30)')
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`mysql: errors carry the server message${why}`, async () => {
  const ctx = await startServer()
  try {
    const error = errorOf(await runCell(ctx, 'INSERT INTO missing_table VALUES (1)'))
    expect(error?.ename).toBe('DBExecError')
    expect(error?.evalue).toContain("missing_table' doesn't exist")
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`mysql: a query is read under the session's select limit, put back after${why}`, async () => {
  const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
  try {
    const limit = async () => texts(await runCell(ctx, 'SELECT @@SESSION.sql_select_limit AS l'))[0]?.rows[0][0]
    const unset = await limit()
    await runCell(ctx, 'CREATE TEMPORARY TABLE t (x int); INSERT INTO t VALUES (1), (2), (3), (4), (5)')
    expect(texts(await runCell(ctx, 'SELECT x FROM t ORDER BY x DESC'))).toEqual([
      { columns: ['x'], rows: [[5], [4], [3]], truncated: true },
    ])
    expect(await limit()).toBe(unset)
    // Read outside a query (which runs under ours): the session's own, the unsigned default.
    await runCell(ctx, 'SET @l = @@SESSION.sql_select_limit')
    expect(texts(await runCell(ctx, 'SELECT @l = 18446744073709551615 AS d'))[0]?.rows).toEqual([[1]])
    // A subquery's rows and an INSERT … SELECT are not bounded by it.
    await runCell(ctx, 'CREATE TEMPORARY TABLE u (x int); INSERT INTO u SELECT x FROM t')
    expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM (SELECT x FROM u) q'))).toEqual([
      { columns: ['n'], rows: [[5]] },
    ])
    // The session's own lower limit stays its own.
    await runCell(ctx, 'SET SESSION sql_select_limit = 2')
    expect(texts(await runCell(ctx, 'SELECT x FROM t ORDER BY x'))).toEqual([{ columns: ['x'], rows: [[1], [2]] }])
    expect(await limit()).toBe(2)
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(
  `mysql: a locking query runs whole into a table read under the limit, its answer as alone${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    try {
      const limit = async () => texts(await runCell(ctx, 'SELECT @@SESSION.sql_select_limit AS l'))[0]?.rows[0][0]
      const unset = await limit()
      await runCell(
        ctx,
        `CREATE TEMPORARY TABLE t (x int, j JSON, b BIT(3), d DATETIME(3), n DECIMAL(5,2), e ENUM('a', 'b'), z BLOB);
       INSERT INTO t VALUES (1, '{"a": [1, 2]}', b'101', '2026-01-02 03:04:05.678', 2.5, 'b', x'00ff'), (2, NULL, NULL, NULL, NULL, NULL, NULL)`,
      )
      // Each value as the same query without its lock gives it: JSON parsed, types kept.
      const plain = texts(await runCell(ctx, "SELECT *, JSON_OBJECT('k', x) AS o, x / 3 AS q FROM t ORDER BY x"))
      expect(plain[0]?.rows[0]?.[1]).toEqual({ a: [1, 2] })
      expect(
        texts(await runCell(ctx, "SELECT *, JSON_OBJECT('k', x) AS o, x / 3 AS q FROM t ORDER BY x FOR UPDATE")),
      ).toEqual(plain)
      expect(texts(await runCell(ctx, 'SELECT x FROM t ORDER BY x LOCK IN SHARE MODE'))).toEqual([
        { columns: ['x'], rows: [[1], [2]] },
      ])
      await runCell(ctx, 'INSERT INTO t (x) SELECT seq FROM seq_3_to_10')
      // Past the row limit: the first rows in the query's order, as alone.
      expect(texts(await runCell(ctx, 'SELECT x FROM t ORDER BY x DESC FOR UPDATE'))).toEqual([
        { columns: ['x'], rows: [[10], [9], [8]], truncated: true },
      ])
      expect(await limit()).toBe(unset)
      // What a table refuses runs as it is: repeated names, SELECT … INTO.
      expect(texts(await runCell(ctx, 'SELECT x, x FROM t WHERE x < 3 ORDER BY x FOR UPDATE'))).toEqual([
        {
          columns: ['x', 'x'],
          rows: [
            [1, 1],
            [2, 2],
          ],
        },
      ])
      await runCell(ctx, 'SELECT max(x) INTO @m FROM t FOR UPDATE')
      expect(texts(await runCell(ctx, 'SELECT @m AS m'))).toEqual([{ columns: ['m'], rows: [[10]] }])
      expect(errorOf(await runCell(ctx, 'SELECT x FROM missing FOR UPDATE'))?.evalue).toContain(
        "Table 'execd.missing' doesn't exist",
      )
      // In the session's transaction: its rollback undoes what came before, no table of ours stays.
      await runCell(ctx, 'START TRANSACTION; DELETE FROM t WHERE x > 2')
      expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM t FOR UPDATE'))).toEqual([
        { columns: ['n'], rows: [[2]] },
      ])
      await runCell(ctx, 'ROLLBACK')
      expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM t FOR UPDATE'))).toEqual([
        { columns: ['n'], rows: [[10]] },
      ])
      expect(errorOf(await runCell(ctx, 'SELECT * FROM execd_rows_1'))?.evalue).toContain("doesn't exist")
      // The session's own lower limit stays its own.
      await runCell(ctx, 'SET SESSION sql_select_limit = 2')
      expect(texts(await runCell(ctx, 'SELECT x FROM t ORDER BY x FOR UPDATE'))).toEqual([
        { columns: ['x'], rows: [[1], [2]] },
      ])
      expect(await limit()).toBe(2)
    } finally {
      await ctx.close()
    }
  },
)

test.skipIf(skip)(`mysql: an interrupt ends a running locking query and the session survives${why}`, async () => {
  const ctx = await startServer()
  try {
    await interruptKeepsSession(ctx, 'SELECT SLEEP(30) AS s FROM DUAL FOR UPDATE')
    expect(errorOf(await runCell(ctx, 'SELECT * FROM execd_rows_1'))?.evalue).toContain("doesn't exist")
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(`mysql: a user's temporary table under our name is neither read nor dropped${why}`, async () => {
  const ctx = await startServer()
  try {
    await runCell(ctx, "CREATE TEMPORARY TABLE execd_rows_1 (mine text); INSERT INTO execd_rows_1 VALUES ('kept')")
    expect(texts(await runCell(ctx, 'SELECT 1 AS x FOR UPDATE'))).toEqual([{ columns: ['x'], rows: [[1]] }])
    expect(texts(await runCell(ctx, 'SELECT 2 AS x FOR UPDATE'))).toEqual([{ columns: ['x'], rows: [[2]] }])
    expect(texts(await runCell(ctx, 'SELECT mine FROM execd_rows_1'))).toEqual([
      { columns: ['mine'], rows: [['kept']] },
    ])
  } finally {
    await ctx.close()
  }
})
