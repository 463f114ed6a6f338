/**
 * The sql runtime's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

export const OPTIONS = {
  dsn: stringOption('sql-dsn', {
    env: 'EXECD_SQL_DSN',
    description: 'postgres://… or mysql://… server for sql contexts (default: embedded SQLite)',
    secret: true,
  }),
  file: stringOption('sql-file', {
    env: 'EXECD_SQL_FILE',
    description: "SQLite file for each sql context, relative to the context's cwd (default: in memory)",
  }),
  maxRows: intOption('sql-max-rows', {
    env: 'EXECD_SQL_MAX_ROWS',
    description: 'rows of one SELECT returned at most; the result says when it was cut',
    default: 10000,
  }),
}
