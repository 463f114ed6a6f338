/**
 * The files section (CONTRACT §5): `/files/*` and `/directories*`. The plain operations live in
 * ops/ (functions of a `PathScope`); the opened section's `ops` (files-ops.ts) binds them once to
 * its scope and limits, and backs both these routes and `execd fs`.
 */
import { optionSpecs, settingsOf } from '../../core/config'
import type { Section } from '../../core/plugin'
import type { FilesOps } from './files-ops'
import { OPTIONS } from './options'

export const files: Section<FilesOps> = {
  name: 'files',
  prefixes: ['/files', '/directories'],
  options: optionSpecs(OPTIONS),
  // After listening: the scope loads node:fs. A --root that does not exist still ends a serve
  // at start (core/workdir.ts resolves it first), and a CLI verb that opens this section at once.
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const [{ FILES_OPS, FilesOps }, { filesSettings }] = await Promise.all([
      import('./files-ops'),
      import('./settings'),
    ])
    const ops = new FilesOps(filesSettings(ctx.config))
    // The isolated section's files view serves with these operations over its root (contract.ts).
    ctx.registry.provide(FILES_OPS, ops)
    // Uploads, replaces and moves stage beside the user's files (the app closes the journal, and
    // what requests still in flight have staged goes then, not left beside the user's files).
    await ctx.staging()
    return {
      ops,
      routes: async () => (await import('./routes')).filesRoutes(ops, ctx.downloads),
      held: () => ops.held(),
    }
  },
}
