/** The commands section (CONTRACT §4): `/command` foreground and background, status, logs, events. */
import { intOption, optionSpecs, settingsOf, type Config } from '../../core/config'
import { INTERRUPTS } from '../../core/interrupts'
import type { Section } from '../../core/plugin'
import { COMMAND_RUNNER } from './contract'
import type { Commands, CommandSettings } from './ops'

const OPTIONS = {
  retentionCount: intOption('command-retention-count', {
    env: 'EXECD_COMMAND_RETENTION_COUNT',
    description: 'finished commands whose status and log are kept',
    default: 256,
  }),
  retentionAge: intOption('command-retention-age', {
    env: 'EXECD_COMMAND_RETENTION_AGE',
    description: 'seconds a finished command is kept',
    default: 21600,
  }),
  retentionBytes: intOption('command-retention-bytes', {
    env: 'EXECD_COMMAND_RETENTION_BYTES',
    description: 'total log bytes of finished commands kept',
    default: 512 * 1024 * 1024,
  }),
  logMaxBytes: intOption('command-log-max-bytes', {
    env: 'EXECD_COMMAND_LOG_MAX_BYTES',
    description: 'bytes of one command written to its log (the stream gets all)',
    default: 256 * 1024 * 1024,
  }),
  interruptGrace: intOption('command-interrupt-grace', {
    env: 'EXECD_COMMAND_INTERRUPT_GRACE_MS',
    description: 'ms between SIGTERM and SIGKILL on interrupt',
    default: 500,
  }),
  maxCommands: intOption('max-commands', {
    env: 'EXECD_MAX_COMMANDS',
    description:
      'commands running at once, foreground (which go on when their client leaves) and background (0 = no limit); more are refused with 503',
    default: 512,
  }),
  maxBackground: intOption('max-background-commands', {
    env: 'EXECD_MAX_BACKGROUND_COMMANDS',
    description: 'background commands running at once (0 = no limit); more are refused with 503',
    default: 128,
  }),
}

/** The operations' settings from the typed options. */
function commandSettings(config: Config): CommandSettings {
  const s = settingsOf(config, OPTIONS)
  return {
    logMaxBytes: s.logMaxBytes,
    interruptGraceMs: s.interruptGrace,
    maxBackground: s.maxBackground,
    maxRunning: s.maxCommands,
    retention: { count: s.retentionCount, ageMs: s.retentionAge * 1000, bytes: s.retentionBytes, journals: 16 },
  }
}

export const command: Section<Commands> = {
  name: 'command',
  options: optionSpecs(OPTIONS),
  opensLate: true,
  check: config => void commandSettings(config),
  async open(ctx) {
    const { Commands } = await import('./ops')
    const ops = new Commands(commandSettings(ctx.config))
    ctx.registry.provide(COMMAND_RUNNER, { run: req => ops.run(req) })
    const hub = ctx.registry.require(INTERRUPTS)
    hub.add(id => ops.interrupt(id))
    return {
      ops,
      routes: async () => (await import('./routes')).commandRoutes(ops, hub),
      direct: async () => (await import('./routes')).commandDirectRoutes(ops),
      close: () => ops.close(),
    }
  },
}
