/**
 * A reader that goes away (`execd exec … | head -1`) closes our stdout: the next write fails
 * with EPIPE, which Bun reports as an unhandled stream error (a stack trace, exit 1) while the
 * child keeps running. For a verb that streams output, a closed stdout is the end of the
 * story: stop the work, clean up, exit as a shell's pipeline neighbour would (128 + SIGPIPE).
 * A stdout that fails otherwise (`> file` on a full disk: ENOSPC, EFBIG, EIO) ends it too, with
 * that failure said, as `cat` says its write error: the listener here swallowed it, and the verb
 * exited 0 with its output cut.
 */
/** 128 + SIGPIPE (13 on every Linux architecture): a number, so the CLI's start loads no node:os. */
export const BROKEN_PIPE_EXIT = 128 + 13

export interface PipeWatch {
  /** stdout's reader has gone, or stdout failed: write nothing more. */
  readonly broken: boolean
  /** Once broken: BROKEN_PIPE_EXIT for a reader gone; throws stdout's own failure. */
  exitCode(): number
  dispose(): void
}

/** Calls `onBroken` once when stdout's reader goes away or a write to it fails. */
export function watchBrokenPipe(onBroken: () => void): PipeWatch {
  let broken = false
  let failure: Error | undefined
  const onError = (err: NodeJS.ErrnoException) => {
    if (broken) return
    broken = true
    if (err.code !== 'EPIPE') failure = err
    onBroken()
  }
  process.stdout.on('error', onError)
  return {
    get broken() {
      return broken
    },
    exitCode() {
      if (failure) throw failure
      return BROKEN_PIPE_EXIT
    },
    dispose: () => void process.stdout.off('error', onError),
  }
}

/** stdout's writes followed: wait for those under way, and the first failure. */
export interface StdoutWrites {
  /** Resolves when no write is under way, with the first failure (undefined: none). */
  settled(): Promise<unknown>
  /** Whether `err` is a failure of a write to stdout. */
  failedWith(err: unknown): boolean
  /** The first failure so far, if any, without waiting for writes under way. */
  failure(): unknown
}

/**
 * Follows every write to stdout to its end. Bun calls a write's callback late, after a later empty write's and
 * `end()`'s (strace and callbacks: a cell's `hi` to /dev/full failed after exit had flushed with
 * `write('')`), so `exec bash 'echo hi' > /dev/full` exited 0 in 4 runs of 5, its failure lost.
 */
export function followStdoutWrites(): StdoutWrites {
  const stdout = process.stdout
  const write = stdout.write
  let pending = 0
  let failure: Error | undefined
  const waiting: (() => void)[] = []
  stdout.write = function (chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined]
    pending++
    return write.call(stdout, chunk as string, encoding as BufferEncoding, (err?: Error | null) => {
      if (err) failure ??= err
      if (--pending === 0) for (const wake of waiting.splice(0)) wake()
      if (typeof callback === 'function') callback(err)
    })
  } as typeof stdout.write
  return {
    settled: () =>
      pending === 0 ? Promise.resolve(failure) : new Promise(resolve => waiting.push(() => resolve(failure))),
    failedWith: err => err !== undefined && err === failure,
    failure: () => failure,
  }
}
