/**
 * A user's own PostgreSQL cursor, fetched forward by all or a count past the row limit: read as
 * execd's cursors are, to the row limit and one more, and then moved to where the FETCH would
 * have left it (the client read every row fetched). A throwaway cluster as in postgres.test.ts,
 * skipped without one.
 */
import { expect, test } from 'bun:test'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { startSql, texts, serverForTests } from './test-context'

const { dsn, skip, why } = await serverForTests('postgres')

test.skipIf(skip)(
  `postgres: FETCH ALL or a count past the limit shows the first rows and ends where asked${why}`,
  async () => {
    const ctx = await startSql({ 'sql-dsn': dsn, 'sql-max-rows': '3' })
    const one = async (cell: string) => texts(await runCell(ctx, cell))
    try {
      await one(`BEGIN; DECLARE c SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10) g;
      DECLARE "Two" SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10) g`)
      expect(await one('FETCH ALL FROM c')).toEqual([{ columns: ['g'], rows: [[1], [2], [3]], truncated: true }])
      expect(await one('FETCH PRIOR FROM c')).toEqual([{ columns: ['g'], rows: [[10]] }])
      expect(await one('FETCH FORWARD 6 IN "Two"')).toEqual([
        { columns: ['g'], rows: [[1], [2], [3]], truncated: true },
      ])
      expect(await one('FETCH NEXT FROM "Two"')).toEqual([{ columns: ['g'], rows: [[7]] }])
      // Within the limit and one more: as it is.
      expect(await one('FETCH 2 FROM "Two"')).toEqual([{ columns: ['g'], rows: [[8], [9]] }])
      expect(await one('FETCH ALL FROM "Two"')).toEqual([{ columns: ['g'], rows: [[10]] }])
      expect(errorOf(await runCell(ctx, 'FETCH ALL FROM missing'))?.evalue).toContain('cursor "missing" does not exist')
      await one('ROLLBACK')
      // Outside a block, a cursor held past its commit.
      await one('DECLARE h CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 10) g')
      expect(await one('FETCH ALL h')).toEqual([{ columns: ['g'], rows: [[1], [2], [3]], truncated: true }])
      expect(await one('FETCH NEXT FROM h')).toEqual([{ columns: ['g'], rows: [] }])
      await one('CLOSE h')
    } finally {
      await ctx.close()
    }
  },
)
