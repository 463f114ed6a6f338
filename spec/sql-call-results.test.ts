/**
 * A MariaDB CALL of a procedure that SELECTs, through dist/execd: each result set a table
 * result, as the mariadb client prints them, each cut to the row limit. Before, the driver
 * read the client's list of results as one without columns and showed `affected_rows: 0`.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { daemonAlone } from './kit/daemon-dir'
import { startMariadb } from './kit/mariadb'
import { createContext, ofType, runCode, stdoutText } from './runtime-kit'

const mariadb = await startMariadb()
afterAll(() => mariadb?.stop())

/** The kit's server has no system tables for stored programs: made from the server's own script. */
const procTables = (): string => {
  const script = '/usr/share/mysql/mysql_system_tables.sql'
  if (process.env.EXECD_TEST_MYSQL_DSN || !existsSync(script)) return ''
  const tables = readFileSync(script, 'utf8')
    .split('\n')
    .filter(line => /^CREATE TABLE IF NOT EXISTS (?:proc|func|event) /.test(line))
    .map(line => line.replace('EXISTS ', 'EXISTS mysql.'))
  return `CREATE DATABASE IF NOT EXISTS mysql; ${tables.join('\n')}`
}

describe.skipIf(!mariadb)(`MariaDB CALL${mariadb ? '' : ' (skipped: no mariadb-server installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: mariadb?.dsn ?? '', EXECD_SQL_MAX_ROWS: '3' } }))

  test('each result set of a CALL is a table, cut to the row limit; a CALL without one its count', async () => {
    const id = await createContext(fx.d, 'sql')
    const setup = await runCode(
      fx.d,
      `${procTables()}
       CREATE PROCEDURE two() BEGIN SELECT 1 AS a, 'x' AS b; SELECT seq AS n FROM seq_1_to_5; END;
       CREATE PROCEDURE none() BEGIN DECLARE v INT; SET v = 1; END;
       CREATE PROCEDURE many() BEGIN DECLARE i INT DEFAULT 0; WHILE i < 70 DO SELECT i; SET i = i + 1; END WHILE; END`,
      { id, language: 'sql' },
    )
    expect(ofType(setup, 'error')).toEqual([])
    const events = await runCode(fx.d, 'CALL two(); CALL none()', { id, language: 'sql' })
    expect(ofType(events, 'error')).toEqual([])
    expect(ofType(events, 'result').map(e => e.results['application/json'])).toEqual([
      { columns: ['a', 'b'], rows: [[1, 'x']] },
      { columns: ['n'], rows: [[1], [2], [3]], truncated: true },
      { columns: ['affected_rows'], rows: [[0]], affected: true },
    ])
    const many = await runCode(fx.d, 'CALL many()', { id, language: 'sql' })
    expect(ofType(many, 'result')).toHaveLength(64)
    expect(stdoutText(many)).toBe('(6 more result sets not shown)\n')
    await runCode(fx.d, 'DROP PROCEDURE two; DROP PROCEDURE none; DROP PROCEDURE many', { id, language: 'sql' })
  })
})
