/**
 * Real pipes for a child's stdout and stderr. Bun.spawn's "pipe" is a socketpair, and writing
 * into a socket costs the child about half as much again as writing into a pipe (an skb and a
 * memory-cgroup charge per write, the wake-ups): `yes | head -c` of 512 MiB took 1.29 ms of its
 * own CPU per MiB into Bun's socketpair and 0.84 into a pipe, and Bun's stream of the pipe read
 * it for 0.53–0.58 ms against 0.99 (bench/pipe-read.ts, load 8.8). The reference's exec.Command
 * gives its child pipes too.
 *
 * pipe2(O_CLOEXEC) through bun:ffi, so no other child inherits an end; the write ends go to the
 * spawn (which dup2s them onto the child's 1 and 2) and are closed here right after it, whether
 * it started or not, so the child's exit (and its descendants') ends the stream. The read ends
 * are read with `Bun.file(fd).stream()` (non-blocking, polled on the event loop), which does not
 * close them: the reader closes each once its stream ended or was cancelled. `null` where pipes
 * cannot be had (no FFI, fds exhausted): the caller spawns with Bun's socketpair, as before.
 *
 * A stdout pipe is raised to 1 MiB (F_SETPIPE_SZ): at the default 64 KiB execd read a flood in
 * 64 KiB chunks and each chunk's own work made it slower than Bun's socketpair, whose reads are
 * larger (row 4a quiet, 512 MiB, in turns: 269–282 MiB/s against the socketpair's 311–348, and
 * 526–556 with 1 MiB; 0.91–0.93× the framing floor). Every pipe's size counts against its user's
 * pipe pages (/proc/sys/fs/pipe-user-pages-soft, 64 MiB; past it a new pipe of that user, any
 * program's, gets 8 KiB), so at most RAISED_MAX of them are raised at once, a quarter of that
 * allowance; the rest, and stderr, keep the default. A command's is raised once it has carried
 * a default pipe's worth (carried()), not before its spawn: most commands write less, and the
 * raise was a system call and a reallocation of the pipe's ring on every short command's way
 * to its spawn, and one of the RAISED_MAX held by each while it ran.
 */
import { closeSync } from 'node:fs'
import { libcSymbols } from './libc'

type Name = 'stdout' | 'stderr'

const F_SETPIPE_SZ = 1031
/** As large as a pipe gets by default (/proc/sys/fs/pipe-max-size): fewer, larger reads. */
const RAISED_BYTES = 1 << 20
const F_GETPIPE_SZ = 1032
/** A pipe's size unless raised (Linux's default): a command's is raised once it carried this much. */
const DEFAULT_BYTES = 64 * 1024
/** Stdout pipes raised at once: 16 MiB of the user's 64 MiB of pipe pages. */
const RAISED_MAX = 16
let raised = 0

const O_CLOEXEC = 0o2000000

interface Libc {
  pipe2(fds: unknown, flags: number): number
  fcntl(fd: number, cmd: number, arg: number): number
  ptr(view: Int32Array): unknown
}

let libc: Libc | null | undefined

function loadLibc(): Libc | null {
  const c = libcSymbols(({ FFIType }) => ({
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }))
  if (!c) return null
  const { symbols, ffi } = c
  return { pipe2: symbols.pipe2 as Libc['pipe2'], fcntl: symbols.fcntl, ptr: view => ffi.ptr(view) }
}

/** One pipe, [read, write]; null when none could be made. */
function pipe(c: Libc): [number, number] | null {
  const fds = new Int32Array(2)
  if (c.pipe2(c.ptr(fds), O_CLOEXEC) !== 0) return null
  return [fds[0]!, fds[1]!]
}

const F_SETFL = 4
const O_NONBLOCK = 0o4000

/**
 * A pipe for a child to read what execd writes to it, [read, write], both close-on-exec: the
 * read end for the spawn's stdin, the write end non-blocking, written with `writeSync` (a full
 * pipe is EAGAIN, never a wait). A write is one `write(2)`, nothing armed on the event loop, where
 * Bun's stdin sink (a socketpair) armed a poll for writability and woke the loop once more for
 * every write. null where pipes cannot be had: the caller uses Bun's sink.
 */
export function writerPipe(): [number, number] | null {
  libc ??= loadLibc()
  if (!libc) return null
  const fds = pipe(libc)
  if (fds && libc.fcntl(fds[1], F_SETFL, O_NONBLOCK) === 0) return fds
  fds?.forEach(closeQuietly)
  return null
}

/** Closes `fd`, as a cleanup: one already closed or never valid is not an error here. */
export const closeQuietly = (fd: number) => {
  try {
    closeSync(fd)
  } catch {}
}

/** A child's stdout and stderr pipes, owned by the caller from make() until each is closed. */
export class OutputPipes {
  private writeOpen = true
  private readOpen = { stdout: true, stderr: true }
  /** Whether the stdout pipe is one of the RAISED_MAX, given back when its read end closes. */
  private raised = false
  /** Raised per run and lowered after (make(false)): its size before is kept for lower(). */
  private lowers = false
  /** The stdout pipe's size before it was first raised: what lower() gives it back (16 pages). */
  private unraised = 0
  /** Bytes read from stdout before it is raised (a command's), or -1: raised by raise() alone. */
  private carriedBytes = -1

  private constructor(
    private readonly reads: Record<Name, number>,
    /** The write ends, for the spawn's stdio. */
    readonly stdout: number,
    readonly stderr: number,
  ) {}

  /**
   * `raise`: whether the stdout pipe is raised once it carried a default pipe's worth (a
   * command's, for its life; carried()); a shell that lives across runs raises it for each run
   * instead (raise(), lower()), so that idle sessions hold none of the RAISED_MAX.
   */
  static make(raise = true): OutputPipes | null {
    libc ??= loadLibc()
    if (!libc) return null
    const out = pipe(libc)
    if (!out) return null
    const err = pipe(libc)
    if (!err) {
      out.forEach(closeQuietly)
      return null
    }
    const pipes = new OutputPipes({ stdout: out[0], stderr: err[0] }, out[1], err[1])
    if (raise) pipes.carriedBytes = 0
    else pipes.lowers = true
    return pipes
  }

  /** The stdout pipe to 1 MiB, if one of the RAISED_MAX is free; false when it stays as it is. */
  raise(): boolean {
    if (this.raised) return true
    if (raised >= RAISED_MAX || !this.readOpen.stdout) return false
    // Asked once, not assumed: 16 pages are 1 MiB where a page is 64 KiB.
    if (this.lowers) this.unraised ||= libc!.fcntl(this.reads.stdout, F_GETPIPE_SZ, 0)
    // Refused past the user's pipe-page allowance (EPERM): the default pipe still works.
    if (libc!.fcntl(this.reads.stdout, F_SETPIPE_SZ, RAISED_BYTES) < 0) return false
    raised++
    this.raised = true
    return true
  }

  /** `bytes` more read from stdout: a command's pipe is raised once they reach a default pipe's worth. */
  carried(bytes: number): void {
    if (this.carriedBytes < 0) return
    this.carriedBytes += bytes
    if (this.carriedBytes < DEFAULT_BYTES) return
    // One try: refused (the RAISED_MAX taken, the user's allowance spent), it stays as it is.
    this.carriedBytes = -1
    this.raise()
  }

  /**
   * Back to its size before, its place among the RAISED_MAX given back. Refused (EBUSY) while the
   * pipe holds more than that (a job left writing): it stays raised until the next lower().
   */
  lower(): void {
    if (!this.raised || !this.readOpen.stdout || this.unraised <= 0) return
    if (libc!.fcntl(this.reads.stdout, F_SETPIPE_SZ, this.unraised) < 0) return
    raised--
    this.raised = false
  }

  /** After the spawn, started or not: the child holds its own copies of the write ends. */
  spawned(): void {
    if (!this.writeOpen) return
    this.writeOpen = false
    closeQuietly(this.stdout)
    closeQuietly(this.stderr)
  }

  /** The read end as a stream; `done(name)` once it ended or was cancelled. */
  stream(name: Name): ReadableStream<Uint8Array> {
    return Bun.file(this.reads[name]).stream() as ReadableStream<Uint8Array>
  }

  done(name: Name): void {
    if (!this.readOpen[name]) return
    this.readOpen[name] = false
    closeQuietly(this.reads[name])
    // The pipe's pages go with its last end; the child's write end may outlive ours a while.
    if (name === 'stdout' && this.raised) {
      this.raised = false
      raised--
    }
  }

  /** Every end still open (a spawn that failed). */
  close(): void {
    this.spawned()
    this.done('stdout')
    this.done('stderr')
  }
}
