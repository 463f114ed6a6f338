/** Reading a runtime cell's events: used by runtime unit tests (and anything that needs a cell whole). */
import type { ExecEvent } from './events'
import type { RuntimeContext } from './plugin'

/** Runs one cell and collects every event it yields. */
export async function runCell(ctx: RuntimeContext, code: string): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  for await (const e of ctx.run(code)) events.push(e)
  return events
}

/** The last result's MIME bundle. */
export const resultOf = (events: ExecEvent[]) => events.filter(e => e.type === 'result').at(-1)?.results

/** The first error's {ename, evalue, traceback}. */
export const errorOf = (events: ExecEvent[]) => events.find(e => e.type === 'error')?.error

/** All text of one stream, joined. */
export const textOf = (events: ExecEvent[], type: 'stdout' | 'stderr') =>
  events
    .filter(e => e.type === type)
    .map(e => e.text)
    .join('')
