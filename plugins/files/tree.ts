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

/** rm -r of `name` in the directory `dir` (anything: file, symlink, tree). A missing entry is fine. */
export async function removeEntry(dir: number, name: Name): Promise<void> {
  const sub = await openSubdirectory(dir, name)
  if (!sub) {
    await unlink(procPath(dir, name)).catch(err => {
      // EISDIR: it became a directory since: start over.
      if (errnoOf(err) === 'EISDIR') return removeEntry(dir, name)
      if (errnoOf(err) !== 'ENOENT') throw err
    })
    return
  }
  // Entries added while we empty it: a few more rounds, then the error stands.
  for (let round = 0; ; round++) {
    try {
      for (const child of await entriesOf(sub.fd)) await removeEntry(sub.fd, child)
      await rmdir(procPath(dir, name))
      break
    } catch (err) {
      const code = errnoOf(err)
      if (code === 'ENOENT') break
      if (code !== 'ENOTEMPTY' || round >= 3) {
        await sub.close()
        throw err
      }
    }
  }
  await sub.close()
}

/**
 * Copies `srcName` of `srcDir` to `destName` of `destDir` (which must not exist): files with
 * their bytes, mode and times, symlinks as links, directories recursively. Other kinds (FIFOs,
 * sockets, devices) are refused.
 */
export async function copyEntry(srcDir: number, srcName: Name, destDir: number, destName: Name): Promise<void> {
  const from = procPath(srcDir, srcName)
  const to = procPath(destDir, destName)
  const s = await lstat(from)
  if (s.isSymbolicLink()) return symlink(await readlink(from, { encoding: 'buffer' }), to)
  if (s.isDirectory()) {
    const src = await open(from, DIR)
    try {
      await mkdir(to, 0o700)
      const dest = await open(to, DIR)
      try {
        for (const child of await entriesOf(src.fd)) await copyEntry(src.fd, child, dest.fd, child)
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
      const buf = Buffer.allocUnsafe(1 << 20)
      for (let pos = 0; ;) {
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
