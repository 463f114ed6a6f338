/**
 * serve's last line of defence: an exception nobody caught, or a rejection nobody handled.
 * Left to Bun, either ended execd at once with status 1 and a dump of the bundle's source on
 * stderr: the exit handler SIGKILLed the owned groups (core/process.ts), but no session or
 * command's temp files were removed, and as an entrypoint (`serve -- <command>`) the main
 * process was left running without the execd it follows.
 *
 * Two kinds. Known-harmless: Bun's finalizer of a FileHandle nobody closed closes its fd first
 * and then throws — there is nothing left to undo, so one line says so and execd serves on.
 * Everything else: execd's state is no longer what its code believes, so it ends, in order
 * (serve's shutdown: streams ended, children killed as groups and reaped, temp files removed),
 * after one error line, with status 70 (EX_SOFTWARE) — never serving on half-broken.
 */
import type { Logger } from '../core/log'
import { LogThrottle } from '../core/log-throttle'

/** The status execd ends with after an error of its own (sysexits' EX_SOFTWARE). */
export const UNCAUGHT_STATUS = 70

/** The start of Bun's words for a FileHandle its collector closed (node:fs/promises). */
const COLLECTED_HANDLE = 'A FileHandle object was closed during garbage collection'
/**
 * The frame of the finalizer that throws it, first on the error's stack
 * (`at onFileHandleCollected (node:fs/promises:119:78)` in Bun 1.4.5): a second handle on the
 * same error, as its code is, so that Bun rewording the message alone does not end execd 4 times
 * a fuzz campaign again. Both changed at once: spec/uncaught.test.ts and this file's unit test
 * raise the real error and fail.
 */
const FINALIZER_FRAME = /^\s*at onFileHandleCollected \(node:fs\/promises:\d+/

/** Whether an uncaught error may be survived: what raised it has already cleaned up after itself. */
export function isHarmless(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.message.startsWith(COLLECTED_HANDLE)) return true
  if ((err as NodeJS.ErrnoException).code !== 'ERR_INVALID_STATE') return false
  const first = err.stack?.split('\n').find(line => line.trimStart().startsWith('at '))
  return first !== undefined && FINALIZER_FRAME.test(first)
}

/** One line's worth of an error: its name and message, and where it was thrown (never the stack's source). */
export function describe(err: unknown, secrets: readonly string[] = []): Record<string, string> {
  const error = err instanceof Error ? err : undefined
  let message = error ? error.message : String(err)
  // A message may quote what a request carried; the token never goes to the log.
  for (const secret of secrets) if (secret) message = message.replaceAll(secret, '[redacted]')
  const where = error?.stack
    ?.split('\n')
    .find(line => line.trimStart().startsWith('at '))
    ?.trim()
  return { name: error?.name ?? typeof err, message, ...(where && { where }) }
}

interface Guarded {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (err: unknown) => void): unknown
}

/**
 * Installs the listeners on `proc` (the process). `end` is serve's shutdown; it is asked once,
 * and errors raised while it runs are logged (a line a second) and left to its hard stop.
 */
export function guardUncaught(
  log: Logger,
  end: (reason: string, status: number) => void,
  secrets: readonly string[] = [],
  proc: Guarded = process,
): void {
  const lines = new LogThrottle()
  let ending = false
  const caught = (kind: 'exception' | 'rejection') => (err: unknown) => {
    const key = isHarmless(err) ? 'harmless' : ending ? 'while-ending' : 'fatal'
    const skipped = lines.admit(key)
    const fields = skipped ? { kind, ...describe(err, secrets), skipped } : { kind, ...describe(err, secrets) }
    if (key === 'harmless') {
      if (skipped !== undefined)
        log.warn('a file handle was left to the collector, which closed it; serving on', fields)
      return
    }
    if (ending) {
      if (skipped !== undefined) log.error('uncaught error while ending', fields)
      return
    }
    ending = true
    log.error('uncaught error: ending execd and everything it started', fields)
    end('uncaught error', UNCAUGHT_STATUS)
  }
  proc.on('uncaughtException', caught('exception'))
  proc.on('unhandledRejection', caught('rejection'))
}
