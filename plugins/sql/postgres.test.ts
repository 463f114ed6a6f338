/**
 * The sql runtime on a PostgreSQL server: EXECD_TEST_SQL_DSN's, or a throwaway cluster when
 * Debian's postgresql package is installed (spec/kit/postgres.ts); skipped with neither.
 */
import { afterAll, expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { startPostgres } from '../../spec/kit/postgres'
import { interruptKeepsSession, startSql, texts } from './test-context'
import { removeDriverFile } from './child'

const server = await startPostgres()
afterAll(async () => {
  await server?.stop()
  await removeDriverFile()
})
const dsn = server?.dsn
const skip = !dsn
const why = skip ? ' (skipped: no postgresql installed and no EXECD_TEST_SQL_DSN=postgres://…)' : ''

const startServer = () => startSql({ 'sql-dsn': dsn! })

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
