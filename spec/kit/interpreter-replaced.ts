/**
 * A cell that cost its context the interpreter (a lie on the driver's pipe or channel, a process
 * killed under it): the cell ends with DeadKernelError saying why, the interpreter is gone, and
 * the next cell runs in a fresh one that says its state was lost.
 */
import { expect } from 'bun:test'
import { existsSync } from 'node:fs'
import { postJson, readSse, type Daemon } from '../harness'
import { expectWellFormed, ofType, resultText, runCode, type WireEvent } from '../runtime-kit'

/** Runs `code` in context `id`; gives up (and fails) after 20 s rather than hang the suite. */
export async function cellWithin(d: Daemon, id: string, code: string): Promise<WireEvent[]> {
  const res = await postJson(d, '/code', { code, context: { id } }, { signal: AbortSignal.timeout(20_000) })
  return (await readSse(res)).map(f => f.data as WireEvent)
}

/** `events` (the cell's) ended with the interpreter `pid` stopped for `why`; the next cell starts afresh. */
export async function expectInterpreterReplaced(
  d: Daemon,
  id: string,
  pid: number,
  events: WireEvent[],
  why: string,
): Promise<void> {
  expectWellFormed(events, id)
  const error = ofType(events, 'error')[0]?.error
  expect(error?.ename).toBe('DeadKernelError')
  expect(error?.evalue).toContain(why)
  expect(existsSync(`/proc/${pid}`)).toBe(false)
  const after = await runCode(d, '6 * 7', { id })
  expect(after[0]?.state_lost).toBe(true)
  expect(resultText(after)).toEqual(['42'])
}
