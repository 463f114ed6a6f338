/**
 * PostgreSQL's json, jsonb, xml, array, range, composite and other values of variable length on
 * the sql runtime: read as themselves, or cut on the server as their text when that is longer
 * than a result carries (the client read them whole and cut the JSON it made of them after). EXECD_TEST_SQL_DSN's server, or a throwaway
 * cluster (spec/kit/postgres.ts); skipped with neither.
 */
import { expect, test } from 'bun:test'
import { runCell } from '../../spec/kit/cell-events'
import { startSql, texts, serverForTests } from './test-context'

const { dsn, skip, why } = await serverForTests('postgres')

/** A first row's values each get this share of a result's 4 Mi characters. */
const share = (columns: number) => Math.floor((4 * 1024 * 1024) / columns)

test.skipIf(skip)(
  `postgres: json, xml, arrays, ranges and records of any size come as themselves${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn })
    try {
      const [row] = texts(
        await runCell(
          ctx,
          `SELECT '{"k":[1]}'::jsonb AS j, '{"a": 1}'::json AS s, '<a>b</a>'::xml AS x, ARRAY[1,2] AS a,
         ARRAY['x', NULL] AS t, '{{1,2},{3,4}}'::int[] AS m, NULL::jsonb AS z, 'v'::text AS v`,
        ),
      )
      expect(row).toEqual({
        columns: ['j', 's', 'x', 'a', 't', 'm', 'z', 'v'],
        rows: [
          [
            { k: [1] },
            { a: 1 },
            '<a>b</a>',
            [1, 2],
            ['x', null],
            [
              [1, 2],
              [3, 4],
            ],
            null,
            'v',
          ],
        ],
      })
      // A range, a record and a tsvector (any size, their text) as the client reads them.
      expect(
        texts(await runCell(ctx, "SELECT int4range(1, 5) AS r, ROW(1, 'a b') AS c, 'a b'::tsvector AS v"))[0],
      ).toEqual({ columns: ['r', 'c', 'v'], rows: [['[1,5)', '(1,"a b")', "'a' 'b'"]] })
      // 3 Mi characters of JSON: under what a result carries, whole.
      const [whole] = texts(await runCell(ctx, `SELECT jsonb_build_object('a', repeat('x', 3145728)) AS j`))
      expect(whole?.rows[0][0]).toEqual({ a: 'x'.repeat(3145728) })
    } finally {
      await ctx.close()
    }
  },
  60_000,
)

test.skipIf(skip)(
  `postgres: a huge json, xml, array or record value is cut on the server as its text${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    try {
      const [json] = texts(await runCell(ctx, `SELECT jsonb_build_object('a', repeat('x', 5000000)) AS j, 7 AS n`))
      expect(json).toEqual({ columns: ['j', 'n'], rows: [[`{"a": "${'x'.repeat(share(2) - 7)}`, 7]], truncated: true })
      const [array] = texts(await runCell(ctx, 'SELECT array_agg(g) AS a FROM generate_series(1, 1000000) g'))
      expect(array?.truncated).toBe(true)
      expect(array?.rows[0][0]).toStartWith('{1,2,3,')
      expect(array?.rows[0][0]).toHaveLength(share(1))
      const [xml] = texts(await runCell(ctx, "SELECT xmlelement(name a, repeat('x', 5000000)) AS x"))
      expect(xml?.rows[0][0]).toBe(`<a>${'x'.repeat(share(1) - 3)}`)
      const [record] = texts(await runCell(ctx, "SELECT ROW(repeat('x', 5000000), 1) AS r, int8range(1, 2) AS g"))
      expect(record).toEqual({
        columns: ['r', 'g'],
        rows: [[`(${'x'.repeat(share(2) - 1)}`, '[1,2)']],
        truncated: true,
      })
      // Through the rows a write returned, in a table of its own and then in the kept table.
      await runCell(ctx, 'CREATE TEMPORARY TABLE w (j jsonb, n int)')
      for (let i = 0; i < 2; i++) {
        const written = texts(
          await runCell(ctx, `INSERT INTO w SELECT jsonb_build_object('a', repeat('x', 5000000)), ${i} RETURNING j, n`),
        )
        expect(written).toEqual([
          { columns: ['j', 'n'], rows: [[`{"a": "${'x'.repeat(share(2) - 7)}`, i]], truncated: true },
        ])
      }
      expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM w'))).toEqual([{ columns: ['n'], rows: [[2]] }])
    } finally {
      await ctx.close()
    }
  },
  120_000,
)

test.skipIf(skip)(`postgres: a volatile json column is computed once a row, in the query's order${why}`, async () => {
  const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
  try {
    await runCell(ctx, 'CREATE TEMPORARY SEQUENCE s')
    expect(
      texts(
        await runCell(ctx, "SELECT to_jsonb(nextval('s')) AS v, ARRAY[currval('s')] AS a FROM generate_series(1, 10)"),
      ),
    ).toEqual([
      {
        columns: ['v', 'a'],
        rows: [
          [1, [1]],
          [2, [2]],
          [3, [3]],
        ],
        truncated: true,
      },
    ])
    // The cursor computed the row limit and one more, as without the cut.
    expect(texts(await runCell(ctx, "SELECT currval('s') AS c"))).toEqual([{ columns: ['c'], rows: [[4]] }])
    expect(texts(await runCell(ctx, 'SELECT to_jsonb(g) AS v FROM generate_series(1, 5) g ORDER BY g DESC'))).toEqual([
      { columns: ['v'], rows: [[5], [4], [3]], truncated: true },
    ])
  } finally {
    await ctx.close()
  }
})
