/**
 * Atomic replacement of a file: write a temp file beside it, fsync, then rename over it. A
 * failure or an abort at any point removes the temp file and leaves the old file untouched.
 */
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fsError } from './errors'
import { ownershipOfFile, type Ownership } from './owners'

export interface AtomicWriteOptions {
  /** Permission bits for the file; default: the replaced file's, else 0666 & ~umask. */
  mode?: number
  /** Owner/group to set; default: the replaced file's owner and group. */
  ownership?: Ownership
  /** Create missing parent directories (0777 & ~umask). */
  mkdirs?: boolean
}

/** Prefix of every temp file this section creates, so strays are easy to recognise. */
export const TEMP_MARKER = '.execd-tmp-'

export const tempPathFor = (target: string): string =>
  join(dirname(target), `.${basename(target)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`)

/**
 * Streams `chunks` into `target` atomically and returns the number of bytes written. The
 * iterator is consumed with backpressure (each chunk is on disk before the next is pulled).
 */
export async function writeAtomic(
  target: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: AtomicWriteOptions = {},
): Promise<number> {
  const dir = dirname(target)
  if (opts.mkdirs) {
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      throw fsError(err, 'mkdir', dir)
    }
  }
  const previous = await ownershipOfFile(target)
  const temp = tempPathFor(target)
  let handle
  try {
    handle = await open(temp, 'wx', 0o600)
  } catch (err) {
    throw fsError(err, 'open', target)
  }
  let written = 0
  let done = false
  // The step under way, for the error message (`chown /x: operation not permitted`).
  let step = 'write'
  try {
    for await (const chunk of fromSource(chunks)) {
      let off = 0
      while (off < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off)
        off += bytesWritten
      }
      written += chunk.byteLength
    }
    step = 'fsync'
    await handle.sync()
    await handle.close()
    handle = undefined
    const mode = opts.mode ?? previous?.mode ?? 0o666 & ~process.umask()
    step = 'chmod'
    await chmod(temp, mode)
    const uid = opts.ownership?.uid ?? previous?.uid
    const gid = opts.ownership?.gid ?? previous?.gid
    step = 'chown'
    if (uid !== undefined || gid !== undefined) await chownIfNeeded(temp, uid, gid, opts.ownership !== undefined)
    step = 'rename'
    await rename(temp, target)
    done = true
    await syncDirectory(dir)
    return written
  } catch (err) {
    // The source's own failure (a client gone, a malformed body) is reported as it is.
    if (err instanceof SourceError) throw err.cause
    throw fsError(err, step, target)
  } finally {
    await handle?.close().catch(() => {})
    if (!done) await unlink(temp).catch(() => {})
  }
}

class SourceError extends Error {}

async function* fromSource(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks
  } catch (err) {
    throw new SourceError('source failed', { cause: err })
  }
}

/**
 * Keeping the replaced file's owner is best effort (an unprivileged execd cannot); an owner the
 * caller asked for must be applied or fail.
 */
async function chownIfNeeded(path: string, uid: number | undefined, gid: number | undefined, required: boolean) {
  try {
    await chown(path, uid ?? -1, gid ?? -1)
  } catch (err) {
    if (required) throw err
  }
}

/** fsync a directory so the rename itself survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close().catch(() => {})
}
