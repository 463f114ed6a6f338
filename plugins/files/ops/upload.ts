/**
 * `POST /files/upload`: pairs of `metadata` (JSON) and `file` parts, streamed part by part
 * straight into temp files beside their targets. The i-th metadata part pairs with the i-th
 * file part, as in the reference; since nothing is buffered, a file part must come after its
 * metadata part (the official SDKs always send them so). All or nothing: the temp files are
 * fsynced and renamed into place only once the whole request has arrived and checked out;
 * otherwise they are removed, with every parent directory the request created.
 */
import { fstatSync, readFileSync } from 'node:fs'
import { ExecdError } from '../../../core/errors'
import { heldOf, type Held, type Slot } from '../../../core/held-slots'
import type { MinRateLimits } from '../../../core/min-rate'
import { stageFile, type Staged } from '../atomic'
import type { Anchor } from '../../../core/beneath/walk'
import { fsError } from '../errors'
import { modeFromWire } from '../fileinfo'
import { boundaryOf, parseMultipart } from '../multipart'
import { ownershipOf, type Ownership } from '../../../core/owner-names'
import { bytePathOf, type PathScope, type RawPath } from '../../../core/beneath/path-scope'
import { commitTogether } from './commit-staged'
import { PendingMetadata } from './pending-metadata'
import { SharedDirectories } from './upload-fds'

interface FileMetadata {
  /** From `path`, or from `path_base64` (the exact bytes): exactly one of them. */
  path: RawPath
  owner?: string
  group?: string
  mode?: number
}

interface WrittenFile {
  path: string
  bytes: number
}

const MAX_METADATA_BYTES = 64 * 1024

/** A metadata part, checked: the path, mode and owner are valid before any byte is written. */
interface CheckedMetadata extends FileMetadata {
  fileMode?: number
  own: Ownership
}

function checkMetadata(scope: PathScope, meta: FileMetadata): CheckedMetadata {
  scope.normalise(meta.path)
  return {
    ...meta,
    fileMode: meta.mode ? modeFromWire(meta.mode) : undefined,
    own: ownershipOf(meta.owner, meta.group),
  }
}

/** One file written to a temp file beside its target, not yet renamed. */
interface StagedFile {
  anchor: Anchor
  staged: Staged
  /** Gives the anchor's fds back to the budget; idempotent. */
  release: () => void
}

/**
 * The directory fds that files staged by all uploads in progress may hold at once: a quarter
 * of the process's fd limit. A staged file keeps its directory (and each directory its walk
 * created) open until the request ends, so one request of 10,000 tiny parts took all 20,000
 * fds of execd: every other request, and accept itself, failed with EMFILE meanwhile — for as
 * long as the client cared to leave its body unfinished. The process's, not a section's: it is
 * a share of the one fd table, which every upload draws on (the files section's, the isolated
 * files view's, `execd fs`); one budget per app would let two apps take half between them.
 */
let fdBudget: number | undefined
let fdsHeld = 0
/**
 * The requests that hold them, oldest first, each with its count (core/held-slots.ts): a refusal
 * says which uploads hold the budget and since when, and so does SIGUSR2 (the files section
 * reports them).
 */
const holders = new Set<Slot>()

/** A request's hold on the budget: none until its first file holds a directory. */
const holderOf = (kind: string): Slot => ({ kind, at: performance.now(), units: 0 })

/** Who holds the budget now. */
export const uploadsHeld = (): Held => heldOf('upload directories open', stagedFdBudget(), holders)

function stagedFdBudget(): number {
  if (fdBudget === undefined) {
    let limit = 0
    try {
      limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 0)
    } catch {}
    fdBudget = limit > 0 ? Math.max(64, Math.floor(limit / 4)) : 4096
  }
  return fdBudget
}

/** Counts `n` fds of `holder`'s against the budget (503 past it); the returned release is idempotent. */
function holdFds(n: number, holder: Slot): () => void {
  const budget = stagedFdBudget()
  if (fdsHeld + n > budget) {
    // Now: the refused request gives its own back before the refusal is logged, and it may be
    // the one that held most.
    const held = uploadsHeld()
    throw new ExecdError(
      'SERVICE_UNAVAILABLE',
      `limit reached: the uploads in progress hold ${fdsHeld} of at most ${budget} directories open ` +
        '(a quarter of the fd limit; each file of an upload holds its directory until the request ends); ' +
        'send fewer files or fewer new directories per request',
      { held: () => held },
    )
  }
  fdsHeld += n
  holder.units = (holder.units ?? 0) + n
  if (holder.units > 0) holders.add(holder)
  let released = false
  return () => {
    if (released) return
    released = true
    fdsHeld -= n
    holder.units = (holder.units ?? 0) - n
    if (holder.units <= 0) holders.delete(holder)
  }
}

/**
 * Stages one file: its parents are created (and remembered), and a symlink at the target is
 * written through, like open(2) with O_TRUNC: its target gets the new bytes (beneath the root).
 */
async function stage(
  scope: PathScope,
  meta: CheckedMetadata,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  directories: SharedDirectories,
  /** The request's hold on the directories' budget. */
  holder: Slot,
  /** The targets staged so far by this request (directory dev:ino and name). */
  taken?: Set<string>,
  /** The client going away: the file's write stops, its temp file is removed. */
  signal?: AbortSignal,
): Promise<StagedFile> {
  let anchor: Anchor
  let added = false
  try {
    ;({ anchor, added } = directories.share(scope.anchor(meta.path, { follow: true, mkdirs: true, track: true })))
  } catch (err) {
    throw fsError(err, 'mkdir', scope.failedDirectory(err, meta.path))
  }
  let release: (() => void) | undefined
  try {
    // A shared directory counts once, for the file that opened it.
    release = holdFds(added ? 1 : anchor.heldFds, holder)
    if (taken) {
      // One target twice: the later file replaced the earlier at commit, and the answer was a
      // 200 for a file that was never written. Told by the directory and name reached, so
      // `/d/f`, `/d/./f` and a symlink to it are one.
      const dir = fstatSync(anchor.dir)
      const key = `${dir.dev}:${dir.ino}/${Buffer.from(anchor.name).toString('hex')}`
      if (taken.has(key)) {
        throw new ExecdError(
          'INVALID_FILE_METADATA',
          `invalid metadata format. the same file twice in one upload: ${meta.path}`,
        )
      }
      taken.add(key)
    }
    const own = meta.own.uid !== undefined || meta.own.gid !== undefined ? meta.own : undefined
    const localDisk = await directories.localDisk(anchor.dir)
    const staged = await stageFile(anchor, chunks, {
      mode: meta.fileMode,
      ownership: own,
      localDisk,
      signal,
      sync: false,
    })
    return { anchor, release, staged }
  } catch (err) {
    anchor.undoCreated()
    anchor.close()
    release?.()
    throw err
  }
}

/** Renames every staged file into place, or (on failure, or when `commit` is false) removes them. */
async function finish(files: StagedFile[], commit: boolean, directories: SharedDirectories): Promise<WrittenFile[]> {
  let done = false
  try {
    if (commit) await commitTogether(files)
    done = commit
    return files.map(f => ({ path: f.anchor.path, bytes: f.staged.bytes }))
  } finally {
    for (const f of files) await f.staged.discard()
    // A directory that a file still holds (one written all the same) is not empty, and stays.
    if (!done) for (const f of [...files].reverse()) f.anchor.undoCreated()
    for (const f of files) {
      f.anchor.close()
      f.release()
    }
    directories.closeAll()
  }
}

/**
 * Writes one file atomically from a stream of chunks, with the metadata's mode and owner. Past
 * `maxBytes` (the section's --max-upload-bytes, which `execd fs put` on this machine is held
 * to as an upload is) the 413 of an upload, and nothing written.
 */
export async function writeFile(
  scope: PathScope,
  meta: FileMetadata,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<WrittenFile> {
  const directories = new SharedDirectories()
  let staged: StagedFile
  try {
    const counted = Number.isFinite(maxBytes) ? upTo(chunks, maxBytes) : chunks
    staged = await stage(scope, checkMetadata(scope, meta), counted, directories, holderOf('write'))
  } catch (err) {
    directories.closeAll()
    throw err
  }
  const [written] = await finish([staged], true, directories)
  return written!
}

/** The chunks, failing with an upload's 413 once more than `maxBytes` came. */
async function* upTo(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number) {
  let bytes = 0
  for await (const chunk of chunks) {
    bytes += chunk.byteLength
    if (bytes > maxBytes) throw new ExecdError('PAYLOAD_TOO_LARGE', `upload exceeds the limit of ${maxBytes} bytes`)
    yield chunk
  }
}

export async function uploadFiles(
  scope: PathScope,
  body: ReadableStream<Uint8Array> | null,
  contentType: string | null,
  maxBytes = Number.POSITIVE_INFINITY,
  minRate?: MinRateLimits,
  /**
   * The client going away. What it sent before is still read from the connection's buffers: an
   * upload of 20,000 one-byte files cut off after 3 s went on staging (and fsyncing) them for
   * 30 s more, only to remove them all at the body's end.
   */
  signal?: AbortSignal,
): Promise<WrittenFile[]> {
  const boundary = boundaryOf(contentType)
  if (!boundary || !body) {
    throw new ExecdError('INVALID_FILE', 'multipart form is empty. expected a multipart/form-data body with a boundary')
  }
  const pending = new PendingMetadata<CheckedMetadata>()
  const staged: StagedFile[] = []
  const directories = new SharedDirectories()
  const holder = holderOf('upload')
  const taken = new Set<string>()
  let metadataCount = 0
  let fileCount = 0
  let complete = false
  try {
    for await (const part of parseMultipart(body, boundary, maxBytes, minRate)) {
      signal?.throwIfAborted()
      if (part.name === 'metadata') {
        metadataCount++
        const meta = checkMetadata(scope, parseMetadata(await collect(part.body, MAX_METADATA_BYTES)))
        pending.push(meta)
      } else if (part.name === 'file') {
        fileCount++
        const meta = pending.shift()
        if (!meta) {
          throw new ExecdError(
            'INVALID_FILE_METADATA',
            metadataCount === 0
              ? 'metadata file is missing'
              : `metadata file is missing for file part ${fileCount}: each metadata part must come before its file part`,
          )
        }
        staged.push(await stage(scope, meta, part.body, directories, holder, taken, signal))
      }
      // Other parts are ignored (drained by the parser).
    }
    if (metadataCount === 0) throw new ExecdError('INVALID_FILE_METADATA', 'metadata file is missing')
    if (fileCount === 0) throw new ExecdError('INVALID_FILE_CONTENT', 'file is missing')
    if (pending.length) {
      throw new ExecdError('INVALID_FILE', `metadata and file count mismatch: ${metadataCount} vs ${fileCount}`)
    }
    refuseNested(staged.map(f => f.anchor))
    complete = true
  } finally {
    pending.clear()
    if (!complete) await finish(staged, false, directories)
  }
  return finish(staged, true, directories)
}

/**
 * Refuses a request that names a file and a path below it (`x`, then `x/y`): the second made
 * `x` a directory, and the first's rename failed with "is a directory" after the files before it
 * were in place. Upstream writes each file as it comes, so its second fails on a parent that is a
 * file; here the pair is refused before anything is placed. Sorted with `/` as the least byte,
 * a path's descendants come right after it, so neighbours are all there is to compare.
 */
function refuseNested(anchors: readonly Anchor[]): void {
  const keyed = anchors.map(a => {
    const key = Buffer.from(a.bytes ?? Buffer.from(a.path))
    for (let i = 0; i < key.length; i++) if (key[i] === 0x2f) key[i] = 0
    return { a, key }
  })
  keyed.sort((x, y) => Buffer.compare(x.key, y.key))
  for (let i = 1; i < keyed.length; i++) {
    const [up, down] = [keyed[i - 1]!, keyed[i]!]
    if (
      down.key.length > up.key.length &&
      down.key[up.key.length] === 0 &&
      down.key.subarray(0, up.key.length).equals(up.key)
    ) {
      throw new ExecdError(
        'INVALID_FILE_METADATA',
        `invalid metadata format. a file and a path below it in one upload: ${up.a.raw} and ${down.a.raw}`,
      )
    }
  }
}

async function collect(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.byteLength
    if (size > limit)
      throw new ExecdError('INVALID_FILE_METADATA', `invalid metadata format. larger than ${limit} bytes`)
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseMetadata(text: string): FileMetadata {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ExecdError('INVALID_FILE_METADATA', `invalid metadata format. ${(err as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ExecdError('INVALID_FILE_METADATA', 'invalid metadata format. expected a JSON object')
  }
  const m = value as Record<string, unknown>
  const bad = (field: string, want: string) =>
    new ExecdError('INVALID_FILE_METADATA', `invalid metadata format. '${field}' must be ${want}`)
  if (m.path !== undefined && typeof m.path !== 'string') throw bad('path', 'a string')
  if (m.path_base64 !== undefined && typeof m.path_base64 !== 'string') throw bad('path_base64', 'a string')
  if (m.path !== undefined && m.path_base64 !== undefined) throw bad('path', 'absent when path_base64 is given')
  const path = m.path_base64 === undefined ? m.path : bytesOf(m.path_base64 as string)
  if (!path) throw new ExecdError('INVALID_FILE_METADATA', 'metadata path is empty')
  for (const f of ['owner', 'group'] as const) {
    if (m[f] !== undefined && m[f] !== null && typeof m[f] !== 'string') throw bad(f, 'a string')
  }
  if (m.mode !== undefined && m.mode !== null && typeof m.mode !== 'number') throw bad('mode', 'a number (e.g. 644)')
  return {
    path: path as RawPath,
    owner: (m.owner as string | null) ?? undefined,
    group: (m.group as string | null) ?? undefined,
    mode: (m.mode as number | null) ?? undefined,
  }
}

function bytesOf(base64: string): RawPath {
  try {
    return bytePathOf(base64)
  } catch (err) {
    throw new ExecdError('INVALID_FILE_METADATA', `invalid metadata format. ${(err as Error).message}`)
  }
}
