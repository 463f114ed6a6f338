/**
 * The directory descriptors of one upload request, shared per directory. Each staged file's
 * anchor holds its directory until the request ends (the rename goes through it), so 50,000
 * files into one directory were 50,000 descriptors of the same directory: past the uploads'
 * quarter of the fd limit, 503. A file whose walk created nothing gives its own descriptor
 * back and uses the request's one for that directory (same device and inode); one whose walk
 * created directories keeps its own (it needs them to remove what it made if the request fails).
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs'
import { onLocalDisk } from '../atomic'
import { Anchor, O_PATH, procPath } from '../../../core/beneath/walk'

const { O_DIRECTORY } = constants

/** An anchor on a directory descriptor the request's `SharedDirectories` owns: its close leaves it open. */
class SharedAnchor extends Anchor {
  override get heldFds(): number {
    return 0
  }

  override close(): void {}
}

export class SharedDirectories {
  private readonly byInode = new Map<string, number>()
  private readonly local = new Map<number, Promise<boolean>>()

  /**
   * `anchor` itself if its walk created directories; else an anchor on the request's descriptor
   * of its directory (`added` says if that descriptor is new), its own closed.
   */
  share(anchor: Anchor): { anchor: Anchor; added: boolean } {
    // More than its directory held: the walk created directories (each held where it was made).
    if (anchor.heldFds !== 1) return { anchor, added: false }
    const s = fstatSync(anchor.dir)
    const key = `${s.dev}:${s.ino}`
    let fd = this.byInode.get(key)
    const added = fd === undefined
    if (fd === undefined) {
      try {
        fd = openSync(procPath(anchor.dir), O_PATH | O_DIRECTORY)
      } catch {
        // No descriptor to spare (EMFILE): the file keeps its own, and the budget says no.
        return { anchor, added: false }
      }
      this.byInode.set(key, fd)
      this.local.set(fd, onLocalDisk(fd))
    }
    const shared = new SharedAnchor(fd, anchor.name, anchor.raw, anchor.path, [], anchor.bytes)
    anchor.close()
    return { anchor: shared, added }
  }

  /** `onLocalDisk` of a shared directory, asked once: a statfs per file was a tenth of a small one's cost. */
  localDisk(fd: number): Promise<boolean> | undefined {
    return this.local.get(fd)
  }

  closeAll(): void {
    for (const fd of this.byInode.values()) {
      try {
        closeSync(fd)
      } catch {}
    }
    this.byInode.clear()
    this.local.clear()
  }
}
