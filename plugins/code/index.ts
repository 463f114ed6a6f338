/**
 * The code section (CONTRACT §3): contexts, `POST /code` streams, interrupts, resumable
 * executions. Languages come from the runtime plugins; shell code goes to the commands section.
 */
import { boolOption, intOption, optionSpecs, settingsOf } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import { DEFAULT_CONTEXT_LIMITS } from './defaults'
import type { CodeService } from './ops'

/** Declared here; `CodeService` gets them typed (`CodeSettings`). */
const OPTIONS = {
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
  contextIdle: intOption('context-idle', {
    env: 'EXECD_CONTEXT_IDLE_MS',
    description:
      'ms a code context may go without an execution before it is closed and forgotten (0 = never); a running cell keeps it',
    default: DEFAULT_CONTEXT_LIMITS.idleMs,
  }),
}

export const code: Section<CodeService> = {
  name: 'code',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void settingsOf(config, OPTIONS),
  async open(ctx) {
    const { openCodeOps } = await import('./ops')
    const ops = openCodeOps(ctx, settingsOf(ctx.config, OPTIONS))
    const hub = ctx.registry.require(INTERRUPTS)
    return {
      ops,
      routes: async () => (await import('./routes')).codeRoutes(ops, hub),
      direct: async () => (await import('./routes')).codeDirectRoutes(ops),
      close: () => ops.close(),
    }
  },
}
