/**
 * A class-data-sharing archive of the helper's JVM (JDK 13+ dynamic archives): the classes a
 * context loads to start jshell and compile a first snippet, mapped instead of loaded, which
 * roughly halves context start. Made once per helper by a training run and cached beside it.
 * A damaged archive crashes the JVM at start, so it is written under a temporary name and
 * renamed only after a clean exit, and a start that fails with it drops it for good.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { OwnedTempDir } from '../../core/temp-dir'

/** JVM flags that use `archive`; its load messages would otherwise land in the user's stdout. */
export const useArchive = (archive: string): string[] => [`-XX:SharedArchiveFile=${archive}`, '-Xlog:cds*=off']

const made = new Map<string, Promise<string | undefined>>()
const dropped = new Set<string>()

/**
 * The archive at `path`, running `train(flags)` to make it if missing; undefined when it
 * cannot be had (the caller starts without it).
 */
export function sharedArchive(path: string, train: (flags: string[]) => Promise<void>): Promise<string | undefined> {
  if (dropped.has(path)) return Promise.resolve(undefined)
  let p = made.get(path)
  if (!p) {
    p = make(path, train)
    made.set(path, p)
  }
  return p
}

async function make(path: string, train: (flags: string[]) => Promise<void>): Promise<string | undefined> {
  if (existsSync(path)) return path
  // Written in a dir of its own, locked while this execd lives: the training JVM of an execd
  // killed mid-run (SIGKILL) runs on and writes its archive as it exits (11 MiB, beside the
  // helper as `helper.jsa.<pid>.tmp` it stayed for good); the next training sweeps the dir.
  const work = new OwnedTempDir('cds', dirname(path), { removeAtExit: true })
  try {
    const temp = join(work.ensure(), basename(path))
    await train([`-XX:ArchiveClassesAtExit=${temp}`, '-Xlog:cds*=off'])
    if (!existsSync(temp) || statSync(temp).size === 0) return undefined
    renameSync(temp, path)
    return path
  } catch {
    return undefined
  } finally {
    work.close()
  }
}

/** Forgets and deletes an archive that a JVM could not start with. */
export function dropArchive(path: string): void {
  dropped.add(path)
  rmSync(path, { force: true })
}
