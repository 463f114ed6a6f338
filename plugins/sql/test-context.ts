/** What the sql runtime's tests share: a context started from flags, and its results as tables. */
import { resolveConfig } from '../../core/config'
import type { ExecEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { sql } from '.'

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
