/**
 * The directory descriptors of one walk. A deep tree would need one per level; instead at most
 * `MAX_OPEN` stay open. An evicted directory is reopened when the walk comes back to it: from
 * the child it returns from, as that child's `..` (one open, however deep the tree), else from
 * its nearest open ancestor one `O_NOFOLLOW` component at a time; either way it is accepted
 * only if it is the same inode as before (else the walk skips what remains of it). Reopening
 * from the ancestors alone cost a walk back up a tree N deep N²/MAX_OPEN opens: 28 s of CPU
 * for a chain 5,000 deep with a file at each level. The same held for a directory asked for
 * again after the walk (a listing's entries stat'ed as the answer is sent, the deepest first):
 * each level up was reopened from the start, a chain 200 deep cost 3,500 opens for 800 entries,
 * so it is reopened as the `..` of an open child when there is one.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs'

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW
export const MAX_OPEN = 8

/**
 * Entries a walk handles between pauses for the event loop (a search, a listing and its answer,
 * a removal, a copy). At 256, a batch of a listing's answer (an lstat and a FileInfo each) held
 * the loop 5-16 ms of CPU on a loaded machine, and `/ping` waited up to 94 ms beside a search.
 */
export const PAUSE_EVERY = 64

/**
 * Entries a tree write (a removal, a copy) handles between pauses. Its entry costs several of a
 * walk's (an unlink took 44 µs where a search's entry took 10, load 10): at PAUSE_EVERY, four
 * removals beside a search of 60,000 entries took ~95% of the loop's time between its turns,
 * and the search that took 0.6 s alone took 12 s.
 */
export const WRITE_PAUSE_EVERY = 16

/**
 * A directory descriptor held: a FileHandle, or a plain descriptor (`heldFd`). A walk opens,
 * stats and closes its directories at once rather than through the thread pool: each call
 * there cost a futex, an eventfd write and an epoll wake beside the call itself, about 80
 * system calls per directory of a deep search, for opens that never wait on a disk.
 */
export interface Held {
  readonly fd: number
  close(): Promise<void>
}

/** `fd` as a Held, closed when the walk lets it go. */
export const heldFd = (fd: number): Held => ({ fd, close: async () => closeSync(fd) })

/** Opens `path` as a directory, O_NOFOLLOW: a symlink there fails (ENOTDIR, ELOOP). */
export const openDirectoryAt = (path: string | Buffer): Held => heldFd(openSync(path, DIR_FLAGS))

interface FrameInit {
  /** Name in the parent directory (empty for the walk's start). */
  name: Buffer
  /** Reported path: its bytes, its text, and whether the bytes are valid UTF-8. */
  bytes: Buffer
  path: string
  valid: boolean
}

export interface Frame extends FrameInit {
  parent?: Frame
  dev: bigint
  ino: bigint
  handle?: Held
}

export class DirectoryFds {
  /** Frames holding a descriptor, oldest first (the walk's start is never evicted). */
  private readonly open: Frame[] = []
  /** Directories reopened after an eviction: what the unit tests bound (linear in the tree's depth). */
  reopened = 0
  /** closeAll() ran: a descriptor opened after it is closed at once (see `hold`). */
  private closed = false

  /** Takes ownership of `handle`, the directory `init` names. */
  async adopt(handle: Held, init: FrameInit, parent?: Frame): Promise<Frame> {
    let s
    try {
      s = fstatSync(handle.fd, { bigint: true })
    } catch (err) {
      await handle.close()
      throw err
    }
    const frame: Frame = { ...init, parent, dev: s.dev, ino: s.ino }
    await this.hold(frame, handle)
    return frame
  }

  /** `/proc/self/fd/<fd of dir>/<name>`: resolves `name` inside that very directory. */
  async childPath(dir: Frame, name: Buffer): Promise<Buffer> {
    return Buffer.concat([Buffer.from(`/proc/self/fd/${await this.fdOf(dir)}/`), name])
  }

  /** The frame's descriptor, reopening it (and verifying it is the same directory) if evicted. */
  async fdOf(frame: Frame): Promise<number> {
    if (frame.handle) return frame.handle.fd
    if (!frame.parent) throw Object.assign(new Error('the walk is closed'), { code: 'EBADF' })
    // Back up a chain (a deep listing stat'ed deepest first): the child just used is still open.
    const childFd = this.open.find(f => f.parent === frame)?.handle?.fd
    const held = childFd === undefined ? undefined : await this.reopenAsParent(frame, childFd)
    if (held !== undefined) return held
    const replaced = (cause?: unknown) =>
      Object.assign(new Error(`directory replaced or removed during the walk: ${frame.path}`, { cause }), {
        code: 'ESTALE',
      })
    // A symlink put in its place fails O_NOFOLLOW | O_DIRECTORY; another directory, the inode test.
    this.reopened++
    let handle: Held
    try {
      handle = openDirectoryAt(await this.childPath(frame.parent, frame.name))
    } catch (err) {
      throw replaced(err)
    }
    let s
    try {
      s = fstatSync(handle.fd, { bigint: true })
    } catch (err) {
      await handle.close()
      throw replaced(err)
    }
    if (s.dev !== frame.dev || s.ino !== frame.ino) {
      await handle.close()
      throw replaced()
    }
    return this.hold(frame, handle)
  }

  /**
   * The descriptor of the frame's parent, reopened as the frame's `..` if it was evicted: the
   * walk goes on in the parent next (from the ancestors instead if that fails).
   */
  async ascend(frame: Frame): Promise<number> {
    const parent = frame.parent
    if (!parent) throw Object.assign(new Error('the walk has no parent here'), { code: 'EINVAL' })
    if (!parent.handle && frame.handle) await this.reopenAsParent(parent, frame.handle.fd)
    return this.fdOf(parent)
  }

  /** Closes the frame's descriptor (the walk is done with the directory), its parent held first. */
  async release(frame: Frame): Promise<void> {
    const parent = frame.parent
    if (parent && !parent.handle && frame.handle) await this.reopenAsParent(parent, frame.handle.fd)
    const at = this.open.indexOf(frame)
    if (at !== -1) this.open.splice(at, 1)
    const handle = frame.handle
    frame.handle = undefined
    await handle?.close()
  }

  /** `..` of the open directory `fd`, held as `parent` if it is still that inode (→ its fd); else left evicted. */
  private async reopenAsParent(parent: Frame, fd: number): Promise<number | undefined> {
    this.reopened++
    let handle: Held
    try {
      handle = openDirectoryAt(`/proc/self/fd/${fd}/..`)
    } catch {
      return undefined
    }
    let s
    try {
      s = fstatSync(handle.fd, { bigint: true })
    } catch {}
    if (s?.dev !== parent.dev || s.ino !== parent.ino) {
      await handle.close()
      return undefined
    }
    return this.hold(parent, handle)
  }

  async closeAll(): Promise<void> {
    this.closed = true
    for (const frame of this.open.splice(0)) {
      await frame.handle?.close()
      frame.handle = undefined
    }
  }

  /**
   * `handle` becomes the frame's descriptor → its fd. Not when closeAll() ran while it was
   * opened (an answer abandoned while its entries' directories were reopened), nor when another
   * reopen of the same frame won: that descriptor was nobody's, and a FileHandle the collector
   * finds open ends the process (Bun throws from its finalizer: execd exited under the fuzz).
   */
  private async hold(frame: Frame, handle: Held): Promise<number> {
    const held = this.closed || frame.handle === handle ? undefined : frame.handle
    if (this.closed || held) {
      await handle.close()
      if (!held) throw Object.assign(new Error('the walk is closed'), { code: 'EBADF' })
      return held.fd
    }
    frame.handle = handle
    this.open.push(frame)
    while (this.open.length > MAX_OPEN) {
      const victim = this.open.findIndex(f => f.parent !== undefined && f !== frame)
      if (victim === -1) break
      const [evicted] = this.open.splice(victim, 1)
      const h = evicted!.handle
      evicted!.handle = undefined
      await h?.close()
    }
    return handle.fd
  }
}
