/**
 * The PTY section (CONTRACT §4): interactive terminals over a WebSocket, wire-compatible with
 * the reference's `/pty` (upstream PTY.md). Sessions live in `PtyStore`; socket.ts frames.
 */
import { optionSpecs, settingsOf } from '../../core/config'
import type { Section } from '../../core/plugin'
import type { PtyOps } from './ops'
import { OPTIONS } from './options'

export const pty: Section<PtyOps> = {
  name: 'pty',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const [{ PtyOps }, { workRoot }] = await Promise.all([import('./ops'), import('../../core/workdir')])
    const ops = new PtyOps({ ...settingsOf(ctx.config, OPTIONS), root: workRoot(ctx.config) })
    return {
      ops,
      routes: async () => (await import('./routes')).ptyRoutes(ops),
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}
