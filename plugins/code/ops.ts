/**
 * The code section's operations are a `CodeService` (service.ts: contexts, executions,
 * languages, interrupts). Opened, they expire idle contexts and send shell languages to the
 * command runner, asked for at each run (the commands section may not be in the list).
 */
import type { PluginContext } from '../../core/plugin'
import { COMMAND_RUNNER } from '../command/contract'
import { CodeService, type CodeSettings } from './service'

export { CodeService }

export function openCodeOps(ctx: PluginContext, settings: CodeSettings): CodeService {
  const ops = new CodeService(ctx.runtimes, ctx.config, settings, ctx.log.child({ section: 'code' }), () =>
    ctx.registry.get(COMMAND_RUNNER),
  )
  ops.startExpiry()
  return ops
}
