/**
 * The files section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'

export const OPTIONS = {
  maxWalks: intOption('max-walks', {
    env: 'EXECD_MAX_WALKS',
    description:
      'searches and directory listings walking at once, the isolated files view included (0: no limit); more wait in a line of 64 for up to 10 s, then 503',
    default: 4,
  }),
  maxTreeWrites: intOption('max-tree-writes', {
    env: 'EXECD_MAX_TREE_WRITES',
    description:
      'directory removals (DELETE /directories) and moves to another filesystem (a copy of the tree) at once (0: no limit); more wait in a line of 64 for up to 60 s, then 503, nothing written',
    default: 4,
  }),
  maxUploadBytes: intOption('max-upload-bytes', {
    env: 'EXECD_MAX_UPLOAD_BYTES',
    description: 'largest upload request body accepted, in bytes (0: no limit); larger → 413',
    default: 0,
  }),
  maxReplaceGrowth: intOption('max-replace-growth', {
    env: 'EXECD_MAX_REPLACE_GROWTH',
    description:
      'bytes one /files/replace request may add to its files together (0: no limit); more → 413, nothing written',
    default: 256 * 1024 * 1024,
  }),
  downloadCopyMax: intOption('download-copy-max', {
    env: 'EXECD_DOWNLOAD_COPY_MAX',
    description:
      'largest download (bytes) copied before it is sent, so that it is the file as it was then (0: none); larger ones are read from the file as they are sent',
    default: 256 * 1024 * 1024,
  }),
  uploadMinRate: intOption('upload-min-rate', {
    env: 'EXECD_UPLOAD_MIN_RATE',
    description:
      'bytes/s an upload body must average over every --upload-rate-window of waiting for it (0: no minimum); slower → 408',
    default: 1024,
  }),
  uploadRateWindow: intOption('upload-rate-window', {
    env: 'EXECD_UPLOAD_RATE_WINDOW_MS',
    description: 'ms over which --upload-min-rate is measured (a stall shorter than this never trips it alone)',
    default: 120_000,
  }),
}
