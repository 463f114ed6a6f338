/**
 * Diff of an overlay workspace (commit.ts applies it). The upper layer (in execd's private temp
 * dir) holds what the session wrote; the lower is the real workspace. What was deleted is read from the
 * session's merged view (its workspace held from `/proc/<sandbox>/root`, in the session's own
 * mount namespace): a name in the lower dir the merged view no longer has was deleted, whether by
 * a whiteout or by an opaque directory (an `rm -r d; mkdir d`), which node cannot read as an
 * xattr. Without a live sandbox, whiteouts alone tell.
 */
import { closeSync, constants, type Stats } from 'node:fs'
import { lstat, open, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnOwned } from '../../../core/process'
import { procPath } from '../../../core/beneath/walk'
import { openBeneath, openWorkspace } from './files'

export type Change = 'added' | 'modified' | 'deleted'

export interface ChangedPath {
  /** Absolute, as inside the session (and on the host: the workspace is at the same path). */
  path: string
  change: Change
  type: 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'device'
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

/**
 * Every file call of a diff or a commit is awaited: done synchronously, a session's 100 000
 * files or an unchanged 1 GiB copy-up held the event loop (no answer to /ping for 3.9 s).
 */
const lstatOrNot = (p: string): Promise<Stats | undefined> => lstat(p).catch(() => undefined)
/**
 * What an entry is, as a commit treats it: a FIFO is carried out (made anew), a socket or a
 * device node is not (commit.ts); said as `other`, a diff could not tell which of them it was.
 */
const typeOf = (st: Stats): ChangedPath['type'] =>
  st.isDirectory()
    ? 'directory'
    : st.isSymbolicLink()
      ? 'symlink'
      : st.isFile()
        ? 'file'
        : st.isFIFO()
          ? 'fifo'
          : st.isSocket()
            ? 'socket'
            : 'device'
const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0

/**
 * The changes of the upper layer against the workspace, parents before their contents. The
 * walk stops once MAX_CHANGES are listed: what is left out is never returned.
 */
export async function changesOf(
  upper: string,
  workspace: string,
  sessionRoot?: string,
): Promise<{ changes: ChangedPath[]; truncated: boolean }> {
  // The merged view is the session's: it could swap the workspace or a dir in it for a link,
  // and a path through `/proc/<pid>/root` follows it in execd's root (an lstat there told
  // whether a host path exists). Held from the session's root, every dir opened without a link.
  const merged = sessionRoot === undefined ? undefined : heldOrNot(() => openWorkspace(sessionRoot, workspace))
  try {
    return await changesBeneath(upper, workspace, merged)
  } finally {
    if (merged !== undefined) closeSync(merged)
  }
}

/** A directory opened by `open`, or undefined where it is not one (then the whiteouts tell). */
function heldOrNot(open: () => number): number | undefined {
  try {
    return open()
  } catch {
    return undefined
  }
}

async function changesBeneath(
  upper: string,
  workspace: string,
  merged: number | undefined,
): Promise<{ changes: ChangedPath[]; truncated: boolean }> {
  const changes: ChangedPath[] = []
  let truncated = false
  const add = (c: ChangedPath) => {
    if (changes.length >= MAX_CHANGES) truncated = true
    else changes.push(c)
  }
  const deletedIn = async (rel: string, seen: Set<string>) => {
    if (merged === undefined) return
    const lower = join(workspace, rel)
    let names: string[] = []
    try {
      names = await readdir(lower)
    } catch {
      return
    }
    // Not a directory in the session's view (any more): none of the lower's entries shows there.
    const shown = heldOrNot(() => openBeneath(merged, rel))
    try {
      for (const name of names.sort()) {
        if (truncated) return
        if (seen.has(name) || (shown !== undefined && (await lstatOrNot(procPath(shown, name))))) continue
        const low = await lstatOrNot(join(lower, name))
        if (low) add({ path: join(workspace, rel, name), change: 'deleted', type: typeOf(low), size_before: size(low) })
      }
    } finally {
      if (shown !== undefined) closeSync(shown)
    }
  }
  const walk = async (rel: string) => {
    const names = (await readdir(join(upper, rel))).sort()
    const seen = new Set<string>()
    for (const name of names) {
      if (truncated) return
      const r = join(rel, name)
      const up = await lstat(join(upper, r))
      const low = await lstatOrNot(join(workspace, r))
      if (isWhiteout(up)) {
        // Read from the merged view when there is one (deletedIn); else the whiteout says it.
        if (merged === undefined && low)
          add({ path: join(workspace, r), change: 'deleted', type: typeOf(low), size_before: size(low) })
        if (merged === undefined) seen.add(name)
        continue
      }
      seen.add(name)
      if (up.isDirectory()) {
        if (!low || !low.isDirectory())
          add({ path: join(workspace, r), change: low ? 'modified' : 'added', type: 'directory' })
        await walk(r)
        continue
      }
      if (low && (await sameContent(join(upper, r), up, join(workspace, r), low))) continue // copied up, not changed
      add({
        path: join(workspace, r),
        change: low ? 'modified' : 'added',
        type: typeOf(up),
        ...(low ? { size_before: size(low) } : {}),
        size_after: size(up),
      })
    }
    if ((await lstatOrNot(join(workspace, rel)))?.isDirectory()) await deletedIn(rel, seen)
  }
  await walk('')
  return { changes, truncated }
}

const size = (st: Stats) => (st.isDirectory() ? undefined : st.size)

/** A copy-up without a change (a chmod back, a `touch`, an open for writing): same type, mode, bytes. */
async function sameContent(a: string, sa: Stats, b: string, sb: Stats): Promise<boolean> {
  if (typeOf(sa) !== typeOf(sb) || sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid) return false
  if (sa.isSymbolicLink()) return (await readlink(a)) === (await readlink(b))
  if (!sa.isFile() || sa.size !== sb.size) return false
  return await sameBytes(a, b)
}

/** Byte equality read in 1 MiB chunks: a copied-up file of any size costs no more memory. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  // Regular files by their lstat; O_NONBLOCK should either have become a FIFO since.
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
  const fa = await open(a, flags)
  const fb = await open(b, flags).catch(async e => {
    await fa.close()
    throw e
  })
  const ba = Buffer.allocUnsafe(1 << 20)
  const bb = Buffer.allocUnsafe(1 << 20)
  try {
    for (;;) {
      const [{ bytesRead: na }, { bytesRead: nb }] = await Promise.all([
        fa.read(ba, 0, ba.length),
        fb.read(bb, 0, bb.length),
      ])
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false
      if (na === 0) return true
    }
  } finally {
    await Promise.all([fa.close(), fb.close()])
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
    const [a, b] = [patchName('a/', rel), patchName('b/', rel)]
    if (!(await isText(before)) || !(await isText(after))) {
      patch += `Binary files ${a} and ${b} differ\n`
      continue
    }
    const p = spawnOwned(['diff', '-u', '--label', a, '--label', b, before, after], {
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

const C_ESCAPES: Record<string, string> = {
  '\x07': 'a',
  '\b': 'b',
  '\t': 't',
  '\n': 'n',
  '\v': 'v',
  '\f': 'f',
  '\r': 'r',
  '"': '"',
  '\\': '\\',
}

/**
 * A file's name in a patch header, C-quoted as git writes it when it holds a control character,
 * a quote, a backslash or non-ASCII: a name is the session's to choose, and one holding
 * `\n+++ b/…` written bare would add header lines of its own to the patch (a file the patch then
 * writes that the session never changed). git apply and GNU patch read the quoted form.
 */
function patchName(prefix: string, rel: string): string {
  const name = prefix + rel
  if (!/[\x00-\x1f\x7f"\\]|[^\x00-\x7f]/.test(name)) return name
  let quoted = ''
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte)
    const short = C_ESCAPES[ch]
    if (short) quoted += `\\${short}`
    else if (byte < 0x20 || byte >= 0x7f) quoted += `\\${byte.toString(8).padStart(3, '0')}`
    else quoted += ch
  }
  return `"${quoted}"`
}

async function isText(path: string): Promise<boolean> {
  if (path === '/dev/null') return true
  // Only a regular file is read, opened without following a link and without waiting for a
  // writer: the lower layer is the real workspace, where a FIFO (or a link to one, or to
  // /dev/zero) held this read, synchronous then, and the whole daemon with it, forever.
  if (!(await lstatOrNot(path))?.isFile()) return false
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null)
  if (!file) return false
  try {
    const st = await file.stat() // what was opened, should the path have changed since the lstat
    if (!st.isFile() || st.size > MAX_TEXT_FILE_BYTES) return false
    const buf = Buffer.allocUnsafe(MAX_TEXT_FILE_BYTES + 1)
    let n = 0
    for (let got = 1; got > 0 && n < buf.length; n += got) got = (await file.read(buf, n, buf.length - n)).bytesRead
    return n <= MAX_TEXT_FILE_BYTES && !buf.subarray(0, n).includes(0)
  } finally {
    await file.close()
  }
}
