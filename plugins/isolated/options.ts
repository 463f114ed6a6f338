/**
 * The isolated section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption, stringOption } from '../../core/config'

export const OPTIONS = {
  bwrap: stringOption('isolated-bwrap', {
    env: 'EXECD_ISOLATED_BWRAP',
    description: 'bubblewrap executable (a path, or a name looked up on PATH); missing → isolation unavailable (503)',
    default: 'bwrap',
  }),
  binds: stringOption('isolated-binds', {
    env: 'EXECD_ISOLATED_BINDS',
    description: 'comma list of host dirs that binds sources and extra_writable paths must lie within (default: none)',
  }),
  max: intOption('max-isolated-sessions', {
    env: 'EXECD_MAX_ISOLATED_SESSIONS',
    description: 'isolated sessions at once (0 = no limit); more are refused with 503',
    default: 16,
  }),
  idleSeconds: intOption('isolated-idle', {
    env: 'EXECD_ISOLATED_IDLE_SECONDS',
    description:
      'seconds an isolated session may go without a run before it is destroyed, unless it names its own (0 = never)',
    default: 30 * 60,
  }),
  tmpfsBytes: intOption('isolated-tmpfs-size', {
    env: 'EXECD_ISOLATED_TMPFS_BYTES',
    description:
      "bytes each of an isolated session's memory filesystems (/tmp, /dev/shm, execd's temp dir) may hold; a write past it is ENOSPC (0 = half the RAM, the kernel's default)",
    default: 256 * 1024 * 1024,
  }),
}
