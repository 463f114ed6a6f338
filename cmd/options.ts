/** Every option: the server's own and each plugin's and runtime's, for help and config. */
import { SERVER_OPTIONS, resolveConfig, type Config, type OptionSpec } from '../core/config'
import { plugins, runtimes } from '../plugins'

export const allOptions: OptionSpec[] = [
  ...SERVER_OPTIONS,
  ...plugins.flatMap(p => p.options ?? []),
  ...runtimes.flatMap(r => r.options ?? []),
]

/** Config for a CLI verb: its flags, then the environment, then defaults. */
export const configFrom = (flags: Record<string, unknown> = {}): Config => resolveConfig(allOptions, flags)
