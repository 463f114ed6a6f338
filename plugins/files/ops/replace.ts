/**
 * `POST /files/replace`: replace every occurrence of a string in files, each rewritten
 * atomically (temp + rename, mode and owner kept) so a reader never sees a half-written file.
 */
import { readFile, stat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { writeAtomic } from '../atomic'
import { fsError } from '../errors'
import type { PathScope } from '../paths'

export interface Replacement {
  old: string
  new: string
}

/** Returns the number of replacements per request path. */
export async function replaceInFiles(
  scope: PathScope,
  entries: Record<string, Replacement>,
): Promise<Record<string, { replacedCount: number }>> {
  const out: Record<string, { replacedCount: number }> = {}
  for (const [raw, r] of Object.entries(entries)) {
    // Follow a symlink: the file it points to changes, the link stays a link.
    const { path, target } = scope.resolve(raw, { follow: true })
    const s = await stat(target).catch(err => {
      throw fsError(err, 'stat', path)
    })
    if (r.old === '') throw badRequest('old content must not be empty')
    if (!s.isFile()) throw badRequest(`error accessing file: not a regular file: ${path}`)
    const content = await readFile(target).catch(err => {
      throw fsError(err, 'read', path)
    })
    const { chunks, count } = replaceBytes(content, Buffer.from(r.old), Buffer.from(r.new))
    if (count > 0) await writeAtomic(target, chunks)
    out[raw] = { replacedCount: count }
  }
  return out
}

/** Byte-wise replace-all, so bytes that are not valid UTF-8 survive untouched. */
export function replaceBytes(content: Buffer, old: Buffer, replacement: Buffer): { chunks: Buffer[]; count: number } {
  const chunks: Buffer[] = []
  let count = 0
  let from = 0
  for (let at = content.indexOf(old, from); at >= 0; at = content.indexOf(old, from)) {
    chunks.push(content.subarray(from, at), replacement)
    from = at + old.length
    count++
  }
  chunks.push(content.subarray(from))
  return { chunks, count }
}
