/**
 * Configuration from flags, then environment, then defaults. Core declares the server's own
 * options; each plugin declares its own (`Plugin.options`) and the CLI registers them all.
 */
export interface OptionSpec {
  /** Long flag without dashes, kebab-case: 'jupyter-host' → --jupyter-host. */
  flag: string
  /** Environment variable read when the flag is absent. */
  env?: string
  description: string
  default?: string
  /** Boolean options take no value on the command line. */
  boolean?: boolean
  /** Never logged or printed (tokens). */
  secret?: boolean
}

export const SERVER_OPTIONS: OptionSpec[] = [
  { flag: 'port', env: 'EXECD_PORT', description: 'port to listen on', default: '44772' },
  {
    flag: 'host',
    env: 'EXECD_HOST',
    description: 'address to listen on (default: all IPv4 and IPv6 interfaces)',
    default: '::',
  },
  {
    flag: 'access-token',
    env: 'EXECD_ACCESS_TOKEN',
    description: 'require header X-EXECD-ACCESS-TOKEN with this value on every request',
    secret: true,
  },
  {
    flag: 'log-level',
    env: 'EXECD_LOG_LEVEL',
    description: 'debug, info, warn, error, silent (or the reference numbers 0-7)',
    default: 'info',
  },
  {
    flag: 'jupyter-host',
    env: 'JUPYTER_HOST',
    description: 'Jupyter server URL (http:// or https://) whose kernels become languages',
  },
  { flag: 'jupyter-token', env: 'JUPYTER_TOKEN', description: 'Jupyter server token', secret: true },
  {
    flag: 'shutdown-grace',
    env: 'EXECD_SHUTDOWN_GRACE_MS',
    description: 'ms between SIGTERM and SIGKILL for child process groups',
    default: '2000',
  },
  {
    flag: 'cgroups',
    env: 'EXECD_CGROUPS',
    description:
      'auto: each command, session, context and terminal in its own cgroup where cgroup v2 is writable; off: never',
    default: 'auto',
  },
]

/** Resolved configuration: every option by its flag name. */
export class Config {
  constructor(
    private readonly values: Record<string, string | undefined>,
    readonly specs: readonly OptionSpec[],
  ) {}

  get(flag: string): string | undefined {
    return this.values[flag]
  }

  string(flag: string, fallback = ''): string {
    return this.values[flag] ?? fallback
  }

  int(flag: string, fallback?: number): number {
    const raw = this.values[flag]
    if (raw === undefined || raw === '') {
      if (fallback === undefined) throw new Error(`option --${flag} is required`)
      return fallback
    }
    const n = Number(raw)
    if (!Number.isFinite(n) || !Number.isInteger(n) || n < 0) {
      throw new Error(`option --${flag} must be a non-negative integer, got '${raw}'`)
    }
    return n
  }

  bool(flag: string): boolean {
    const raw = this.values[flag]
    return raw !== undefined && !['', '0', 'false', 'no', 'off'].includes(raw.toLowerCase())
  }

  /** Options as they may be logged: secrets replaced by whether they are set. */
  redacted(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const spec of this.specs) {
      const v = this.values[spec.flag]
      if (v === undefined) continue
      out[spec.flag] = spec.secret ? (v ? 'set' : 'empty') : v
    }
    return out
  }
}

/**
 * `flags` are cac's parsed options (camelCase keys as cac gives them, or kebab-case).
 * Precedence: flag, then env, then the spec's default.
 */
export function resolveConfig(
  specs: readonly OptionSpec[],
  flags: Record<string, unknown> = {},
  env: Record<string, string | undefined> = process.env,
): Config {
  const values: Record<string, string | undefined> = {}
  for (const spec of specs) {
    const fromFlag = flags[spec.flag] ?? flags[camel(spec.flag)]
    if (fromFlag !== undefined && fromFlag !== null) {
      values[spec.flag] = String(fromFlag)
    } else if (spec.env && env[spec.env] !== undefined) {
      values[spec.flag] = env[spec.env]
    } else {
      values[spec.flag] = spec.default
    }
  }
  return new Config(values, specs)
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
