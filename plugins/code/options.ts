/**
 * The code section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config and its defaults (core/layout.test.ts checks it).
 */
import { boolOption, intOption } from '../../core/config'
import { DEFAULT_CONTEXT_LIMITS } from './defaults'

export const OPTIONS = {
  preferJupyter: boolOption('prefer-jupyter', {
    env: 'EXECD_PREFER_JUPYTER',
    description: 'serve languages through the Jupyter bridge even when a native runtime offers them',
  }),
  interruptGrace: intOption('code-interrupt-grace', {
    env: 'EXECD_CODE_INTERRUPT_GRACE_MS',
    description: 'ms a cell may ignore an interrupt before its interpreter is killed (state lost)',
    default: 3000,
  }),
  maxContexts: intOption('max-contexts', {
    env: 'EXECD_MAX_CONTEXTS',
    description: 'code contexts per language at most, default ones included (0 = no limit); more are refused with 503',
    default: DEFAULT_CONTEXT_LIMITS.maxPerLanguage,
  }),
  keepLargeValues: intOption('keep-large-values', {
    env: 'EXECD_KEEP_LARGE_VALUES_MS',
    description:
      "ms an ended execution's large values (1 MiB or more, waiting in TMPDIR) stay replayable after the execution's end or their last replay before their room is given back (0 = while the execution is kept); a replay after says events_dropped",
    default: 60_000,
    max: 15 * 60_000,
  }),
  contextIdle: intOption('context-idle', {
    env: 'EXECD_CONTEXT_IDLE_MS',
    description:
      'ms a code context may go without an execution before it is closed and forgotten (0 = never); a running cell keeps it',
    default: DEFAULT_CONTEXT_LIMITS.idleMs,
  }),
}
