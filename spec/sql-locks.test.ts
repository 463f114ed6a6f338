/**
 * A server's query is bounded on the server (a PostgreSQL cursor, MySQL's sql_select_limit), so
 * rows past the row limit are never read. A locking clause's locks are taken on the rows read:
 * such a query must run as it is, every row it names locked as the statement alone locks them.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { startMariadb } from './kit/mariadb'
import { startPostgres } from './kit/postgres'
import { createContext, ofType, runCode } from './runtime-kit'

const postgres = await startPostgres()
const mariadb = await startMariadb()
afterAll(async () => {
  await postgres?.stop()
  await mariadb?.stop()
})

const servers = [
  {
    name: 'PostgreSQL',
    dsn: postgres?.dsn,
    table: 'CREATE TABLE locked AS SELECT generate_series(1, 10005) AS x',
    refused: 'could not obtain lock',
  },
  {
    name: 'MariaDB',
    dsn: mariadb?.dsn,
    // A key, so the scan in its order stops where the select limit says.
    table: 'CREATE TABLE locked (x int PRIMARY KEY); INSERT INTO locked SELECT seq FROM seq_1_to_10005',
    refused: 'Lock wait timeout',
  },
]

for (const server of servers) {
  describe.skipIf(!server.dsn)(`sql locks on ${server.name}${server.dsn ? '' : ' (skipped: no server)'}`, () => {
    const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: server.dsn ?? '' } }))
    const sql = (id: string, code: string) => runCode(fx.d, code, { id, language: 'sql' })

    test('SELECT … FOR UPDATE past the row limit locks every row it names, as the statement alone does', async () => {
      const [a, b] = [await createContext(fx.d, 'sql'), await createContext(fx.d, 'sql')]
      await sql(a, server.table)
      try {
        await sql(a, 'BEGIN')
        // Bounded, the cursor fetched (and the limited scan reached) 10,001 rows and locked those.
        const read = await sql(a, 'SELECT x FROM locked ORDER BY x FOR UPDATE')
        expect((ofType(read, 'result')[0]?.results['application/json'] as { truncated?: boolean }).truncated).toBe(true)
        const [error] = ofType(await sql(b, 'SELECT x FROM locked WHERE x = 10005 FOR UPDATE NOWAIT'), 'error')
        expect(error?.error.evalue).toContain(server.refused)
      } finally {
        await sql(a, 'ROLLBACK; DROP TABLE locked')
      }
    })
  })
}
