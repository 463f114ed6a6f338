/**
 * A byte stream piped to stdout with its backpressure, stopped when stdout's reader goes away
 * (`| head`): the fs verbs that print what they read or list.
 */
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BROKEN_PIPE_EXIT, watchBrokenPipe } from './broken-pipe'

/** Pipes `source` to stdout; the exit code: 0, or BROKEN_PIPE_EXIT once its reader left (`source` destroyed). */
export async function pipeToStdout(source: Readable): Promise<number> {
  const pipe = watchBrokenPipe(() => source.destroy())
  try {
    await pipeline(source, process.stdout)
  } catch (err) {
    // The pipeline hands the source's own failure to stdout too: exitCode() throws that one.
    if (pipe.broken) return pipe.exitCode()
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return BROKEN_PIPE_EXIT
    throw err
  } finally {
    pipe.dispose()
  }
  return 0
}
