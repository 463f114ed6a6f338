/** How `execd fs` ends when some of what was asked failed: what worked said, the rest named. */
import { ExecdError } from '../core/errors'
import { missingPath } from '../plugins/files/contract'
import type { FileInfo, FsOps, RawPath } from './fs-ops'
import { plainMessage } from './errors'

/**
 * Every path's stat that can be had, and the failure naming the others: one request for all as
 * before, and when a path is missing one more that leaves the missing out (`?missing=omit`):
 * `fs stat a missing` printed nothing for `a`, and then asked path by path (a request per path
 * over --url). When a path fails otherwise (denied, a symlink loop, a name too long: the daemon
 * answers that path's own code even with `missing=omit`), and with a daemon that does not know
 * `missing` (the reference), it asks path by path, so `fs stat` still prints every path there
 * and names each failure, as stat(1) does.
 */
export async function statEach(
  fs: FsOps,
  paths: RawPath[],
): Promise<{ infos: Record<string, FileInfo>; failed?: Error }> {
  try {
    return { infos: await fs.stat(paths) }
  } catch (err) {
    if (paths.length < 2 || !ofOnePath(err)) throw err
  }
  let infos: Record<string, FileInfo>
  let errors: ExecdError[]
  try {
    infos = await fs.stat(paths, { omitMissing: true })
    errors = paths.filter(p => !Object.hasOwn(infos, String(p))).map(missingPath)
  } catch (err) {
    if (!ofOnePath(err)) throw err
    ;({ infos, errors } = await pathByPath(fs, paths))
  }
  if (errors.length < 2) return { infos, failed: errors[0] }
  const [first] = errors as [ExecdError, ...ExecdError[]]
  return { infos, failed: new ExecdError(first.code, errors.map(plainMessage).join('; ')) }
}

/** A failure one path can cause on its own; anything else (the daemon away, a 500) ends the verb. */
const ofOnePath = (err: unknown): err is ExecdError =>
  err instanceof ExecdError && ['FILE_NOT_FOUND', 'FORBIDDEN', 'INVALID_REQUEST_BODY'].includes(err.code)

async function pathByPath(
  fs: FsOps,
  paths: RawPath[],
): Promise<{ infos: Record<string, FileInfo>; errors: ExecdError[] }> {
  const infos: Record<string, FileInfo> = Object.create(null)
  const errors: ExecdError[] = []
  for (const path of paths) {
    try {
      Object.assign(infos, await fs.stat([path]))
    } catch (err) {
      if (!ofOnePath(err)) throw err
      errors.push(err)
    }
  }
  return { infos, errors }
}
