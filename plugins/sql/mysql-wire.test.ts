/**
 * The relay between the SQL client and a MySQL-protocol server (mysql-wire.js), which drops a
 * result's rows past what it carries: answers as the server's whole would be shown, and the
 * session goes on after each (a dropped packet renumbers those after it). What it saves is
 * memory, measured in spec/sql-bounded-reads-mariadb.test.ts.
 */
import { expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { serverForTests, startSql, texts } from './test-context'

const { dsn, skip, why } = await serverForTests('mysql')

/** What one result carries (cells.js MAX_RESULT_CHARS). */
const MAX_RESULT_CHARS = 4 * 1024 * 1024

test.skipIf(skip)(`mysql: writes returning more rows than the limit show the first, each written${why}`, async () => {
  const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
  try {
    await runCell(ctx, 'CREATE TEMPORARY TABLE r (x int PRIMARY KEY, s text)')
    expect(
      texts(await runCell(ctx, "INSERT INTO r SELECT seq, repeat('a', seq) FROM seq_1_to_10 RETURNING x, s")),
    ).toEqual([
      {
        columns: ['x', 's'],
        rows: [
          [1, 'a'],
          [2, 'aa'],
          [3, 'aaa'],
        ],
        truncated: true,
      },
    ])
    expect(texts(await runCell(ctx, 'DELETE FROM r WHERE x > 5 RETURNING x'))).toEqual([
      { columns: ['x'], rows: [[6], [7], [8]], truncated: true },
    ])
    expect(texts(await runCell(ctx, "REPLACE INTO r VALUES (1, 'b'), (2, 'c') RETURNING x, s"))).toEqual([
      {
        columns: ['x', 's'],
        rows: [
          [1, 'b'],
          [2, 'c'],
        ],
      },
    ])
    // A query the splitter does not know as one (so not under the select limit): cut all the same.
    expect(
      texts(await runCell(ctx, "EXECUTE IMMEDIATE 'SELECT x FROM r ORDER BY x'; SELECT count(*) AS n FROM r")),
    ).toEqual([
      { columns: ['x'], rows: [[1], [2], [3]], truncated: true },
      { columns: ['n'], rows: [[5]] },
    ])
  } finally {
    await ctx.close()
  }
})

test.skipIf(skip)(
  `mysql: rows over 16 MiB (several packets each) are cut as they come, the session kept${why}`,
  async () => {
    const mib = 1024 * 1024
    const setup = await startSql({ 'sql-dsn': dsn })
    const before = texts(await runCell(setup, 'SELECT @@GLOBAL.max_allowed_packet AS m'))[0]?.rows[0]?.[0]
    await runCell(setup, `SET GLOBAL max_allowed_packet = ${64 * mib}`)
    // The global value is read at connect: a context of its own.
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '10' })
    try {
      const [big] = texts(await runCell(ctx, `SELECT seq, repeat('a', ${20 * mib}) AS s FROM seq_1_to_4`))
      expect(big.rows).toHaveLength(1)
      expect(big.rows[0][0]).toBe(1)
      expect(big.rows[0][1]).toHaveLength(MAX_RESULT_CHARS / 2)
      expect(big.truncated).toBe(true)
      expect(texts(await runCell(ctx, 'SELECT 42 AS x'))).toEqual([{ columns: ['x'], rows: [[42]] }])
      expect(errorOf(await runCell(ctx, 'SELECT * FROM missing'))?.evalue).toContain("doesn't exist")
    } finally {
      await ctx.close()
      await runCell(setup, `SET GLOBAL max_allowed_packet = ${before}`)
      await setup.close()
    }
  },
  60_000,
)

test.skipIf(skip)(`mysql: a server not reached says so${why}`, async () => {
  const url = new URL(dsn)
  url.port = '1'
  const refused = await startSql({ 'sql-dsn': url.toString() }).then(
    () => undefined,
    (e: Error) => e.message,
  )
  expect(refused).toContain('cannot connect')
  expect(refused).toContain('ECONNREFUSED')
})
