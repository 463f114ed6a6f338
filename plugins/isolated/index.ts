/**
 * Isolated sessions (`/v1/isolated/*`, the official SDK's `sandbox.isolation`): bash sessions
 * inside bubblewrap sandboxes, with the workspace read-write, read-only or as an overlay.
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import type { Capabilities } from './ops/probe'
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
      routes: async () => {
        // The files contract with the routes: it offers `execd fs` the files operations too.
        const { FILES_OPS, filesRoutesModule } = await import('../files/contract')
        // The files section's operations as it opened them (it opens before this one, in list order).
        const files = ctx.registry.require(FILES_OPS)
        const [{ Elysia }, { isolatedRoutes }, { sessionFilesRoutes }, filesRoutes] = await Promise.all([
          import('elysia'),
          import('./routes'),
          import('./files-routes'),
          filesRoutesModule(),
        ])
        return new Elysia()
          .use(isolatedRoutes(ops, ctx.streams))
          .use(sessionFilesRoutes(ops, files, filesRoutes, ctx.downloads, ctx.log))
      },
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}

/**
 * What `GET /v1/isolated/capabilities` would answer here, without opening the section (no
 * staging, no sessions): `execd doctor`'s, so a container without bubblewrap says so before a
 * first session is refused.
 */
export async function isolationHere(config: Config): Promise<Capabilities> {
  const { probe, publicPart } = await import('./ops/probe')
  return publicPart(await probe(settingsOf(config, OPTIONS).bwrap))
}
