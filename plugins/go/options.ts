/**
 * The go runtime's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

export const OPTIONS = {
  go: stringOption('go', {
    env: 'EXECD_GO',
    description: 'go toolchain that compiles the cells of go contexts',
    default: 'go',
  }),
  cacheMax: intOption('go-cache-max', {
    env: 'EXECD_GO_CACHE_MAX',
    description: 'bytes of the shared go build cache past which its oldest entries go (0: no bound)',
    default: 256 * 1024 * 1024,
  }),
}
