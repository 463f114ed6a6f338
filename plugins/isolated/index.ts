/**
 * Isolated sessions (`/v1/isolated/*`, the official SDK's `sandbox.isolation`): bash sessions
 * inside bubblewrap sandboxes, with the workspace read-write, read-only or as an overlay.
 */
import { optionSpecs, settingsOf } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import type { IsolatedOps } from './ops/sessions'
import { OPTIONS } from './options'

export const isolated: Section<IsolatedOps> = {
  name: 'isolated',
  prefixes: ['/v1/isolated'],
  options: optionSpecs(OPTIONS),
  opensLate: true,
  // The files section's settings are checked and read by that section; the files view asks it.
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    // Loaded now, not with the section list: node:fs resolves paths.
    const [{ IsolatedOps }, { isolatedSettings }] = await Promise.all([import('./ops/sessions'), import('./settings')])
    const ops = new IsolatedOps(isolatedSettings(ctx.config))
    // `DELETE /command?id=<isolated session>` interrupts its run, as for a bash session.
    ctx.registry.require(INTERRUPTS).add(id => ops.interrupt(id))
    // A commit, and the files routes over a session's view, stage entries beside the user's files.
    await ctx.staging()
    return {
      ops,
      routes: async () => (await import('./routes')).isolatedRoutes(ops, ctx),
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}
