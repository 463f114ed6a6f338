/**
 * A reader that goes away (`execd exec … | head -1`) closes our stdout: the next write fails
 * with EPIPE, which Bun reports as an unhandled stream error (a stack trace, exit 1) while the
 * child keeps running. For a verb that streams output, a closed stdout is the end of the
 * story: stop the work, clean up, exit as a shell's pipeline neighbour would (128 + SIGPIPE).
 */
/** 128 + SIGPIPE (13 on every Linux architecture): a number, so the CLI's start loads no node:os. */
export const BROKEN_PIPE_EXIT = 128 + 13

export interface PipeWatch {
  /** stdout's reader has gone: write nothing more. */
  readonly broken: boolean
  dispose(): void
}

/** Calls `onBroken` once when stdout's reader goes away; other stdout errors are left as they are. */
export function watchBrokenPipe(onBroken: () => void): PipeWatch {
  let broken = false
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' || broken) return
    broken = true
    onBroken()
  }
  process.stdout.on('error', onError)
  return {
    get broken() {
      return broken
    },
    dispose: () => void process.stdout.off('error', onError),
  }
}
