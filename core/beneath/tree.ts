/**
 * Whole trees, walked by descriptor: `rm -r` (the copy across filesystems is ./copy-tree.ts).
 * Each directory is opened with O_NOFOLLOW from its held parent and its entries are named
 * relative to it, so a directory swapped for a symlink mid-walk is removed as the link it now
 * is, never followed out of the tree.
 */
import { rmdirSync, unlinkSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { asName, procPath, type Name } from './walk'
import { errnoOf } from '../errors'
import { nextTurn } from '../timers'
import { readEntries } from './dir-read'
import { MountKept, mountIdOf } from './mounts'
import { DirectoryFds, openDirectoryAt, WRITE_PAUSE_EVERY, type Held } from './walk-fds'

/**
 * Opens `name` of the directory `dir` as a directory (readable: `readEntries(h.fd)`), or
 * undefined if it is not one (a symlink included) or is gone. The building block of a walk
 * that cannot be led out of its tree: start from `scope.with(raw, { follow: true }, a =>
 * openSubdirectory(a.dir, a.name))`, then descend with it entry by entry.
 */
export async function openSubdirectory(dir: number, name: Name): Promise<Held | undefined> {
  try {
    return openDirectoryAt(procPath(dir, name))
  } catch (err) {
    const code = errnoOf(err)
    if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * rm -r of `name` in the directory `dir` (anything: file, symlink, tree). A missing entry is
 * fine. Depth-first with the walk's bounded descriptors (./walk-fds.ts): holding one per
 * level, a tree 3,000 deep took every descriptor of a daemon limited to 1,024, so it stopped
 * half removed and every other request meanwhile failed with EMFILE. It never crosses into
 * another mount (./mounts.ts): a mount point is left whole, with the directories above it, and
 * the removal ends in `MountKept` naming them.
 */
export async function removeEntry(dir: number, name: Name): Promise<void> {
  const top = await openSubdirectory(dir, name)
  if (!top) {
    await unlink(procPath(dir, name)).catch(err => {
      // EISDIR: it became a directory since: start over.
      if (errnoOf(err) === 'EISDIR') return removeEntry(dir, name)
      // EBUSY: a file with a mount on it (a bind-mounted file).
      if (errnoOf(err) === 'EBUSY') throw new MountKept([''])
      if (errnoOf(err) !== 'ENOENT') throw err
    })
    return
  }
  const fds = new DirectoryFds()
  const kept: string[] = []
  let removed = 0
  try {
    const home = await mountIdOf(dir)
    if ((await mountIdOf(top.fd)) !== home) {
      await top.close()
      throw new MountKept([''])
    }
    const root = await fds.adopt(top, frameOf(name))
    const stack = [{ frame: root, names: await entriesOf(await fds.fdOf(root)), index: 0, round: 0, keeps: false }]
    const keep = (child: Name) => {
      kept.push([...stack.slice(1).map(level => level.frame.path), String(child)].join('/'))
      for (const level of stack) level.keeps = true
    }
    for (let at = stack.at(-1); at; at = stack.at(-1)) {
      const child = at.names[at.index++]
      if (child !== undefined) {
        if (++removed % WRITE_PAUSE_EVERY === 0) await nextTurn()
        // Most entries are not directories: unlink(2) first, one system call, and never a
        // directory (EISDIR) nor through a symlink. Opening each as a directory first, then
        // unlinking, both through the thread pool, cost 13–25 system calls an entry.
        const unlinked = unlinkQuietly(await fds.fdOf(at.frame), child)
        if (unlinked === 'EBUSY') keep(child)
        if (unlinked !== 'EISDIR') continue
        const sub = await openSubdirectory(await fds.fdOf(at.frame), child)
        // Unknown is not the same mount: a failed read ends the removal rather than cross.
        const subMount = sub && (await mountIdOf(sub.fd).catch(err => sub.close().then(() => Promise.reject(err))))
        if (sub && subMount !== home) {
          await sub.close()
          keep(child)
        } else if (sub) {
          const frame = await fds.adopt(sub, frameOf(child), at.frame)
          stack.push({ frame, names: await entriesOf(await fds.fdOf(frame)), index: 0, round: 0, keeps: false })
        } else {
          // No directory by now: unlinked, or a directory once more since (looked at again).
          const again = unlinkQuietly(await fds.fdOf(at.frame), child)
          if (again === 'EBUSY') keep(child)
          else if (again === 'EISDIR') at.index--
        }
        continue
      }
      if (at.keeps) {
        await fds.release(at.frame)
        stack.pop()
        continue
      }
      const parentFd = at.frame.parent ? await fds.ascend(at.frame) : dir
      try {
        rmdirSync(procPath(parentFd, asName(at.frame.name)))
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
  if (kept.length > 0) throw new MountKept(kept)
}

/**
 * unlink(2) of `name` in the directory `dir`, at once (it does not wait on the thread pool): ''
 * when it is gone, `EISDIR` for a directory, `EBUSY` for a file with a mount on it (a
 * bind-mounted file); any other failure throws.
 */
function unlinkQuietly(dir: number, name: Name): '' | 'EISDIR' | 'EBUSY' {
  try {
    unlinkSync(procPath(dir, name))
    return ''
  } catch (err) {
    const code = errnoOf(err)
    if (code === 'ENOENT') return ''
    if (code === 'EISDIR' || code === 'EBUSY') return code
    throw err
  }
}

/** A directory of the removal, as the descriptors' frames name it (the top by `name` itself). */
export function frameOf(name: Name): { name: Buffer; bytes: Buffer; path: string; valid: boolean } {
  const bytes = Buffer.from(name)
  return { name: bytes, bytes, path: String(name), valid: typeof name === 'string' }
}

/** The names in the directory `fd` holds, exact: a name that is not UTF-8 stays bytes. */
export async function entriesOf(fd: number): Promise<Name[]> {
  return (await readEntries(fd)).map(e => e.name)
}
