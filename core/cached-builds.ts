/**
 * What execd builds from the sources it embeds (the go kernel, the java helper): once per user on
 * the machine, in the user's private cache dir (core/temp-dir.ts userCacheDir), and once per
 * process. The go and java runtimes each had their own copy of both halves until stop 52.
 */
import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { OwnedTempDir, userCacheDir } from './temp-dir'

/**
 * `<cache dir>/<name>`, made by `make(work, out)` unless it is there (`marker`, a path inside it,
 * says it is whole): into `out` inside a work dir (`<work>-…`) this execd owns, then renamed into place whole.
 * The work dir is locked while this execd lives, so the build of an execd killed mid-way is swept
 * by the next build (bound to come: the output was never made), and removed at exit, as a one-shot
 * `execd exec` stopped mid-build exits without awaiting it. Another execd building it at the same
 * moment: whichever rename wins is as good as the other.
 */
export async function buildInCache(
  { name, work: workName, marker }: { name: string; work: string; marker: string },
  make: (work: string, out: string) => Promise<void>,
): Promise<string> {
  const root = userCacheDir()
  const dir = join(root, name)
  if (existsSync(join(dir, marker))) return dir
  const workDir = new OwnedTempDir(workName, root, { removeAtExit: true })
  const work = workDir.ensure()
  try {
    const out = join(work, 'out')
    await make(work, out)
    try {
      renameSync(out, dir)
    } catch (e) {
      if (!existsSync(join(dir, marker))) throw e
    }
    return dir
  } finally {
    workDir.close()
  }
}

/**
 * One build per key in this process, kept while `there(built)` (its output is still on disk) and
 * made again once a tmp cleaner took it; a failed build is forgotten, so the next use tries again.
 * Uses at the same time share one build, a rebuild of a missing output included.
 */
export class CachedBuilds<T> {
  private readonly builds = new Map<string, Promise<T>>()

  constructor(private readonly there: (built: T) => boolean) {}

  async get(key: string, build: () => Promise<T>): Promise<T> {
    // The cache dir looked at first (it throws where it is not this user's own): once a
    // `rm -rf /tmp/*` took it, another user could make `execd-<uid>` theirs, with a build at the
    // path this one is known by (a hash of public sources), and that build ran as execd's user.
    userCacheDir()
    const last = this.builds.get(key)
    const built = await last?.catch(() => undefined)
    if (built !== undefined && this.there(built)) return built
    const current = this.builds.get(key)
    // A build under way, or done with its output there, is shared; one whose output is gone
    // is replaced, once (a use that got here first may have replaced it already).
    if (current && !(built !== undefined && current === last)) return current
    const next = build()
    this.builds.set(key, next)
    next.catch(() => this.builds.get(key) === next && this.builds.delete(key))
    return next
  }
}
