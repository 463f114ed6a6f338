/**
 * `fs ls` and `fs search`: a listing printed as it comes, a batch at a time (rows, or with --json
 * one array written in pieces, the same bytes as whole), with stdout's backpressure: a reader
 * that is slow holds the walk (or the daemon's answer), and one that goes away (`| head`) stops
 * it, as a closed pipe stops `find`.
 */
import { Readable } from 'node:stream'
import { WALK_LIMITS, parseDepth } from '../plugins/files/contract'
import { UsageError, typedCheck } from './errors'
import type { FileInfo } from './fs-ops'
import { tableRows } from './fs-print'
import { pipeToStdout } from './stdout-pipe'

/**
 * `fs ls --depth`: the route's own check, then a range. Any digits were taken, and a huge number
 * (`-d 99999999999999999999`, read as 1e20) silently meant "all"; past the walk's entry cap no
 * tree is that deep and still listable in one answer, so the range ends there.
 */
export function listingDepth(raw: string | undefined): number {
  const most = WALK_LIMITS.maxEntries
  // Said as the option typed: the route's words named a query parameter (`invalid query
  // parameter 'depth': x`) the person never wrote.
  const words = `--depth expects 0 to ${most} levels, got '${raw}'`
  // With the route's code (--json), as before.
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new UsageError(words, 'INVALID_REQUEST_BODY')
  const depth = typedCheck(() => parseDepth(raw))
  if (depth > most) throw new UsageError(words)
  return depth
}

/** The text of each batch: rows, or the array's pieces (`[` with the first, `]` at the end). */
async function* text(batches: AsyncIterable<FileInfo[]>, json: boolean): AsyncGenerator<string> {
  const rows = tableRows()
  let first = true
  for await (const batch of batches) {
    if (!batch.length) continue
    if (!json) {
      yield rows(batch)
      continue
    }
    yield (first ? '[' : ',') + JSON.stringify(batch).slice(1, -1)
    first = false
  }
  if (json) yield first ? '[]\n' : ']\n'
}

/**
 * Prints `batches` as they come; the exit code (BROKEN_PIPE_EXIT when stdout's reader left).
 * A stop (`signal`: Ctrl-C, SIGTERM) ends the walk at its next batch: it went on to the end of
 * the grace, and the verb exited 3 s after SIGTERM.
 */
export async function printListing(
  batches: AsyncIterable<FileInfo[]>,
  json: boolean,
  signal?: AbortSignal,
): Promise<number> {
  return pipeToStdout(Readable.from(text(untilStopped(batches, signal), json), { objectMode: false }))
}

async function* untilStopped(batches: AsyncIterable<FileInfo[]>, signal?: AbortSignal): AsyncGenerator<FileInfo[]> {
  for await (const batch of batches) {
    signal?.throwIfAborted()
    yield batch
  }
}
