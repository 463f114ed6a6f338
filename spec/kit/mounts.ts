/**
 * Mounts a spec file makes (tmpfs, bind mounts; root only), undone before its temp dir is
 * removed: a removal through a bind mount still in place deletes its source's files.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'

export class Mounts {
  private readonly made: string[] = []

  /** `mount …args`, the last being the target (made a directory when missing); false if refused. */
  mount(...args: string[]): boolean {
    const target = args.at(-1) ?? ''
    if (!existsSync(target)) mkdirSync(target, { recursive: true })
    const ok = spawnSync('mount', args).status === 0
    if (ok) this.made.push(target)
    return ok
  }

  /** A mount that will be found at `target` (moved there with the directory holding it). */
  movedTo(target: string): void {
    this.made.push(target)
  }

  /** Every mount made, the latest first (one inside another comes off before it). */
  undo(): void {
    for (const target of this.made.splice(0).reverse()) spawnSync('umount', ['-l', target])
  }
}
