/**
 * The code section (CONTRACT §3): contexts, `POST /code` streams, interrupts, resumable
 * executions. Languages come from the runtime plugins; shell code goes to the commands section.
 */
import { optionSpecs, settingsOf } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import type { CodeOps } from './ops'
import { OPTIONS } from './options'

export const code: Section<CodeOps> = {
  name: 'code',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const { openCodeOps } = await import('./ops')
    const ops = openCodeOps(ctx, settingsOf(ctx.config, OPTIONS))
    const hub = ctx.registry.require(INTERRUPTS)
    hub.add(id => ops.interrupt(id))
    return {
      ops,
      routes: async () => (await import('./routes')).codeRoutes(ops, hub, ctx.streams),
      direct: async () => (await import('./routes')).codeDirectRoutes(ops, ctx.streams),
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}
