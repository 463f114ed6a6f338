/** Reading a runtime cell's events: used by runtime unit tests (and anything that needs a cell whole). */
import type { ExecEvent } from '../../core/events'
import type { RuntimeContext } from '../../core/plugin'

/** Runs one cell and collects every event it yields. */
export async function runCell(ctx: RuntimeContext, code: string): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  for await (const e of ctx.run(code)) events.push(e)
  return events
}

/**
 * Starts a cell: `output` settles at its first stdout or stderr event (or at its end, so a cell
 * that fails early does not hang the test), `events` when it ends. A test that interrupts a
 * running cell waits for `output` rather than for a guessed time.
 */
export function startCell(ctx: RuntimeContext, code: string): { output: Promise<void>; events: Promise<ExecEvent[]> } {
  const output = Promise.withResolvers<void>()
  const events = (async () => {
    const all: ExecEvent[] = []
    try {
      for await (const e of ctx.run(code)) {
        all.push(e)
        if (e.type === 'stdout' || e.type === 'stderr') output.resolve()
      }
    } finally {
      output.resolve()
    }
    return all
  })()
  return { output: output.promise, events }
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
