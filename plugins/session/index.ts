/** The bash sessions section (CONTRACT §4): `POST /session`, `POST /session/:id/run`, `DELETE /session/:id`. */
import { optionSpecs, settingsOf } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import type { SessionOps } from './ops'
import { OPTIONS } from './options'

export const session: Section<SessionOps> = {
  name: 'session',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const [{ SessionOps }, { workRoot }] = await Promise.all([import('./ops'), import('../../core/workdir')])
    const ops = new SessionOps({ ...settingsOf(ctx.config, OPTIONS), root: workRoot(ctx.config) })
    ctx.registry.require(INTERRUPTS).add(id => ops.interrupt(id))
    return {
      ops,
      routes: async () => (await import('./routes')).sessionRoutes(ops, ctx.streams),
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}
