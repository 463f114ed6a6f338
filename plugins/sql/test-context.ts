/** What the sql runtime's tests share: a context started from flags, and its results as tables. */
import { afterAll, expect } from 'bun:test'
import { resolveConfig } from '../../core/config'
import type { ExecEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { startMariadb } from '../../spec/kit/mariadb'
import { startPostgres } from '../../spec/kit/postgres'
import { sql } from '.'
import { removeDriverFile } from './child'

/**
 * The server a test file's cells run on (spec/kit/postgres.ts, spec/kit/mariadb.ts), stopped after
 * the file's tests with the driver file removed. With none, `skip` is set and `why` is said in
 * each test's title.
 */
export async function serverForTests(
  engine: 'postgres' | 'mysql',
): Promise<{ dsn: string; skip: boolean; why: string }> {
  const server = engine === 'postgres' ? await startPostgres() : await startMariadb()
  afterAll(async () => {
    await server?.stop()
    await removeDriverFile()
  })
  const missing =
    engine === 'postgres'
      ? 'no postgresql installed and no EXECD_TEST_SQL_DSN=postgres://…'
      : 'no mariadb-server installed and no EXECD_TEST_MYSQL_DSN=mysql://…'
  return { dsn: server?.dsn ?? '', skip: !server, why: server ? '' : ` (skipped: ${missing})` }
}

/** A sql context with these flags (`sql-dsn`, `sql-file`, `sql-max-rows`) in `cwd`. */
export const startSql = (flags: Record<string, string> = {}, cwd = '/'): Promise<RuntimeContext> =>
  sql.start({
    language: 'sql',
    cwd,
    env: {},
    config: resolveConfig(sql.options ?? [], flags, {}),
    log: createLogger('silent'),
  })

/** The result events' bundles. */
export const results = (events: ExecEvent[]) => events.filter(e => e.type === 'result').map(e => e.results!)

/** Each result's JSON text, parsed: `{columns, rows}`. */
export const texts = (events: ExecEvent[]) => results(events).map(r => JSON.parse(r.text as string))

/**
 * On a database server: an interrupt ends `sleeping` (that server's sleep query, running) as a
 * KeyboardInterrupt, and the session lives on, its temporary table still there.
 */
export async function interruptKeepsSession(ctx: RuntimeContext, sleeping: string): Promise<void> {
  await runCell(ctx, 'CREATE TEMPORARY TABLE kept (x int); INSERT INTO kept VALUES (42)')
  const running = runCell(ctx, sleeping)
  await Bun.sleep(300)
  await ctx.interrupt()
  expect(errorOf(await running)?.ename).toBe('KeyboardInterrupt')
  expect(texts(await runCell(ctx, 'SELECT x FROM kept'))).toEqual([{ columns: ['x'], rows: [[42]] }])
}
