/**
 * `fs cat` and `fs get`: a file's bytes to stdout or to a local file. A download is written under
 * a temporary name beside its destination and renamed into place; a signal stops it and the
 * temporary file goes (at once, or from the exit hook if the grace runs out first).
 */
import { unlinkSync } from 'node:fs'
import { chmod, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { ExecdError } from '../core/errors'
import { nameStartWithin } from '../core/name-max'
import { lineWindow } from '../plugins/files/contract'
import { UsageError, typedCheck } from './errors'
import type { RawPath } from './fs-ops'
import type { Run } from './fs-verbs'
import { atExit } from './lifecycle'
import { progress, showProgress } from './progress'
import { ArgBytes, asTyped } from './raw-argv'
import { pipeToStdout } from './stdout-pipe'
import { type WholeOption, wholeOf } from './whole-option'

/** A flag's value as text, or undefined when not given. */
export const optional = (v: unknown) => (v === undefined ? undefined : String(v))

/**
 * `fs cat`'s line window, counted from 1. An empty value was taken as not given, a huge one as
 * the float it became (1e20), and a refusal named the route's query (`offset must be…`).
 */
const lines = (flag: string): WholeOption => ({
  flag,
  unit: 'lines',
  placeholder: '<n>',
  min: 1,
  max: Number.MAX_SAFE_INTEGER,
  wireCode: 'INVALID_REQUEST_BODY',
})
export const CAT_OFFSET = lines('offset')
export const CAT_LIMIT = lines('limit')

/**
 * `--range` as typed is the person's to fix (exit 2): `5-2` or `abc` came back as the daemon's
 * 416 and exit 1, as if the file were at fault. A range past the file's end is still the
 * daemon's to say (1): only it knows the size.
 */
function checkRange(range: string): void {
  for (const part of range.split(',')) {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(part)
    if (!r || (r[1] === '' && r[2] === ''))
      throw new UsageError(`--range expects a-b, a- or -n (bytes), got '${range}'`)
    if (r[1] !== '' && r[2] !== '' && Number(r[2]) < Number(r[1]))
      throw new UsageError(`--range ${range}: the end is before the start`)
  }
}

/**
 * `cat` and `get`: the file's bytes to stdout, or to a local file written under a temporary
 * name beside it and renamed into place — a download never opens a file for writing by its
 * final name, so `fs get f` in f's own directory (the source itself) cannot truncate it.
 */
export async function copyOut(r: Run, dest: RawPath, shownTo: 'cat' | 'get' = 'get'): Promise<number> {
  const range = optional(r.flags.range)
  if (range !== undefined) checkRange(range)
  const request = {
    path: r.arg(0),
    range: range === undefined ? undefined : `bytes=${range}`,
    offset: optional(wholeOf(CAT_OFFSET, r.flags.offset)),
    limit: optional(wholeOf(CAT_LIMIT, r.flags.limit)),
  }
  typedCheck(() => lineWindow(request))
  // Where it goes is settled before a byte is asked for: a directory there is a plain error.
  const target = dest === '-' ? '' : await destination(binary(dest), r.arg(0))
  const drawn = dest !== '-' && showProgress(r.json)
  const res = await r.fs.read({ ...request, stallDrawn: drawn })
  let web = res.body ?? new ReadableStream<Uint8Array>()
  if (shownTo === 'cat' && process.stdout.isTTY) web = await textOnly(web, String(r.args[0]))
  const body = Readable.fromWeb(web as never) as AsyncIterable<Uint8Array> & Readable
  if (dest === '-') return pipeToStdout(body)
  const total = Number(res.headers.get('content-length') ?? NaN)
  const shown = progress(`get ${r.args[0]}`, Number.isFinite(total) ? total : undefined, drawn)
  // The target's name cut so that the temp name stays within NAME_MAX: a name of 235 to 255 bytes,
  // valid itself, failed as "file name too long".
  const suffix = `.execd-${crypto.randomUUID().slice(0, 8)}.part`
  const start = nameStartWithin(onDisk(basename(target)), 1 + suffix.length).toString('latin1')
  const temp = onDisk(join(dirname(target), `.${start}${suffix}`))
  const forget = atExit(() => {
    try {
      unlinkSync(temp)
    } catch {
      // already renamed or never made
    }
  })
  let bytes = 0
  try {
    // Named as typed in a failure (the temporary name means nothing to the person).
    const file = await open(temp, 'wx', 0o600).catch(err => {
      throw Object.assign(err as Error, { path: String(dest) })
    })
    // A write's failure names no file (Bun's has no path): into a full disk `fs get` said only
    // `execd: no space left on device`. Named as the destination, as cp names what it could not write.
    const written = (err: unknown) => {
      throw Object.assign(err as Error, { path: shownAs(target) })
    }
    try {
      for await (const chunk of shown.track(abortable(body, r.signal))) {
        bytes += chunk.byteLength
        await file.write(chunk).catch(written)
      }
      await file.sync().catch(written)
    } finally {
      await file.close()
    }
    // The mode a new file would get (or the replaced one's): the 0600 only guarded the writing.
    await chmod(temp, (await existingMode(onDisk(target))) ?? 0o666 & ~process.umask())
    await rename(temp, onDisk(target))
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw err
  } finally {
    forget()
    shown.done()
  }
  const path = shownAs(target)
  r.done({ path, bytes }, [`${path}: ${bytes} bytes`])
  return 0
}

/** As much of a file as git and grep read to tell binary from text (a NUL byte there). */
const BINARY_PEEK = 8000

/**
 * `cat`'s bytes for a terminal, refused when binary: `fs cat /bin/true` wrote its bytes to the
 * screen, where a stray escape sequence left the terminal drawing garbage until `reset`. As
 * curl refuses binary output to a terminal; `fs get <path> -` prints it anyway, a pipe takes it.
 */
async function textOnly(body: ReadableStream<Uint8Array>, path: string): Promise<ReadableStream<Uint8Array>> {
  const reader = body.getReader()
  const head: Uint8Array[] = []
  for (let seen = 0; seen < BINARY_PEEK;) {
    const { done, value } = await reader.read()
    if (done) break
    if (value.subarray(0, BINARY_PEEK - seen).includes(0)) {
      await reader.cancel().catch(() => {})
      throw new Error(
        `${path} is binary (a NUL byte in its first ${BINARY_PEEK} bytes), not shown on a terminal: pipe it, or print it with execd fs get ${path} -`,
      )
    }
    head.push(value)
    seen += value.byteLength
  }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk)
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: reason => reader.cancel(reason),
  })
}

/**
 * The name a download takes by default: the last part of the path as the daemon reads it
 * (`d/f/.` is `f`, `d/f/x/..` is `f`); a path whose last part names no file (`/`, `..`) is a
 * usage error. `.` was taken for the name: `fs get d/f/.` wrote the whole file as
 * `../.<cwd>.execd-….part` beside the current directory, then failed on that name.
 * A name typed as bytes (not UTF-8) is kept as bytes, as `put` reads its source.
 */
export function localName(source: RawPath): RawPath {
  const name = posix.basename(posix.normalize(binary(source)))
  if (name === '' || name === '.' || name === '..') {
    throw new UsageError(`cannot name a local file after ${JSON.stringify(String(source))}: give a destination`)
  }
  return typeof source === 'string' ? name : new ArgBytes(onDisk(name))
}

/**
 * The file a download writes: `dest`, or the source's name inside `dest` when that is a
 * directory; a directory there too is in the way (exit 1, as cp says it), found before a byte is
 * asked for (it was found by the rename, after the whole file had been written under a temporary name).
 * Both are "binary" strings (below).
 */
async function destination(dest: string, source: RawPath): Promise<string> {
  const isDir = async (path: string) => (await stat(onDisk(path)).catch(() => undefined))?.isDirectory() === true
  // Only a relative one asks for the working directory, which may have been removed.
  let target = isAbsolute(dest) ? dest : resolve(binary(process.cwd()), dest)
  if (await isDir(target)) {
    target = join(target, binary(localName(source)))
    if (await isDir(target))
      throw new ExecdError('INVALID_REQUEST_BODY', `${shownAs(target)} is a directory: give a destination file`)
  }
  return target
}

/**
 * A local path as a "binary" string, one character a byte: the path functions work on it as on
 * text (`/` is the same byte), and a name typed as bytes that are not UTF-8 (raw-argv.ts) stays
 * those bytes — it was refused, so `fs get f $'b\xff'` could not name the file `put` reads.
 */
const binary = (p: RawPath) => (typeof p === 'string' ? Buffer.from(p) : p.bytes).toString('latin1')
/** A binary string's bytes, as the file calls take a path. */
const onDisk = (b: string) => Buffer.from(b, 'latin1')
/** A binary string as printed: its text, or `\xHH` for bytes that are not UTF-8 (as typed). */
const shownAs = (b: string) => String(asTyped(onDisk(b)))

async function existingMode(path: Buffer): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777
  } catch {
    return undefined
  }
}

/**
 * `work`, unless `signal` aborts first: then it fails at once, and what `work` gives later goes to
 * `drop`. An open of a FIFO nobody writes waits in the thread pool, where no signal reaches it:
 * Ctrl-C of `fs put` of one waited out the stop's deadline (3-5 s) before exiting.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal, drop: (late: T) => unknown): Promise<T> {
  void work.then(
    late => void (signal.aborted && drop(late)),
    () => {},
  )
  return Promise.race([work, abortedBy(signal)])
}

/** Fails once `signal` aborts (at once if it has); never succeeds. Unhandled, it says nothing. */
function abortedBy(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new Error('stopped by a signal'))
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
  aborted.catch(() => {})
  return aborted
}

/** The chunks until `signal` aborts; then the iteration fails, whatever the source waits for. */
export async function* abortable(chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]()
  const aborted = abortedBy(signal)
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted])
      if (next.done) return
      yield next.value
    }
  } finally {
    void iterator.return?.()
  }
}
