/** The bash sessions section (CONTRACT §4): `POST /session`, `POST /session/:id/run`, `DELETE /session/:id`. */
import { intOption, optionSpecs, settingsOf } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import type { Sessions } from './ops'

const OPTIONS = {
  max: intOption('max-sessions', {
    env: 'EXECD_MAX_SESSIONS',
    description: 'bash sessions at once (0 = no limit); more are refused with 503',
    default: 64,
  }),
  idleMs: intOption('session-idle', {
    env: 'EXECD_SESSION_IDLE_MS',
    description: 'ms a session may go without a run before it is ended (0 = never); a running session is not idle',
    default: 30 * 60 * 1000,
  }),
}

export const session: Section<Sessions> = {
  name: 'session',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const { Sessions } = await import('./ops')
    const ops = new Sessions(settingsOf(ctx.config, OPTIONS))
    ctx.registry.require(INTERRUPTS).add(id => ops.interrupt(id))
    return { ops, routes: async () => (await import('./routes')).sessionRoutes(ops), close: () => ops.close() }
  },
}
