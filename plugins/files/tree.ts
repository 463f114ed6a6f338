/**
 * Whole trees, walked by descriptor: `rm -r` and a copy across filesystems. Each directory is
 * opened with O_NOFOLLOW from its held parent and its entries are named relative to it, so a
 * directory swapped for a symlink mid-walk is removed or copied as the link it now is, never
 * followed out of the tree.
 */
import { constants } from 'node:fs'
import { lstat, mkdir, open, readdir, readlink, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises'
import { O_PATH, asName, procPath, type Name } from './beneath'
import { fdPath } from './entry'
import { errnoOf } from '../../core/errors'
import { DirectoryFds } from './ops/walk-fds'
import type { Made } from './staging'

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = constants
const DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW

/**
 * Opens `name` of the directory `dir` as a directory (readable: `readdir(procPath(h.fd))`), or
 * undefined if it is not one (a symlink included) or is gone. The building block of a walk
 * that cannot be led out of its tree: start from `scope.with(raw, { follow: true }, a =>
 * openSubdirectory(a.dir, a.name))`, then descend with it entry by entry.
 */
export async function openSubdirectory(dir: number, name: Name): Promise<FileHandle | undefined> {
  try {
    return await open(procPath(dir, name), DIR)
  } catch (err) {
    const code = errnoOf(err)
    if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * rm -r of `name` in the directory `dir` (anything: file, symlink, tree). A missing entry is
 * fine. Depth-first with the walk's bounded descriptors (ops/walk-fds.ts): holding one per
 * level, a tree 3,000 deep took every descriptor of a daemon limited to 1,024, so it stopped
 * half removed and every other request meanwhile failed with EMFILE.
 */
export async function removeEntry(dir: number, name: Name): Promise<void> {
  const top = await openSubdirectory(dir, name)
  if (!top) {
    await unlink(procPath(dir, name)).catch(err => {
      // EISDIR: it became a directory since: start over.
      if (errnoOf(err) === 'EISDIR') return removeEntry(dir, name)
      if (errnoOf(err) !== 'ENOENT') throw err
    })
    return
  }
  const fds = new DirectoryFds()
  try {
    const root = await fds.adopt(top, frameOf(name))
    const stack = [{ frame: root, names: await entriesOf(await fds.fdOf(root)), index: 0, round: 0 }]
    for (let at = stack.at(-1); at; at = stack.at(-1)) {
      const child = at.names[at.index++]
      if (child !== undefined) {
        const sub = await openSubdirectory(await fds.fdOf(at.frame), child)
        if (sub) {
          const frame = await fds.adopt(sub, frameOf(child), at.frame)
          stack.push({ frame, names: await entriesOf(await fds.fdOf(frame)), index: 0, round: 0 })
          continue
        }
        const failed = await unlink(procPath(await fds.fdOf(at.frame), child)).catch(err => err)
        if (errnoOf(failed) === 'EISDIR') at.index--
        else if (failed && errnoOf(failed) !== 'ENOENT') throw failed
        continue
      }
      const parentFd = at.frame.parent ? await fds.ascend(at.frame) : dir
      try {
        await rmdir(procPath(parentFd, asName(at.frame.name)))
      } catch (err) {
        const code = errnoOf(err)
        // Entries added while we emptied it: a few more rounds, then the error stands.
        if (code === 'ENOTEMPTY' && at.round < 3) {
          at.names = await entriesOf(await fds.fdOf(at.frame))
          at.index = 0
          at.round++
          continue
        }
        if (code !== 'ENOENT') throw err
      }
      await fds.release(at.frame)
      stack.pop()
    }
  } finally {
    await fds.closeAll()
  }
}

/** A directory of the removal, as the descriptors' frames name it (the top by `name` itself). */
function frameOf(name: Name): { name: Buffer; bytes: Buffer; path: string; valid: boolean } {
  const bytes = Buffer.from(name)
  return { name: bytes, bytes, path: String(name), valid: typeof name === 'string' }
}

export interface CopyOptions {
  /** Stops the copy (between entries and chunks): the caller removes what it made. */
  signal?: AbortSignal
  /** Called once the copy's top entry exists (a caller tracks it as staged: staging.ts). */
  made?: (made: Made) => void
}

/**
 * Copies `srcName` of `srcDir` to `destName` of `destDir` (which must not exist): files with
 * their bytes, mode and times, symlinks as links, directories recursively. Other kinds (FIFOs,
 * sockets, devices) are refused.
 */
export async function copyEntry(
  srcDir: number,
  srcName: Name,
  destDir: number,
  destName: Name,
  { signal, made }: CopyOptions = {},
): Promise<void> {
  signal?.throwIfAborted()
  const from = procPath(srcDir, srcName)
  const to = procPath(destDir, destName)
  const s = await lstat(from)
  if (s.isSymbolicLink()) {
    await symlink(await readlink(from, { encoding: 'buffer' }), to)
    made?.(await lstat(to, { bigint: true }))
    return
  }
  if (s.isDirectory()) {
    const src = await open(from, DIR)
    try {
      await mkdir(to, 0o700)
      const dest = await open(to, DIR)
      try {
        made?.(await dest.stat({ bigint: true }))
        for (const child of await entriesOf(src.fd)) await copyEntry(src.fd, child, dest.fd, child, { signal })
        await dest.chmod(s.mode & 0o7777)
        await dest.utimes(s.atime, s.mtime)
      } finally {
        await dest.close()
      }
    } finally {
      await src.close()
    }
    return
  }
  if (!s.isFile()) throw Object.assign(new Error(), { code: 'EINVAL' })
  const src = await openRegularFile(from)
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
      await dest.chmod(st.mode & 0o7777)
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
 */
async function openRegularFile(path: Name): Promise<FileHandle> {
  const held = await open(path, O_PATH | O_NOFOLLOW)
  try {
    if (!(await held.stat()).isFile()) throw Object.assign(new Error(), { code: 'EINVAL' })
    return await open(fdPath(held.fd), O_RDONLY)
  } finally {
    await held.close()
  }
}

/** The names in the directory `fd` holds, exact: a name that is not UTF-8 stays bytes. */
async function entriesOf(fd: number): Promise<Name[]> {
  const names = (await readdir(procPath(fd), { encoding: 'buffer' })) as unknown as Buffer[]
  return names.map(asName)
}
