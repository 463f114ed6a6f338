/**
 * `POST /files/replace`: replace every occurrence of a string in files, each streamed into a
 * temp file beside it and renamed over it (mode and owner kept), so a reader never sees a
 * half-written file and memory stays flat whatever the file's size.
 */
import { badRequest } from '../../../core/errors'
import { stageFile } from '../atomic'
import { openEntry, reopenForRead } from '../entry'
import { fsError } from '../errors'
import { entryPath, type PathScope } from '../paths'
import { contains, replacing } from '../replace-stream'

interface Replacement {
  old: string
  new: string
  /** Names the path by its exact bytes instead of the key. */
  path_base64?: string
}

/** Returns the number of replacements per key of the request. */
export async function replaceInFiles(
  scope: PathScope,
  entries: Record<string, Replacement>,
  /** The client went away: the file being rewritten stays as it was, and the rest are not started. */
  signal?: AbortSignal,
): Promise<Record<string, { replacedCount: number }>> {
  for (const [key, r] of Object.entries(entries)) {
    scope.normalise(entryPath(key, r))
    if (r.old === '') throw badRequest('old content must not be empty')
    // A lone surrogate is written as U+FFFD: `old` would match the file's U+FFFD, `new` write one.
    if (!r.old.isWellFormed() || !r.new.isWellFormed()) {
      throw badRequest('old and new must be valid Unicode (a lone surrogate cannot be written)')
    }
  }
  // No prototype: a file named __proto__ would be assigned as the prototype and left out.
  const out: Record<string, { replacedCount: number }> = Object.create(null)
  for (const [key, r] of Object.entries(entries)) {
    signal?.throwIfAborted()
    const raw = entryPath(key, r)
    let step = 'stat'
    try {
      // Follow a symlink: the file it points to changes, the link stays a link.
      out[key] = await scope.with(raw, { follow: true }, async anchor => {
        const entry = openEntry(anchor)
        let handle
        try {
          if (!entry.stats.isFile()) throw badRequest(`error accessing file: not a regular file: ${raw}`)
          step = 'read'
          handle = await reopenForRead(entry)
        } finally {
          entry.close()
        }
        try {
          const old = Buffer.from(r.old)
          // A first pass that stops at the first match: a file without one is never rewritten.
          if (!(await contains(handle, old))) return { replacedCount: 0 }
          const counter = { count: 0 }
          const staged = await stageFile(anchor, replacing(handle, old, Buffer.from(r.new), counter), { signal })
          step = 'rename'
          try {
            await staged.commit()
          } finally {
            await staged.discard()
          }
          return { replacedCount: counter.count }
        } finally {
          await handle.close()
        }
      })
    } catch (err) {
      throw fsError(err, step, raw)
    }
  }
  return out
}
