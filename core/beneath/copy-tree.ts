/**
 * A copy across filesystems (the move's fallback when rename(2) answers EXDEV), walked by
 * descriptor like the removal in ./tree.ts: each directory is opened with O_NOFOLLOW from its
 * held parent, so a directory swapped for a symlink mid-copy is copied as the link it now is.
 *
 * Depth-first with the walk's bounded descriptors (./walk-fds.ts), one set per side: by
 * recursion it held a source and a destination descriptor per level, so a tree 1,024 deep
 * took every descriptor of a daemon limited to 256 and the move failed with EMFILE.
 *
 * It never crosses into another mount (./mounts.ts), judged on each entry as it is opened:
 * the move removes its source once the copy is placed, and that removal keeps mount points,
 * so a mount inside the tree got copied and then kept, the move half done. It ends the copy
 * in `MountKept` instead, before the source is touched.
 */
import {
  chmodSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  type Stats,
} from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { nextTurn } from '../timers'
import { O_PATH, procPath, type Name } from './walk'
import { fdPath } from './entry'
import { MountKept, mountIdOf } from './mounts'
import { DirectoryFds, heldFd, openDirectoryAt, WRITE_PAUSE_EVERY, type Frame, type Held } from './walk-fds'
import type { Made } from './staging'
import { entriesOf, frameOf } from './tree'

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants

/** A directory being copied: both sides, its entries still to copy, its own stats for the end. */
interface Level {
  src: Frame
  dest: Frame
  names: Name[]
  index: number
  stats: Stats
}

/** Where a copied entry is read: the mount the copy stays on, the entry's path below the top ('' for the top). */
interface Place {
  home: number
  path: string
}

export interface CopyOptions {
  /** Stops the copy (between entries and chunks): the caller removes what it made. */
  signal?: AbortSignal
  /** Called once the copy's top entry exists (a caller tracks it as staged: staging.ts). */
  made?: (made: Made) => void
  /** The mode bits a file's copy keeps (all of 0o7777 unless told): an isolated commit drops setuid/setgid. */
  modeBits?: number
}

/**
 * Copies `srcName` of `srcDir` to `destName` of `destDir` (which must not exist): files with
 * their bytes, mode and times, symlinks as links, directories recursively. Other kinds (FIFOs,
 * sockets, devices) are refused. A failure leaves the partial copy for the caller to remove.
 *
 * The tree's stats, opens, mkdirs, chmods and times are made at once, as a walk's are
 * (./walk-fds.ts), with a pause for the event loop every WRITE_PAUSE_EVERY entries: through the
 * thread pool each cost a futex, an eventfd write and an epoll wake besides the call. A file's
 * bytes still go through the pool, a chunk at a time.
 */
export async function copyEntry(
  srcDir: number,
  srcName: Name,
  destDir: number,
  destName: Name,
  { signal, made }: CopyOptions = {},
): Promise<void> {
  signal?.throwIfAborted()
  const stats = lstatSync(procPath(srcDir, srcName))
  const home = await mountIdOf(srcDir)
  if (!stats.isDirectory()) {
    return copyLeaf(procPath(srcDir, srcName), procPath(destDir, destName), stats, {
      signal,
      made,
      place: { home, path: '' },
    })
  }
  const srcFds = new DirectoryFds()
  const destFds = new DirectoryFds()
  let copied = 0
  try {
    const opened = await openBoth(srcDir, srcName, destDir, destName, { home, path: '' })
    made?.(fstatSync(opened.dest.fd, { bigint: true }))
    const src = await srcFds.adopt(opened.src, frameOf(srcName))
    const dest = await destFds.adopt(opened.dest, frameOf(destName))
    const stack: Level[] = [{ src, dest, names: await entriesOf(await srcFds.fdOf(src)), index: 0, stats }]
    for (let at = stack.at(-1); at; at = stack.at(-1)) {
      signal?.throwIfAborted()
      if (++copied % WRITE_PAUSE_EVERY === 0) await nextTurn()
      const child = at.names[at.index++]
      if (child === undefined) {
        // Last, or the copies of its entries would change the times just set.
        const fd = await destFds.fdOf(at.dest)
        chmodSync(procPath(fd), at.stats.mode & 0o7777)
        utimesSync(procPath(fd), at.stats.atime, at.stats.mtime)
        await srcFds.release(at.src)
        await destFds.release(at.dest)
        stack.pop()
        continue
      }
      const s = lstatSync(procPath(await srcFds.fdOf(at.src), child))
      const place = { home, path: [...stack.slice(1).map(level => level.src.path), String(child)].join('/') }
      if (!s.isDirectory()) {
        const from = procPath(await srcFds.fdOf(at.src), child)
        await copyLeaf(from, procPath(await destFds.fdOf(at.dest), child), s, { signal, place })
        continue
      }
      const both = await openBoth(await srcFds.fdOf(at.src), child, await destFds.fdOf(at.dest), child, place)
      // Adopting may evict the parent's descriptor: every fd number is asked for again after.
      const sub = await srcFds.adopt(both.src, frameOf(child), at.src).catch(async err => {
        await both.dest.close()
        throw err
      })
      const subDest = await destFds.adopt(both.dest, frameOf(child), at.dest)
      stack.push({ src: sub, dest: subDest, names: await entriesOf(await srcFds.fdOf(sub)), index: 0, stats: s })
    }
  } finally {
    await srcFds.closeAll()
    await destFds.closeAll()
  }
}

/**
 * The source directory opened (O_NOFOLLOW, on the copy's mount), its copy made (0700 until its
 * end) and opened O_NOFOLLOW: a symlink swapped in on either side fails the open, never followed.
 */
async function openBoth(
  srcDir: number,
  srcName: Name,
  destDir: number,
  destName: Name,
  place: Place,
): Promise<{ src: Held; dest: Held }> {
  const src = openDirectoryAt(procPath(srcDir, srcName))
  try {
    await stayOn(src.fd, place)
    mkdirSync(procPath(destDir, destName), 0o700)
    return { src, dest: openDirectoryAt(procPath(destDir, destName)) }
  } catch (err) {
    await src.close()
    throw err
  }
}

/**
 * A FIFO, socket or device met by a copy: EINVAL, as before, naming what and where. A move to
 * another filesystem answered only `move <src> <dest>: invalid argument`, a tree's offending
 * entry nowhere said.
 */
export class NotCopied extends Error {
  readonly code = 'EINVAL'
  readonly kind: string
  constructor(
    s: Stats,
    /** Its path below the copy's top ('' for the top), where the copy knows it. */
    readonly path?: string,
  ) {
    const kind = s.isFIFO()
      ? 'a FIFO'
      : s.isSocket()
        ? 'a socket'
        : s.isCharacterDevice()
          ? 'a character device'
          : s.isBlockDevice()
            ? 'a block device'
            : 'not a file'
    super(`${kind}: only files, directories and symlinks are copied`)
    this.kind = kind
  }

  /** Where it is, as the client would write it, below the path `raw` it gave. */
  below(raw: string): string {
    return this.path ? `${raw.replace(/\/+$/, '')}/${this.path}` : raw
  }
}

/**
 * A symlink as a link, a regular file with its bytes, mode and times; anything else `NotCopied`.
 * With `place`, a file on another mount than the copy's is refused (`MountKept`).
 */
export async function copyLeaf(
  from: Name,
  to: Name,
  s: Stats,
  { signal, made, modeBits = 0o7777, place }: CopyOptions & { place?: Place },
): Promise<void> {
  if (s.isSymbolicLink()) {
    symlinkSync(readlinkSync(from, { encoding: 'buffer' }), to)
    made?.(lstatSync(to, { bigint: true }))
    return
  }
  if (!s.isFile()) throw new NotCopied(s, place?.path)
  const src = await openRegularFile(from, place)
  try {
    const st = await src.stat()
    const dest = await open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    try {
      made?.(await dest.stat({ bigint: true }))
      const buf = Buffer.allocUnsafe(1 << 20)
      for (let pos = 0; ;) {
        signal?.throwIfAborted()
        const { bytesRead } = await src.read(buf, 0, buf.length, pos)
        if (bytesRead === 0) break
        for (let off = 0; off < bytesRead;) off += (await dest.write(buf, off, bytesRead - off)).bytesWritten
        pos += bytesRead
      }
      await dest.chmod(st.mode & modeBits)
      await dest.utimes(st.atime, st.mtime)
    } finally {
      await dest.close()
    }
  } finally {
    await src.close()
  }
}

/**
 * Opens `path` for reading only if it is a regular file, judged on what was opened: it is held
 * with O_PATH first (which opens nothing: no FIFO waits for a writer, no device wakes) and
 * reopened through its descriptor. Opened by name after an lstat, a FIFO renamed over the name
 * in between held the open, a thread of the pool and the move with it, until a writer came.
 * A file with a mount on it (a bind-mounted file) is refused as a directory one is.
 */
async function openRegularFile(path: Name, place?: Place): Promise<FileHandle> {
  const held = heldFd(openSync(path, O_PATH | O_NOFOLLOW))
  try {
    const s = fstatSync(held.fd)
    if (!s.isFile()) throw new NotCopied(s, place?.path)
    if (place) await stayOn(held.fd, place)
    return await open(fdPath(held.fd), O_RDONLY)
  } finally {
    await held.close()
  }
}

/** `MountKept` naming the entry `fd` holds if it lies on another mount than the copy's. */
async function stayOn(fd: number, { home, path }: Place): Promise<void> {
  if ((await mountIdOf(fd)) !== home) throw new MountKept([path])
}
