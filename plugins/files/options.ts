/**
 * The files section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'

export const OPTIONS = {
  maxUploadBytes: intOption('max-upload-bytes', {
    env: 'EXECD_MAX_UPLOAD_BYTES',
    description: 'largest upload request body accepted, in bytes (0: no limit); larger → 413',
    default: 0,
  }),
}
