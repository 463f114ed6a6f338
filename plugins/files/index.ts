/**
 * The files section (CONTRACT §5): `/files/*` and `/directories*`. The plain operations live in
 * ops/ (functions of a `PathScope`) and back both these routes and `execd fs`; the opened
 * section's `ops` is that scope with the upload limit.
 */
import { SERVER, intOption, optionSpecs, settingsOf, type Config } from '../../core/config'
import type { Section } from '../../core/plugin'
import { PathScope } from './paths'
import type { FilesSettings } from './routes'

const OPTIONS = {
  maxUploadBytes: intOption('max-upload-bytes', {
    env: 'EXECD_MAX_UPLOAD_BYTES',
    description: 'largest upload request body accepted, in bytes (0: no limit); larger → 413',
    default: 0,
  }),
}

export const FILES_OPTIONS = optionSpecs(OPTIONS)

/** The scope and limits of this section, from the configuration (`--root` is the server's). */
export function filesSettings(config: Config): FilesSettings {
  const { maxUploadBytes, root } = settingsOf(config, { ...OPTIONS, root: SERVER.root })
  return {
    scope: new PathScope(root || undefined),
    maxUploadBytes: maxUploadBytes > 0 ? maxUploadBytes : Number.POSITIVE_INFINITY,
  }
}

export const files: Section<FilesSettings> = {
  name: 'files',
  prefixes: ['/files', '/directories'],
  options: FILES_OPTIONS,
  open(ctx) {
    // A --root that does not exist fails here, at start, not on the first request.
    const ops = filesSettings(ctx.config)
    return { ops, routes: async () => (await import('./routes')).filesRoutes(ops) }
  },
}
