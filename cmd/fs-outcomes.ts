/** How `execd fs` ends when some of what was asked failed: what worked said, the rest named. */
import { ExecdError } from '../core/errors'
import type { FileInfo, FsOps } from './fs-ops'
import { plainMessage, TreeInTheWay } from './errors'

/**
 * Every path's stat that can be had, and the failure naming the others: one request for all as
 * before, and one per path only when a path is missing (`fs stat a missing` printed nothing for
 * `a`). Other failures (a path refused as typed) end it as they did.
 */
export async function statEach(
  fs: FsOps,
  paths: string[],
): Promise<{ infos: Record<string, FileInfo>; failed?: Error }> {
  try {
    return { infos: await fs.stat(paths) }
  } catch (err) {
    if (paths.length < 2 || !(err instanceof ExecdError) || err.code !== 'FILE_NOT_FOUND') throw err
  }
  const infos: Record<string, FileInfo> = Object.create(null)
  const errors: unknown[] = []
  for (const path of paths) {
    try {
      Object.assign(infos, await fs.stat([path]))
    } catch (err) {
      errors.push(err)
    }
  }
  if (errors.length < 2) return { infos, failed: errors[0] as Error | undefined }
  const first = errors[0]
  const code = first instanceof ExecdError ? first.code : 'RUNTIME_ERROR'
  return { infos, failed: new ExecdError(code, errors.map(plainMessage).join('; ')) }
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
