/**
 * The PTY section (CONTRACT §4): interactive terminals over a WebSocket, wire-compatible with
 * the reference's `/pty` (upstream PTY.md). Sessions live in `PtyStore`; socket.ts frames.
 */
import { intOption, optionSpecs, settingsOf } from '../../core/config'
import type { Section } from '../../core/plugin'
import { DEFAULT_LIMITS } from './defaults'
import type { PtyOps } from './ops'

const OPTIONS = {
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
}

export const pty: Section<PtyOps> = {
  name: 'pty',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const { PtyOps } = await import('./ops')
    const ops = new PtyOps(settingsOf(ctx.config, OPTIONS))
    return { ops, routes: async () => (await import('./routes')).ptyRoutes(ops), close: () => ops.close() }
  },
}
