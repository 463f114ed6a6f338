/**
 * How much of a cell's error an event carries. Output is bounded where it is read, values by
 * each channel's message limit; an error came whole from whatever the interpreter sent: a
 * javascript cell's `throw new Error('x'.repeat(4e8))` was one 800 MB event (its evalue, and
 * its traceback's first line again), framed and journaled, execd at 3.4 GB; a go cell of 10,000
 * bad imports a 1.6 MB one. No one reads an error past its first mebibytes, so it is cut there,
 * saying how much went.
 */
import type { ExecError, ExecEvent } from './events'

/** Characters an error's evalue keeps, and its traceback's lines together. */
export const MAX_ERROR_CHARS = 4 * 1024 * 1024
/** An exception's name is a class name: a longer one is no name. */
const MAX_ENAME_CHARS = 1024

/** `text` cut to at most `max` characters, a line saying what went among them; as it was when it fits. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text
  // The line is under 100 characters: what is kept and it stay within max.
  const keep = Math.max(0, max - 100)
  return `${text.slice(0, keep)}\n… ${text.length - keep} more characters dropped (execd keeps ${max} of an error)`
}

/**
 * The lines, whole while they fit in `max` characters together (each counted with one more: a
 * million empty lines are no smaller on the wire), then one line saying what went.
 */
function cutLines(lines: string[], max: number): string[] {
  let chars = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (chars + line.length + 1 <= max) {
      chars += line.length + 1
      continue
    }
    let dropped = 0
    for (let j = i; j < lines.length; j++) dropped += (lines[j] as string).length
    const kept = lines.slice(0, i)
    // A first line too long alone (the evalue again) keeps its start rather than nothing.
    const start = i === 0 ? Math.max(0, max - 100) : 0
    if (i === 0) kept.push(line.slice(0, start))
    const gone = dropped - start
    kept.push(
      `… ${lines.length - kept.length} more lines, ${gone} characters, dropped (execd keeps ${max} of a traceback)`,
    )
    return kept
  }
  return lines
}

/** The error bounded: the same object when it fits (nearly always), a cut copy when not. */
export function boundedError(error: ExecError, max = MAX_ERROR_CHARS): ExecError {
  if (error.ename.length <= MAX_ENAME_CHARS && error.evalue.length <= max && error.traceback.length <= max) {
    let chars = 0
    for (const line of error.traceback) chars += line.length + 1
    if (chars <= max) return error
  }
  return {
    ename: cut(error.ename, MAX_ENAME_CHARS),
    evalue: cut(error.evalue, max),
    traceback: cutLines(error.traceback, max),
  }
}

/** An `error` event with its error bounded; any other event as it is. */
export function boundedErrorEvent(event: ExecEvent): ExecEvent {
  const error = event.error
  if (event.type !== 'error' || error === undefined) return event
  const bounded = boundedError(error)
  return bounded === error ? event : { ...event, error: bounded }
}
