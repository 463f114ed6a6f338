/**
 * The python runtime's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

export const OPTIONS = {
  python: stringOption('python', {
    env: 'EXECD_PYTHON',
    description: 'python interpreter of the python runtime',
    default: 'python3',
  }),
  spare: intOption('python-spare', {
    env: 'EXECD_PYTHON_SPARE',
    description: 'keep an idle python interpreter ready so a new context starts at once (1 or 0; one at most)',
    default: 1,
    // One spare is all that is kept: 2 was taken and served as 1.
    max: 1,
  }),
}
