/**
 * A cell's exit call, read as the language's own command line and prompt read it, where the
 * cell's events alone cannot tell: python's SystemExit carries only its value's text
 * (`sys.exit('3')` and `sys.exit(3)` both say `3`), and javascript's `process.exitCode` is no
 * event at all. The context is asked after the cell, in a cell of its own (its events unseen).
 */
import type { ExecEvent } from '../core/events'
import { within } from '../core/timers'
import type { CodeClient } from './code-client'

export interface ExitCall {
  status: number
  /** What the language prints for it on stderr (`sys.exit('bye')`: bye). */
  says?: string
}

/** A follow-up is a line of code in an idle context: longer than this, it is given up. */
const ASK_MS = 5000

/**
 * Python's SystemExit as `python3 -c` and python's prompt end on it: `sys.exit(3)` 3 (the low 8
 * bits, as exit(2) takes them: 256 is 0, -1 255), `sys.exit()`, `sys.exit(None)`, `quit()` 0, and
 * anything that is not an int or None (`sys.exit('text')`, `sys.exit('3')`) says itself on
 * stderr and exits 1. The text is enough unless it reads as an int or None; then the context's
 * `sys.last_value` (the driver keeps it, as python's prompt does) tells which it was.
 */
export async function pythonExit(
  client: CodeClient,
  context: string,
  e: NonNullable<ExecEvent['error']>,
): Promise<ExitCall | undefined> {
  if (e.ename !== 'SystemExit') return undefined
  const text = e.evalue
  const value = text.trim()
  const status = numberOf(value)
  if (status === undefined) return { status: 1, says: text }
  // A daemon whose driver does not keep the error answers nothing: its text is read as before.
  const isInt = await askValue(client, context, 'isinstance(__import__("sys").last_value.code, (int, type(None)))')
  return isInt === 'False' ? { status: 1, says: text } : { status }
}

/** The status `sys.exit(x)` gives when `x`'s text is an int's or None's; undefined when not. */
function numberOf(value: string): number | undefined {
  if (value === '' || value === 'None' || value === 'False') return 0
  if (value === 'True') return 1
  return lowByte(value)
}

/** An integer's text as exit(2) takes it, its low 8 bits (256 is 0, -1 255); undefined if not one. */
const lowByte = (value: string): number | undefined =>
  /^-?\d{1,30}$/.test(value) ? Number(BigInt.asUintN(8, BigInt(value))) : undefined

/**
 * `process.exitCode` after a javascript/typescript cell that ended without an error, as
 * `node -e 'process.exitCode = 4'` exits 4 (the low 8 bits; a string of digits counts, as
 * node takes it). Undefined when it was not set.
 */
export async function exitCodeOf(client: CodeClient, context: string): Promise<number | undefined> {
  const value = (await askValue(client, context, 'process.exitCode'))?.replace(/^(["'])(.*)\1$/, '$2')
  return value === undefined ? undefined : lowByte(value)
}

/** The text/plain result of `code` run in `context`; undefined on an error, none, or no answer in time. */
async function askValue(client: CodeClient, context: string, code: string): Promise<string | undefined> {
  let id: string | undefined
  const asked = (async () => {
    const run = await client.run(context, code)
    id = run.id
    let value: string | undefined
    let failed = false
    for await (const event of run.events) {
      if (event.type === 'error') failed = true
      const text = event.type === 'result' ? event.results?.['text/plain'] : undefined
      if (typeof text === 'string') value = text
    }
    return failed ? undefined : value
  })()
  const answer = await within(asked, ASK_MS).catch(() => undefined)
  if (answer !== 'timeout') return answer
  if (id !== undefined) await client.interrupt(id).catch(() => {})
  await within(asked, ASK_MS).catch(() => {})
  return undefined
}
