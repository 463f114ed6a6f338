/**
 * The PTY section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config and its defaults (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'
import { DEFAULT_LIMITS } from './defaults'

export const OPTIONS = {
  retainMs: intOption('pty-retain', {
    env: 'EXECD_PTY_RETAIN_MS',
    description:
      'ms an exited (or never connected) PTY session with no client is kept, with its output for replay, before it is removed',
    default: DEFAULT_LIMITS.retainMs,
  }),
  idleMs: intOption('pty-idle', {
    env: 'EXECD_PTY_IDLE_MS',
    description:
      'ms a running PTY session may have no client and produce no output before it is hung up and removed (0 = never)',
    default: DEFAULT_LIMITS.idleMs,
  }),
  max: intOption('max-ptys', {
    env: 'EXECD_MAX_PTYS',
    description: 'PTY sessions at most, running or not (0 = no limit); more are refused with 503',
    default: DEFAULT_LIMITS.max,
  }),
  // A setting, not a constant, for a test on a loaded machine: filling 64 MiB took execd 177 s there.
  queuedMax: intOption('max-pty-queued-bytes', {
    env: 'EXECD_MAX_PTY_QUEUED_BYTES',
    description:
      "bytes all terminals' sockets may queue together for clients that do not read (0 = only each socket's 16 MiB); past it, that socket is cut off",
    default: DEFAULT_LIMITS.queuedMax,
    min: 1 << 20,
  }),
}
