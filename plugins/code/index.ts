/**
 * The code section (CONTRACT §3): contexts, `POST /code` streams, interrupts, resumable
 * executions. Languages come from the runtime plugins; shell code goes to the commands section.
 */
import { INTERRUPTS } from '../../core/interrupts'
import type { Plugin } from '../../core/plugin'
import { COMMAND_RUNNER } from '../../core/services'
import { DEFAULT_CONTEXT_LIMITS } from './contexts'
import { codeRoutes } from './routes'
import { CODE, CodeService } from './service'

let service: CodeService | undefined

export const code: Plugin = {
  name: 'code',
  options: [
    {
      flag: 'prefer-jupyter',
      env: 'EXECD_PREFER_JUPYTER',
      description: 'serve languages through the Jupyter bridge even when a native runtime offers them',
      boolean: true,
    },
    {
      flag: 'code-interrupt-grace',
      env: 'EXECD_CODE_INTERRUPT_GRACE_MS',
      description: 'ms a cell may ignore an interrupt before its interpreter is killed (state lost)',
      default: '3000',
    },
    {
      flag: 'max-contexts',
      env: 'EXECD_MAX_CONTEXTS',
      description:
        'code contexts per language at most, default ones included (0 = no limit); more are refused with 503',
      default: String(DEFAULT_CONTEXT_LIMITS.maxPerLanguage),
    },
    {
      flag: 'context-idle',
      env: 'EXECD_CONTEXT_IDLE_MS',
      description:
        'ms a code context may go without an execution before it is closed and forgotten (0 = never); a running cell keeps it',
      default: String(DEFAULT_CONTEXT_LIMITS.idleMs),
    },
  ],
  setup(ctx) {
    const svc = new CodeService(ctx.runtimes, ctx.config, ctx.log.child({ section: 'code' }), () =>
      ctx.registry.get(COMMAND_RUNNER),
    )
    service = svc
    svc.startExpiry()
    ctx.registry.provide(CODE, svc)
    ctx.registry.require(INTERRUPTS).add(10, id => svc.interrupt(id))
  },
  routes: ctx => codeRoutes(ctx.registry.require(CODE), ctx.registry.require(INTERRUPTS)),
  close: () => service?.close(),
}
