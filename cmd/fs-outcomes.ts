/** How `execd fs` ends when some of what was asked failed: what worked said, the rest named. */
import { ExecdError } from '../core/errors'
import { missingPath } from '../plugins/files/ops/info'
import type { FileInfo, FsOps } from './fs-ops'
import { plainMessage, TreeInTheWay } from './errors'

/**
 * Every path's stat that can be had, and the failure naming the others: one request for all as
 * before, and when a path is missing one more that leaves the missing out (`?missing=omit`):
 * `fs stat a missing` printed nothing for `a`, and then asked path by path (a request per path
 * over --url). A daemon that does not know `missing` (the reference) is still asked path by
 * path. Other failures (a path refused as typed) end it as they did.
 */
export async function statEach(
  fs: FsOps,
  paths: string[],
): Promise<{ infos: Record<string, FileInfo>; failed?: Error }> {
  try {
    return { infos: await fs.stat(paths) }
  } catch (err) {
    if (paths.length < 2 || !isMissing(err)) throw err
  }
  let infos: Record<string, FileInfo>
  try {
    infos = await fs.stat(paths, { omitMissing: true })
  } catch (err) {
    if (!isMissing(err)) throw err
    infos = await pathByPath(fs, paths)
  }
  const errors = paths.filter(p => !Object.hasOwn(infos, p)).map(missingPath)
  if (errors.length < 2) return { infos, failed: errors[0] }
  return { infos, failed: new ExecdError('FILE_NOT_FOUND', errors.map(plainMessage).join('; ')) }
}

const isMissing = (err: unknown) => err instanceof ExecdError && err.code === 'FILE_NOT_FOUND'

async function pathByPath(fs: FsOps, paths: string[]): Promise<Record<string, FileInfo>> {
  const infos: Record<string, FileInfo> = Object.create(null)
  for (const path of paths) {
    try {
      Object.assign(infos, await fs.stat([path]))
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }
  return infos
}

/**
 * `fs mkdir` where a file is in the way: the files section answers it as a 400 (the wire's
 * status), which the CLI read as a usage error (exit 2); nothing typed is wrong, the tree is in
 * the way, so it exits 1 with the same words — and `--json` with the wire's code, not
 * RUNTIME_ERROR.
 */
export function notDirectoryFails(err: unknown): never {
  if (err instanceof ExecdError && err.code === 'INVALID_REQUEST_BODY' && / not a directory$/.test(err.message))
    throw new TreeInTheWay(err.code, err.message)
  throw err
}
