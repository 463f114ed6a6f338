/** Directory walking shared by list and search: byte-wise sorted, symlinks never followed. */
import type { Dirent } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Entries of a directory sorted by the bytes of their names (as Go's sort of strings). */
export async function sortedEntries(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

export interface WalkEntry {
  /** Path under the reported (caller-named) directory. */
  path: string
  /** Path for system calls (under the resolved directory). */
  target: string
  /** Path relative to the walk's start, with `/` separators. */
  relative: string
  dirent: Dirent
  level: number
}

/**
 * Depth-first pre-order walk. Real directories are descended while `level + 1 < depth`; a
 * subdirectory that cannot be read is reported through `onError` and skipped.
 */
export async function* walk(
  path: string,
  target: string,
  depth: number,
  onError: (dir: string, err: unknown) => void,
  level = 0,
  relative = '',
): AsyncGenerator<WalkEntry> {
  let entries: Dirent[]
  try {
    entries = await sortedEntries(target)
  } catch (err) {
    if (level === 0) throw err
    onError(path, err)
    return
  }
  for (const dirent of entries) {
    const entry: WalkEntry = {
      path: join(path, dirent.name),
      target: join(target, dirent.name),
      relative: relative ? `${relative}/${dirent.name}` : dirent.name,
      dirent,
      level,
    }
    yield entry
    if (dirent.isDirectory() && level + 1 < depth) {
      yield* walk(entry.path, entry.target, depth, onError, level + 1, entry.relative)
    }
  }
}
