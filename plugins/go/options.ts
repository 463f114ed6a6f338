/**
 * The go runtime's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { stringOption } from '../../core/config'

export const OPTIONS = {
  go: stringOption('go', {
    env: 'EXECD_GO',
    description: 'go toolchain that compiles the cells of go contexts',
    default: 'go',
  }),
}
