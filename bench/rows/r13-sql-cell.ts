/**
 * Row 13: a warm SQL cell, `SELECT 1` in a MariaDB context (`EXECD_SQL_DSN`) through `POST /code`
 * to `execution_complete`, against the floor of the same query from a warm Bun process over Bun's
 * SQL client directly (this process, one connection), and against the three statements a SQL
 * cell's query sends (the session's select limit kept and set in one, the query, the limit put
 * back: plugins/sql/mysql.js) sent the same way. Since stop 53 the SQL process's client reaches the server through a relay in that
 * process that bounds every answer (plugins/sql/mysql-wire.js): each statement crosses it twice.
 */
import { SQL } from 'bun'
import { startMariadb } from '../../spec/kit/mariadb'
import { createContext, requireCode, runCode } from '../lib/code'
import { reps } from '../lib/config'
import { Skip, startExecd } from '../lib/execd'
import { interleave, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'

const LIMIT = 10_001

export default {
  id: '13',
  title: 'warm SQL cell (mariadb SELECT 1)',
  async run(): Promise<RowResult[]> {
    const server = await startMariadb()
    if (!server) throw new Skip('mariadb not installed (apt-get install mariadb-server)')
    const d = await startExecd({ env: { EXECD_SQL_DSN: server.dsn } })
    const direct = new SQL(server.dsn, { max: 1, bigint: true })
    try {
      await requireCode(d)
      const id = await createContext(d, 'sql')
      const cell = async () => {
        const { events } = await runCode(d, id, 'sql', 'SELECT 1')
        if (!events.some(e => e.type === 'result')) throw new Error(`SELECT 1: no result in ${JSON.stringify(events)}`)
      }
      const query = () => direct.unsafe('SELECT 1').values()
      const three = async () => {
        await direct.unsafe(
          `SET @execd_select_limit = @@SESSION.sql_select_limit, SESSION sql_select_limit = ` +
            `IF(@@SESSION.sql_select_limit > ${LIMIT}, ${LIMIT}, @@SESSION.sql_select_limit)`,
        )
        await query()
        await direct.unsafe('SET SESSION sql_select_limit = @execd_select_limit')
      }
      const samples = await interleave(
        [
          { name: 'cell', once: () => timed(cell) },
          { name: 'query', once: () => timed(query) },
          { name: 'three', once: () => timed(three) },
        ],
        { reps: reps(600, 100), warmup: 50, budgetMs: 60_000, minReps: 100 },
      )
      const ours = summarize(samples.cell)
      const one = summarize(samples.query)
      const dance = summarize(samples.three)
      return [
        {
          row: '13a',
          what: 'warm SQL cell: mariadb SELECT 1',
          ours: figure(ours, 'ms'),
          baselineName: "the same query from a warm Bun process, Bun's SQL client directly",
          baseline: figure(one, 'ms'),
          ...timeRatio(ours.median, one.median),
        },
        {
          row: '13b',
          what: 'warm SQL cell: mariadb SELECT 1',
          ours: figure(ours, 'ms'),
          baselineName: "a cell's three statements (select limit kept and set, query, put back), directly",
          baseline: figure(dance, 'ms'),
          ...timeRatio(ours.median, dance.median),
        },
      ]
    } finally {
      await direct.close()
      await d.stop()
      await server.stop()
    }
  },
} satisfies BenchRow
