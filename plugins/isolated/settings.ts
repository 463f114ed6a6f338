/**
 * The isolated section's settings from the configuration, apart from its index.ts (as the files
 * section's settings.ts): the allowlist and the hidden token file resolve with node:fs, which
 * loads when the section opens (after serve listens), not with the section list.
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { settingsOf, type Config } from '../../core/config'
import { workRoot } from '../../core/workdir'
import type { IsolatedSettings } from './ops/session'
import { OPTIONS } from './options'

/** A dir of the allowlist as the paths checked against it are: symlinks resolved (if it exists). */
function canonical(dir: string): string {
  try {
    return realpathSync(dir)
  } catch {
    return resolve(dir)
  }
}

export function isolatedSettings(config: Config): IsolatedSettings {
  const { bwrap, binds, max, idleSeconds, tmpfsBytes } = settingsOf(config, OPTIONS)
  const bindsAllowlist = (binds ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map(canonical)
  // execd's token file: a session's code that read it could call the API as execd, unsandboxed.
  const tokenFile = config.get('access-token-file')
  const hidden = tokenFile && tokenFile !== '-' ? [tokenFile, canonical(tokenFile)] : []
  return { bwrap, bindsAllowlist, max, idleSeconds, hidden, tmpfsBytes, root: workRoot(config) }
}
