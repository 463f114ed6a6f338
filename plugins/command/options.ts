/**
 * The commands section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'

export const OPTIONS = {
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
  logTotalBytes: intOption('command-log-total-bytes', {
    env: 'EXECD_COMMAND_LOG_TOTAL_BYTES',
    // No default here: it is worked out at open (log-total.ts), and the help says how.
    description:
      "bytes of all running commands' logs together (their streams get all); default 1 GiB, or a quarter of the memory limit when TMPDIR is a tmpfs in a memory cgroup",
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
