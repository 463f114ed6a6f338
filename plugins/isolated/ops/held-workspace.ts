/**
 * A session's workspace as execd holds it, once per sandbox. Opened from the session's root one
 * component at a time without following any link (files.ts `openWorkspace`: the session's
 * shell can leave a link where the workspace stood), it cost each files request five opens;
 * now each starts from this one descriptor, after one check that it is still what the session
 * shows at its path (the shell can move the workspace's parent aside at any time).
 *
 * The check is an lstat of the path through the session's root, compared with the held
 * directory by device and inode. Where they differ (or the path is gone), the workspace is
 * opened again the careful way, which refuses a link. The kernel does follow a link the session
 * left above the workspace, in execd's root: such a path passes only if it leads to the very
 * directory held, the workspace itself, so nothing else is ever reached from it.
 */
import { closeSync, fstatSync, lstatSync, type BigIntStats } from 'node:fs'
import { reopenDirectory } from '../../../core/beneath/walk'
import { openWorkspace } from './files'

export class HeldWorkspace {
  private fd: number | undefined
  private held: BigIntStats | undefined

  /**
   * @param root the session's root as execd reaches it (`/proc/<sandbox init>/root`)
   * @param path the session's workspace (the same path inside and on the host)
   */
  constructor(
    readonly root: string,
    readonly path: string,
  ) {}

  /**
   * A new descriptor of the workspace as the session shows it now (the caller closes it);
   * OutsideRoot when it is no longer a directory there.
   */
  open(): number {
    if (this.fd !== undefined && this.stillShown()) return reopenDirectory(this.fd)
    this.close()
    const fd = openWorkspace(this.root, this.path)
    try {
      this.held = fstatSync(fd, { bigint: true })
    } catch (err) {
      closeSync(fd)
      throw err
    }
    this.fd = fd
    return reopenDirectory(fd)
  }

  private stillShown(): boolean {
    try {
      const now = lstatSync(this.root + this.path, { bigint: true })
      return now.dev === this.held!.dev && now.ino === this.held!.ino
    } catch {
      return false // gone, or a file or a loop on the way: the careful open tells
    }
  }

  /** Lets the workspace go: the sandbox has ended (a descriptor held its mounts alive). */
  close(): void {
    if (this.fd === undefined) return
    const fd = this.fd
    this.fd = this.held = undefined
    try {
      closeSync(fd)
    } catch {}
  }
}
