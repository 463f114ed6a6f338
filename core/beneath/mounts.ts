/**
 * Which mount a descriptor lies on. A removal or a move's copy never crosses into another
 * mount: a volume or bind mount inside the tree being removed is someone else's data (a host directory,
 * a secret, /proc of the container), and `rm -rf` of its parent emptying it is what `rm
 * --one-file-system` exists to prevent. st_dev cannot tell: a bind mount of the same
 * filesystem has the same device; the mount id (`/proc/self/fdinfo/<fd>`, `mnt_id:`) can.
 */
import { readFileSync } from 'node:fs'
import { badRequest, type ExecdError } from '../errors'
import type { RawPath } from './path-scope'

/**
 * The mount id of the file `fd` holds. Read at once: procfs answers from memory, and through
 * the thread pool it cost a removal or a copy a dozen system calls per directory.
 */
export async function mountIdOf(fd: number): Promise<number> {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
  const [, id] = /^mnt_id:\s*(\d+)$/m.exec(info) ?? []
  if (id === undefined) throw new Error(`no mnt_id in /proc/self/fdinfo/${fd}`)
  return Number(id)
}

/**
 * A removal that left mount points in place (and the directories above them): `paths` are
 * relative to the removed entry, '' for the entry itself.
 */
export class MountKept extends Error {
  constructor(readonly paths: string[]) {
    super(`kept ${paths.length} mount point${paths.length === 1 ? '' : 's'}`)
  }

  /** The kept mount points as the client would write them, below the path `raw` it gave. */
  pathsBelow(raw: RawPath): string {
    const base = String(raw)
    return this.paths.map(p => (p === '' ? base : `${base.replace(/\/+$/, '')}/${p}`)).join(', ')
  }
}

/** The 400 of a removal or a move stopped at a mount: `which` names the mount points. */
export function mountRefused(op: 'removal' | 'move', which: string, context = 'error accessing file: '): ExecdError {
  return badRequest(`${context}a ${op} never crosses into another mount: ${which}`)
}
