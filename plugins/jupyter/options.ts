/**
 * The Jupyter bridge's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

// The reference's names (JUPYTER_HOST, JUPYTER_TOKEN), kept for its deployments.
export const OPTIONS = {
  host: stringOption('jupyter-host', {
    env: 'JUPYTER_HOST',
    description: 'Jupyter server URL (http:// or https://) whose kernels become languages',
  }),
  token: stringOption('jupyter-token', {
    env: 'JUPYTER_TOKEN',
    description: 'Jupyter server token',
    secret: true,
  }),
  replyGraceMs: intOption('jupyter-reply-grace', {
    env: 'EXECD_JUPYTER_REPLY_GRACE_MS',
    description: 'ms a Jupyter cell waits for its execute_reply after the kernel went idle, then fails',
    default: 3000,
  }),
}
