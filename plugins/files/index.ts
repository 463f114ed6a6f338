/**
 * The files section (CONTRACT §5): `/files/*` and `/directories*`. The plain operations live in
 * ops/ and back both these routes and `execd fs`.
 */
import type { Config, OptionSpec } from '../../core/config'
import type { Plugin } from '../../core/plugin'
import { PathScope } from './paths'
import { filesRoutes } from './routes'

export const FILES_OPTIONS: OptionSpec[] = [
  {
    flag: 'max-upload-bytes',
    env: 'EXECD_MAX_UPLOAD_BYTES',
    description: 'largest upload request body accepted, in bytes (0: no limit); larger → 413',
    default: '0',
  },
]

/** The scope and limits of this section, from the configuration. */
export function filesSettings(config: Config) {
  const max = config.int('max-upload-bytes', 0)
  return {
    scope: new PathScope(config.get('root') || undefined),
    maxUploadBytes: max > 0 ? max : Number.POSITIVE_INFINITY,
  }
}

export const files: Plugin = {
  name: 'files',
  options: FILES_OPTIONS,
  // A --root that does not exist fails here, at start, not on the first request.
  routes: ctx => filesRoutes(filesSettings(ctx.config)),
}
