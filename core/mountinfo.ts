/**
 * The lines of /proc/self/mountinfo, read by the cgroup tree (where execd's own cgroup is
 * mounted writable) and by the command logs' default total (which filesystem TMPDIR is on).
 * Text in, mounts out: no imports.
 */

export interface Mount {
  /** The mounted directory's path within its filesystem (a bind mount's or a cgroup's subtree). */
  root: string
  /** Where it is mounted. */
  point: string
  options: string[]
  fstype: string
}

/** mountinfo escapes a space, tab, newline and backslash in a path as octal (`\040`). */
const unescape = (path: string) =>
  path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))

/** `id parent dev root mountpoint options [optional...] - fstype source superoptions`, in the file's order. */
export function mountsOf(mountinfo: string): Mount[] {
  const out: Mount[] = []
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    const [, , , root, point, options] = left?.split(' ') ?? []
    const fstype = right?.split(' ')[0]
    if (root === undefined || point === undefined || options === undefined || !fstype) continue
    out.push({ root: unescape(root), point: unescape(point), options: options.split(','), fstype })
  }
  return out
}
