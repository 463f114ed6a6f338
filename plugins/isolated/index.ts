/**
 * Isolated sessions (`/v1/isolated/*`, the official SDK's `sandbox.isolation`): bash sessions
 * inside bubblewrap sandboxes, with the workspace read-write, read-only or as an overlay.
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { intOption, optionSpecs, settingsOf, stringOption } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import { filesRoutesModule, filesSettings } from '../files/contract'
import type { IsolatedSessions } from './ops/sessions'

const OPTIONS = {
  bwrap: stringOption('isolated-bwrap', {
    env: 'EXECD_ISOLATED_BWRAP',
    description: 'bubblewrap executable (a path, or a name looked up on PATH); missing → isolation unavailable (503)',
    default: 'bwrap',
  }),
  binds: stringOption('isolated-binds', {
    env: 'EXECD_ISOLATED_BINDS',
    description: 'comma list of host dirs that binds sources and extra_writable paths must lie within (default: none)',
  }),
  max: intOption('max-isolated-sessions', {
    env: 'EXECD_MAX_ISOLATED_SESSIONS',
    description: 'isolated sessions at once (0 = no limit); more are refused with 503',
    default: 16,
  }),
  idleSeconds: intOption('isolated-idle', {
    env: 'EXECD_ISOLATED_IDLE_SECONDS',
    description:
      'seconds an isolated session may go without a run before it is destroyed, unless it names its own (0 = never)',
    default: 30 * 60,
  }),
}

/** A dir of the allowlist as the paths checked against it are: symlinks resolved (if it exists). */
function canonical(dir: string): string {
  try {
    return realpathSync(dir)
  } catch {
    return resolve(dir)
  }
}

export const ISOLATED_OPTIONS = optionSpecs(OPTIONS)

export const isolated: Section<IsolatedSessions> = {
  name: 'isolated',
  prefixes: ['/v1/isolated'],
  options: [...ISOLATED_OPTIONS],
  opensLate: true,
  check(config) {
    settingsOf(config, OPTIONS)
    filesSettings(config)
  },
  async open(ctx) {
    const { IsolatedSessions } = await import('./ops/sessions')
    const { bwrap, binds, max, idleSeconds } = settingsOf(ctx.config, OPTIONS)
    const bindsAllowlist = (binds ?? '')
      .split(',')
      .map(s => s.trim())
      .filter(Boolean)
      .map(canonical)
    const ops = new IsolatedSessions({ bwrap, bindsAllowlist, max, idleSeconds })
    // `DELETE /command?id=<isolated session>` interrupts its run, as for a bash session.
    ctx.registry.get(INTERRUPTS)?.add(id => ops.interrupt(id))
    const { maxUploadBytes } = filesSettings(ctx.config)
    return {
      ops,
      routes: async () => {
        const [{ Elysia }, { isolatedRoutes }, { sessionFilesRoutes }, { filesRoutes }] = await Promise.all([
          import('elysia'),
          import('./routes'),
          import('./files-routes'),
          filesRoutesModule(),
        ])
        return new Elysia().use(isolatedRoutes(ops)).use(sessionFilesRoutes(ops, maxUploadBytes, filesRoutes))
      },
      close: () => ops.close(),
    }
  },
}
