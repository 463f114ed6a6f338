/**
 * `fs ls` and `fs search`: a listing printed as it comes, a batch at a time (rows, or with --json
 * one array written in pieces, the same bytes as whole), with stdout's backpressure: a reader
 * that is slow holds the walk (or the daemon's answer), and one that goes away (`| head`) stops
 * it, as a closed pipe stops `find`.
 */
import { Readable } from 'node:stream'
import { WALK_LIMITS } from '../plugins/files/contract'
import type { FileInfo } from './fs-ops'
import { tableRows } from './fs-print'
import { pipeToStdout } from './stdout-pipe'
import { type WholeOption, wholeOf } from './whole-option'

/**
 * `fs ls --depth`. Any digits were taken, and a huge number (`-d 99999999999999999999`, read as
 * 1e20) silently meant "all"; past the walk's entry cap no tree is that deep and still listable
 * in one answer, so the range ends there. Said as the option typed: the route's words named a
 * query parameter (`invalid query parameter 'depth': x`) the person never wrote.
 */
export const LS_DEPTH: WholeOption = {
  flag: 'depth',
  short: 'd',
  unit: 'levels',
  placeholder: '<n>',
  min: 0,
  max: WALK_LIMITS.maxEntries,
  // The route's code (--json), as before.
  wireCode: 'INVALID_REQUEST_BODY',
}

export const listingDepth = (typed: unknown): number => wholeOf(LS_DEPTH, typed) ?? 1

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
