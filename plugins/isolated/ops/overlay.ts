/**
 * Diff and commit of an overlay workspace. The upper layer (in execd's private temp dir) holds
 * what the session wrote; the lower is the real workspace. What was deleted is read from the
 * session's merged view (`/proc/<sandbox>/root/<workspace>`, in the session's own mount
 * namespace): a name in the lower dir the merged view no longer has was deleted, whether by
 * a whiteout or by an opaque directory (an `rm -r d; mkdir d`), which node cannot read as an
 * xattr. Without a live sandbox, whiteouts alone tell.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { ExecdError } from '../../../core/errors'
import { spawnOwned } from '../../../core/process'

export type Change = 'added' | 'modified' | 'deleted'

export interface ChangedPath {
  /** Absolute, as inside the session (and on the host: the workspace is at the same path). */
  path: string
  change: Change
  type: 'file' | 'directory' | 'symlink' | 'other'
  /** Bytes before (absent for added) and after (absent for deleted). */
  size_before?: number
  size_after?: number
}

export interface Diff {
  workspace: string
  changes: ChangedPath[]
  /** Unified diff of the text files (with ?patch=true). */
  patch?: string
  /** Some changes or some of the patch were left out (the caps below). */
  truncated?: boolean
}

/** Caps: a diff lists at most this many paths, a patch is at most this long. */
export const MAX_CHANGES = 10_000
const MAX_PATCH_BYTES = 1 << 20
const MAX_TEXT_FILE_BYTES = 256 << 10
const MAX_PATCH_FILES = 1000

const lstat = (p: string) => lstatSync(p, { throwIfNoEntry: false })
const typeOf = (st: Stats): ChangedPath['type'] =>
  st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other'
const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0

/** The changes of the upper layer against the workspace, parents before their contents. */
export function changesOf(
  upper: string,
  workspace: string,
  merged?: string,
): { changes: ChangedPath[]; truncated: boolean } {
  const changes: ChangedPath[] = []
  let truncated = false
  const add = (c: ChangedPath) => {
    if (changes.length >= MAX_CHANGES) truncated = true
    else changes.push(c)
  }
  const deletedIn = (rel: string, seen: Set<string>) => {
    if (!merged) return
    const lower = join(workspace, rel)
    let names: string[] = []
    try {
      names = readdirSync(lower)
    } catch {
      return
    }
    for (const name of names.sort()) {
      if (seen.has(name) || lstat(join(merged, rel, name))) continue
      const low = lstat(join(lower, name))
      if (low) add({ path: join(workspace, rel, name), change: 'deleted', type: typeOf(low), size_before: size(low) })
    }
  }
  const walk = (rel: string) => {
    const names = readdirSync(join(upper, rel)).sort()
    const seen = new Set<string>()
    for (const name of names) {
      const r = join(rel, name)
      const up = lstatSync(join(upper, r))
      const low = lstat(join(workspace, r))
      if (isWhiteout(up)) {
        // Read from the merged view when there is one (deletedIn); else the whiteout says it.
        if (!merged && low)
          add({ path: join(workspace, r), change: 'deleted', type: typeOf(low), size_before: size(low) })
        if (!merged) seen.add(name)
        continue
      }
      seen.add(name)
      if (up.isDirectory()) {
        if (!low || !low.isDirectory())
          add({ path: join(workspace, r), change: low ? 'modified' : 'added', type: 'directory' })
        walk(r)
        continue
      }
      if (low && sameContent(join(upper, r), up, join(workspace, r), low)) continue // copied up, not changed
      add({
        path: join(workspace, r),
        change: low ? 'modified' : 'added',
        type: typeOf(up),
        ...(low ? { size_before: size(low) } : {}),
        size_after: size(up),
      })
    }
    if (lstat(join(workspace, rel))?.isDirectory()) deletedIn(rel, seen)
  }
  walk('')
  return { changes, truncated }
}

const size = (st: Stats) => (st.isDirectory() ? undefined : st.size)

/** A copy-up without a change (a chmod back, a `touch`, an open for writing): same type, mode, bytes. */
function sameContent(a: string, sa: Stats, b: string, sb: Stats): boolean {
  if (typeOf(sa) !== typeOf(sb) || sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid) return false
  if (sa.isSymbolicLink()) return readlinkSync(a) === readlinkSync(b)
  if (!sa.isFile() || sa.size !== sb.size) return false
  return sameBytes(a, b)
}

/** Byte equality read in 1 MiB chunks: a copied-up file of any size costs no more memory. */
function sameBytes(a: string, b: string): boolean {
  const fa = openSync(a, 'r')
  const fb = openSync(b, 'r')
  const ba = Buffer.allocUnsafe(1 << 20)
  const bb = Buffer.allocUnsafe(1 << 20)
  try {
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null)
      const nb = readSync(fb, bb, 0, bb.length, null)
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false
      if (na === 0) return true
    }
  } finally {
    closeSync(fa)
    closeSync(fb)
  }
}

/** `diff -u` of the changed text files, capped in total and per file. */
export async function patchOf(
  changes: ChangedPath[],
  upper: string,
  workspace: string,
): Promise<{ patch: string; truncated: boolean }> {
  let patch = ''
  let truncated = false
  let files = 0
  for (const c of changes) {
    if (c.type !== 'file') continue
    // One `diff` process per file: a bound on how many, besides the bytes.
    if (++files > MAX_PATCH_FILES) {
      truncated = true
      break
    }
    const rel = c.path.slice(workspace.length + 1)
    const before = c.change === 'added' ? '/dev/null' : join(workspace, rel)
    const after = c.change === 'deleted' ? '/dev/null' : join(upper, rel)
    if (!isText(before) || !isText(after)) {
      patch += `Binary files a/${rel} and b/${rel} differ\n`
      continue
    }
    const p = spawnOwned(['diff', '-u', '--label', `a/${rel}`, '--label', `b/${rel}`, before, after], {
      timeoutMs: 10_000,
      stderr: 'ignore',
    })
    const [text] = await Promise.all([new Response(p.stdout).text(), p.exited])
    if (patch.length + text.length > MAX_PATCH_BYTES) {
      truncated = true
      break
    }
    patch += text
  }
  return { patch, truncated }
}

function isText(path: string): boolean {
  if (path === '/dev/null') return true
  // Only a regular file is read, opened without following a link and without waiting for a
  // writer: the lower layer is the real workspace, where a FIFO (or a link to one, or to
  // /dev/zero) held this synchronous read, and the whole daemon with it, forever.
  if (!lstat(path)?.isFile()) return false
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return false
  }
  try {
    const st = fstatSync(fd) // what was opened, should the path have changed since the lstat
    if (!st.isFile() || st.size > MAX_TEXT_FILE_BYTES) return false
    const buf = Buffer.allocUnsafe(MAX_TEXT_FILE_BYTES + 1)
    let n = 0
    for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null)
    return n <= MAX_TEXT_FILE_BYTES && !buf.subarray(0, n).includes(0)
  } finally {
    closeSync(fd)
  }
}

/**
 * Applies the changes to the real workspace (the session's sandbox is stopped by then): each
 * file is written to a temp name beside its target and renamed over it, so a reader of the
 * workspace sees the old file or the new one, never half of it. Deletions remove the path.
 * Nothing is written through a symlink out of the workspace.
 */
export function applyChanges(changes: ChangedPath[], upper: string, workspace: string): void {
  for (const c of changes) {
    const rel = c.path.slice(workspace.length + 1)
    const target = join(workspace, rel)
    const parent = dirname(target)
    const real = realpathSync(parent)
    if (real !== workspace && !real.startsWith(workspace + sep)) {
      throw new ExecdError('RUNTIME_ERROR', `commit refused: ${parent} leads out of the workspace`)
    }
    const low = lstat(target)
    if (c.change === 'deleted') {
      rmSync(target, { recursive: true, force: true })
      continue
    }
    const from = join(upper, rel)
    const up = lstatSync(from)
    if (up.isDirectory()) {
      if (low && !low.isDirectory()) rmSync(target, { force: true })
      if (!low?.isDirectory()) mkdirSync(target)
      chmodSync(target, up.mode & 0o7777)
      lchownSync(target, up.uid, up.gid)
      continue
    }
    if (low?.isDirectory()) rmSync(target, { recursive: true, force: true })
    const temp = join(parent, `.execd-commit-${crypto.randomUUID().slice(0, 8)}`)
    try {
      if (up.isSymbolicLink()) symlinkSync(readlinkSync(from), temp)
      else {
        copyFileSync(from, temp)
        chmodSync(temp, up.mode & 0o7777)
      }
      lchownSync(temp, up.uid, up.gid)
      renameSync(temp, target)
    } catch (err) {
      rmSync(temp, { force: true })
      throw err
    }
  }
}
