/**
 * The code section's operations are a `CodeService` (service.ts: contexts, executions,
 * languages, interrupts). Opening them wires them into the app: idle expiry, the interrupt
 * hub, and the command runner that shell languages go to.
 */
import { INTERRUPTS } from '../../core/interrupts'
import type { PluginContext } from '../../core/plugin'
import { COMMAND_RUNNER } from '../command/contract'
import { CODE, CodeService, type CodeSettings } from './service'

export { CodeService }

export function openCodeOps(ctx: PluginContext, settings: CodeSettings): CodeService {
  const ops = new CodeService(ctx.runtimes, ctx.config, settings, ctx.log.child({ section: 'code' }), () =>
    ctx.registry.get(COMMAND_RUNNER),
  )
  ops.startExpiry()
  ctx.registry.provide(CODE, ops)
  ctx.registry.require(INTERRUPTS).add(id => ops.interrupt(id))
  return ops
}
