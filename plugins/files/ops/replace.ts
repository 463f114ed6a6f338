/**
 * `POST /files/replace`: replace every occurrence of a string in files, each streamed into a
 * temp file beside it and renamed over it (mode and owner kept), so a reader never sees a
 * half-written file and memory stays flat whatever the file's size. The files are fsynced and
 * renamed a batch at a time (ops/replace-batch.ts), in the request's order.
 */
import type { FileHandle } from 'node:fs/promises'
import { ExecdError, badRequest } from '../../../core/errors'
import { stageFile } from '../atomic'
import type { Anchor } from '../../../core/beneath/walk'
import { fdPath, openEntry, reopenForRead } from '../../../core/beneath/entry'
import { fsError } from '../errors'
import type { RawPath } from '../../../core/beneath/path-scope'
import { entryPath, type PathScope } from '../../../core/beneath/path-scope'
import { isPseudoFile } from '../pseudo'
import { countMatches, contains, replacing } from '../replace-stream'
import { ReplaceBatch } from './replace-batch'

interface Replacement {
  old: string
  new: string
  /** Names the path by its exact bytes instead of the key. */
  path_base64?: string
}

export interface ReplaceLimits {
  /**
   * Bytes one request may add to its files together (--max-replace-growth); unbounded when not
   * given. A replacement no longer than what it replaces is never refused, whatever the size.
   */
  maxGrowth?: number
}

/** Returns the number of replacements per key of the request. */
export async function replaceInFiles(
  scope: PathScope,
  entries: Record<string, Replacement>,
  /** The client went away: the file being rewritten stays as it was, and the rest are not started. */
  signal?: AbortSignal,
  { maxGrowth = Number.POSITIVE_INFINITY }: ReplaceLimits = {},
): Promise<Record<string, { replacedCount: number }>> {
  for (const [key, r] of Object.entries(entries)) {
    scope.normalise(entryPath(key, r))
    if (r.old === '') throw badRequest('old content must not be empty')
    // A lone surrogate is written as U+FFFD: `old` would match the file's U+FFFD, `new` write one.
    if (!r.old.isWellFormed() || !r.new.isWellFormed()) {
      throw badRequest('old and new must be valid Unicode (a lone surrogate cannot be written)')
    }
  }
  // Counted before any file is written: a request of 100 bytes grew a file of a million "a" by
  // 10 GB (each "a" made 10 KB), filling the disk, and a refusal midway left earlier files changed.
  if (Number.isFinite(maxGrowth)) await checkGrowth(scope, entries, maxGrowth, signal)
  // No prototype: a file named __proto__ would be assigned as the prototype and left out.
  const out: Record<string, { replacedCount: number }> = Object.create(null)
  let grown = 0
  const batch = new ReplaceBatch()
  try {
    for (const [key, r] of Object.entries(entries)) {
      signal?.throwIfAborted()
      const raw = entryPath(key, r)
      const count = await rewrite(scope, raw, r, { room: maxGrowth - grown, maxGrowth }, batch, signal)
      grown += count * growthOf(r)
      out[key] = { replacedCount: count }
      if (batch.full) await batch.commit()
    }
    await batch.commit()
  } catch (err) {
    // The files before the one that failed are replaced, as when each was renamed once written.
    await batch.commit().catch(() => {})
    throw err
  } finally {
    await batch.drop()
  }
  return out
}

/** Bytes each replacement adds (0 when it is no longer than what it replaces). */
const growthOf = (r: Replacement): number => Math.max(0, Buffer.byteLength(r.new) - Buffer.byteLength(r.old))

/**
 * Opens the regular file `raw` names (following a symlink: the file it leads to changes) for
 * `use`, after `before` has seen its anchor. The anchor is closed after, unless `use` keeps it.
 */
async function withFile<T>(
  scope: PathScope,
  raw: RawPath,
  use: (handle: FileHandle, anchor: Anchor, keep: () => void) => Promise<T>,
  step: { now: string },
  before?: (anchor: Anchor) => Promise<void>,
): Promise<T> {
  const anchor = scope.anchor(raw, { follow: true })
  let kept = false
  try {
    await before?.(anchor)
    const entry = openEntry(anchor)
    let handle
    try {
      if (!entry.stats.isFile()) throw badRequest(`error accessing file: not a regular file: ${raw}`)
      // Its temp file cannot be made beside it (a 404 "no such file" in /proc, a 500 EACCES in
      // /sys), and a read of /proc/kmsg waited for ever: refused before either.
      if (await isPseudoFile(fdPath(entry.fd), entry.stats)) throw notRewritable(raw)
      step.now = 'read'
      handle = await reopenForRead(entry)
    } finally {
      entry.close()
    }
    try {
      return await use(handle, anchor, () => (kept = true))
    } finally {
      await handle.close()
    }
  } finally {
    if (!kept) anchor.close()
  }
}

const notRewritable = (raw: RawPath) =>
  badRequest(
    `error accessing file: ${raw} is a kernel pseudo-file (procfs, sysfs): replace rewrites a file through a temp file ` +
      'beside it, which cannot be made there; write it with a command',
  )

/** The 413 of a request whose replacements would add more than `maxGrowth` bytes; nothing written. */
async function checkGrowth(
  scope: PathScope,
  entries: Record<string, Replacement>,
  maxGrowth: number,
  signal?: AbortSignal,
): Promise<void> {
  const growing = Object.entries(entries).filter(([, r]) => growthOf(r) > 0)
  // The most each file could grow by (every byte a match): when all of it fits, nothing need
  // be counted — a count read each file once more (a 200 MB file: +0.3 s to its replace).
  let most = 0
  for (const [key, r] of growing) {
    const size = await inFile(scope, entryPath(key, r), async handle => (await handle.stat()).size)
    most += Math.floor(size / Buffer.byteLength(r.old)) * growthOf(r)
  }
  if (most <= maxGrowth) return
  let grown = 0
  for (const [key, r] of growing) {
    signal?.throwIfAborted()
    const raw = entryPath(key, r)
    const each = growthOf(r)
    // Counting stops once past the bound: a refusal need not read the rest of a large file.
    const room = Math.floor((maxGrowth - grown) / each)
    const count = await inFile(scope, raw, handle => countMatches(handle, Buffer.from(r.old), room))
    grown += count * each
    if (grown > maxGrowth) throw tooMuchGrowth(raw, count, each, maxGrowth)
  }
}

/** `withFile` with its failures worded as the rewrite's would be. */
async function inFile<T>(scope: PathScope, raw: RawPath, use: (handle: FileHandle) => Promise<T>): Promise<T> {
  const step = { now: 'stat' }
  try {
    return await withFile(scope, raw, use, step)
  } catch (err) {
    throw fsError(err, step.now, raw)
  }
}

function tooMuchGrowth(raw: RawPath, count: number, each: number, maxGrowth: number): ExecdError {
  return new ExecdError(
    'PAYLOAD_TOO_LARGE',
    `replacing would grow the files by more than the ${maxGrowth} bytes one request may add ` +
      `(--max-replace-growth): ${raw} has ${count} or more matches, each replaced by ${each} bytes more; nothing was written`,
  )
}

/**
 * Rewrites one file into a temp file beside it, added to `batch`; its count of replacements.
 * `room` bounds what it may add: a file that grew since it was counted is refused with its temp
 * file removed, the file as it was.
 */
async function rewrite(
  scope: PathScope,
  raw: RawPath,
  r: Replacement,
  { room, maxGrowth }: { room: number; maxGrowth: number },
  batch: ReplaceBatch,
  signal?: AbortSignal,
): Promise<number> {
  const step = { now: 'stat' }
  try {
    return await withFile(
      scope,
      raw,
      async (handle, anchor, keep) => {
        const old = Buffer.from(r.old)
        // As it is before any byte is read: a change after it is not in what is written.
        const from = await handle.stat({ bigint: true })
        // A first pass that stops at the first match: a file without one is never rewritten.
        if (!(await contains(handle, old))) return 0
        const counter = { count: 0 }
        const each = growthOf(r)
        const output = bounded(replacing(handle, old, Buffer.from(r.new), counter), () => {
          if (counter.count * each > room) throw tooMuchGrowth(raw, counter.count, each, maxGrowth)
        })
        const staged = await stageFile(anchor, output, { signal, sync: false, from })
        batch.add(anchor, staged)
        keep()
        return counter.count
      },
      step,
      async anchor => {
        if (batch.holds(anchor)) await batch.commit()
      },
    )
  } catch (err) {
    throw fsError(err, step.now, raw)
  }
}

/** `pieces`, with `check` run before each is handed on. */
async function* bounded(pieces: AsyncIterable<Buffer>, check: () => void): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    check()
    yield piece
  }
}
