/** The commands section (CONTRACT §4): `/command` foreground and background, status, logs, events. */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import { COMMAND_RUNNER } from './contract'
import type { CommandOps, CommandSettings } from './ops'
import { OPTIONS } from './options'

/** The operations' settings from the typed options; the logs' total, if not given, is worked out at open. */
function commandSettings(config: Config): Omit<CommandSettings, 'logTotalBytes'> & { logTotalBytes?: number } {
  const s = settingsOf(config, OPTIONS)
  return {
    logMaxBytes: s.logMaxBytes,
    logTotalBytes: s.logTotalBytes,
    interruptGraceMs: s.interruptGrace,
    maxBackground: s.maxBackground,
    maxRunning: s.maxCommands,
    retention: { count: s.retentionCount, ageMs: s.retentionAge * 1000, bytes: s.retentionBytes, journals: 16 },
  }
}

export const command: Section<CommandOps> = {
  name: 'command',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void commandSettings(config),
  async open(ctx) {
    const [{ CommandOps }, { workRoot }] = await Promise.all([import('./ops'), import('../../core/workdir')])
    const given = commandSettings(ctx.config)
    const logTotalBytes = given.logTotalBytes ?? (await import('./log-total')).machineLogTotal(ctx.log)
    const ops = new CommandOps({ ...given, logTotalBytes, root: workRoot(ctx.config) })
    ctx.registry.provide(COMMAND_RUNNER, { run: req => ops.run(req) })
    const hub = ctx.registry.require(INTERRUPTS)
    hub.add(id => ops.interrupt(id))
    return {
      ops,
      routes: async () => (await import('./routes')).commandRoutes(ops, hub, ctx),
      direct: async () => (await import('./routes')).commandDirectRoutes(ops, ctx.streams),
      held: () => ops.held(),
      close: () => ops.close(),
    }
  },
}
