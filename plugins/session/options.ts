/**
 * The bash sessions section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'

export const OPTIONS = {
  max: intOption('max-sessions', {
    env: 'EXECD_MAX_SESSIONS',
    description: 'bash sessions at once (0 = no limit); more are refused with 503',
    default: 64,
  }),
  idleMs: intOption('session-idle', {
    env: 'EXECD_SESSION_IDLE_MS',
    description: 'ms a session may go without a run before it is ended (0 = never); a running session is not idle',
    default: 30 * 60 * 1000,
  }),
}
