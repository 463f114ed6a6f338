/**
 * Configuration from flags, then environment, then defaults. Core declares the server's own
 * options; each section and runtime declares its own (`intOption`… then `optionSpecs`) and the CLI registers them all.
 */
import { withholdFromChildren } from './child-env'

/**
 * A flag's or variable's value that cannot be served: one line and the CLI's usage exit (2),
 * as a wrong flag on the command line is. Values from the environment met it as a plain
 * failure (exit 1), and an out-of-range --port as Bun's "error ERR_OUT_OF_RANGE".
 */
export class ConfigError extends Error {}

export interface OptionSpec {
  /** Long flag without dashes, kebab-case: 'log-level' → --log-level. */
  flag: string
  /** Environment variable read when the flag is absent. */
  env?: string
  description: string
  default?: string
  /** Boolean options take no value on the command line. */
  boolean?: boolean
  /** A whole number ≥ 0: the CLI refuses anything else as a usage error. */
  int?: boolean
  /** Never logged or printed (tokens). */
  secret?: boolean
}

/**
 * A typed declaration of one option: its flag, env, description and default declared once.
 * `settingsOf` reads a record of them into a typed settings object; `optionSpecs` turns them
 * into the `OptionSpec`s the CLI registers (the default as the text help prints).
 */
type Declaration =
  | (Declared & { kind: 'int'; default?: number; max?: number; min?: number })
  | (Declared & { kind: 'string'; default?: string; choices?: readonly string[] })
  | (Declared & { kind: 'bool'; default?: undefined })
type Declared = Pick<OptionSpec, 'flag' | 'env' | 'description' | 'secret'>
type Rest<V> = Omit<Declared, 'flag'> & { default?: V }

/** `min`: the least value taken but 0, which turns off what the option sizes (a reserve, a limit). */
export const intOption = <R extends Rest<number> & { max?: number; min?: number }>(flag: string, rest: R) => ({
  flag,
  kind: 'int' as const,
  ...rest,
})
export const stringOption = <R extends Rest<string> & { choices?: readonly string[] }>(flag: string, rest: R) => ({
  flag,
  kind: 'string' as const,
  ...rest,
})
export const boolOption = (flag: string, rest: Omit<Declared, 'flag'>) => ({ flag, kind: 'bool' as const, ...rest })

type Declarations = Record<string, Declaration>

type ValueOf<D> = D extends { kind: 'int' }
  ? D extends { default: number }
    ? number
    : number | undefined
  : D extends { kind: 'bool' }
    ? boolean
    : D extends { default: string }
      ? string
      : string | undefined

/** The typed settings a section or runtime receives: one field per declared option. */
export type Settings<D extends Declarations> = { readonly [K in keyof D]: ValueOf<D[K]> }

/** The declarations as the CLI registers them (help text, env, default). */
export function optionSpecs(declarations: Declarations): OptionSpec[] {
  return Object.values(declarations).map(({ kind, default: value, ...declared }) => {
    const {
      max: _m,
      min: _n,
      choices: _c,
      ...spec
    } = declared as Declared & { max?: number; min?: number; choices?: readonly string[] }
    return {
      ...spec,
      ...(value === undefined ? {} : { default: String(value) }),
      ...(kind === 'bool' ? { boolean: true } : {}),
      ...(kind === 'int' ? { int: true } : {}),
    }
  })
}

/**
 * Reads declared options from a resolved config. A config resolved without these specs (a
 * unit test's) still gets the declared defaults.
 */
export function settingsOf<D extends Declarations>(config: Config, declarations: D): Settings<D> {
  const out: Record<string, unknown> = {}
  for (const [key, d] of Object.entries(declarations)) {
    // An int without a default is the section's to work out when not given (unset or empty).
    if (d.kind === 'int')
      out[key] =
        d.default === undefined && (config.get(d.flag) ?? '') === ''
          ? undefined
          : config.int(d.flag, d.default, d.max, d.min)
    else if (d.kind === 'bool') out[key] = config.bool(d.flag)
    else {
      const value = config.get(d.flag) ?? d.default
      // `--cgroups junk` (or `OFF`) was served as auto without a word.
      if (d.choices && value !== undefined && !d.choices.includes(value)) {
        throw new ConfigError(`option ${config.named(d.flag)} must be ${d.choices.join(' or ')}, got '${value}'`)
      }
      out[key] = value
    }
  }
  return out as Settings<D>
}

/** execd's own anonymous memory is ~13 MiB (core/memory-reserve.ts): less keeps too little for it. */
const MIN_MEMORY_RESERVE = 16 << 20

/** The server's own options (the front door, logging, process ownership). */
export const SERVER = {
  port: intOption('port', { env: 'EXECD_PORT', description: 'port to listen on', default: 44772, max: 65535 }),
  host: stringOption('host', {
    env: 'EXECD_HOST',
    description: 'address to listen on (default: all IPv4 and IPv6 interfaces with a token, 127.0.0.1 without one)',
  }),
  accessToken: stringOption('access-token', {
    env: 'EXECD_ACCESS_TOKEN',
    description: 'require header X-EXECD-ACCESS-TOKEN with this value on every request',
    secret: true,
  }),
  accessTokenFile: stringOption('access-token-file', {
    env: 'EXECD_ACCESS_TOKEN_FILE',
    description: 'read the access token from the first line of this file ("-" = standard input)',
  }),
  allowedHost: stringOption('allowed-host', {
    env: 'EXECD_ALLOWED_HOST',
    description: 'comma list of Host values (name, name:port or *) accepted besides loopback when no token is set',
  }),
  allowedOrigin: stringOption('allowed-origin', {
    env: 'EXECD_ALLOWED_ORIGIN',
    description: 'comma list of browser origins (http://name:port, or *) allowed to call the API',
  }),
  maxJsonBytes: intOption('max-json-bytes', {
    env: 'EXECD_MAX_JSON_BYTES',
    description: 'largest JSON request body; larger ones are refused with 413',
    default: 16 << 20,
  }),
  bodyTimeout: intOption('body-timeout', {
    env: 'EXECD_BODY_TIMEOUT_MS',
    description: 'ms a JSON request body may take to arrive (408 after), 0 = no limit',
    default: 60000,
  }),
  maxRequests: intOption('max-requests', {
    env: 'EXECD_MAX_REQUESTS',
    description: 'requests in flight at once, streams included; beyond it 503 and the connection closes',
    default: 2048,
  }),
  maxStreams: intOption('max-streams', {
    env: 'EXECD_MAX_STREAMS',
    description:
      'event streams open at once, of every kind: commands, session runs, code, replays, metrics watch (0 = no limit); more are refused with 503',
    default: 256,
  }),
  fdLimitCheck: intOption('fd-limit-check', {
    env: 'EXECD_FD_LIMIT_CHECK_MS',
    description:
      'ms between checks whether every file descriptor is taken; while they are, connections idle between requests are closed (0 = never)',
    default: 1000,
  }),
  deferAccept: intOption('defer-accept', {
    env: 'EXECD_DEFER_ACCEPT',
    description:
      'seconds the kernel (Linux) holds a new connection that has sent nothing before execd accepts it (rounded up to its SYN-ACK steps: 300 is 367), so that silent connections take no file descriptor (0 = accept at once)',
    default: 300,
  }),
  maxWebsocketMessage: intOption('max-websocket-message', {
    env: 'EXECD_MAX_WEBSOCKET_MESSAGE',
    description:
      'largest message a WebSocket client may send (terminals and proxied sockets alike), in bytes; a larger one closes its socket with 1009 (0 = no limit)',
    default: 1 << 20,
  }),
  logLevel: stringOption('log-level', {
    env: 'EXECD_LOG_LEVEL',
    description: 'debug, info, warn, error, silent (or the reference numbers 0-7)',
    default: 'info',
  }),
  logFile: stringOption('log-file', {
    env: 'EXECD_LOG_FILE',
    description: 'append the JSON log lines to this file instead of stderr (reopened on SIGHUP, for log rotation)',
  }),
  root: stringOption('root', {
    env: 'EXECD_ROOT',
    description: 'confine every path the API resolves (files, directories, working directories) to this directory',
  }),
  shutdownGrace: intOption('shutdown-grace', {
    env: 'EXECD_SHUTDOWN_GRACE_MS',
    description: 'ms between SIGTERM and SIGKILL for child process groups',
    default: 2000,
  }),
  mainStopGrace: intOption('main-stop-grace', {
    env: 'EXECD_MAIN_STOP_GRACE_MS',
    description:
      'with serve -- cmd: ms the main process has to exit after a SIGTERM passed on to it, then it and its descendants get SIGKILL (0: wait for as long as it takes, as tini does)',
    default: 30000,
    max: 86_400_000,
  }),
  cgroups: stringOption('cgroups', {
    env: 'EXECD_CGROUPS',
    description:
      "auto: each command, session, context and terminal in its own cgroup where cgroup v2 is writable, their memory limited below execd's where a v1 memory cgroup is; off: never",
    default: 'auto',
    choices: ['auto', 'off'],
  }),
  memoryReserve: intOption('memory-reserve-bytes', {
    env: 'EXECD_MEMORY_RESERVE_BYTES',
    description:
      "bytes of execd's memory limit its children may not take, kept for execd where a v1 memory cgroup limits it (0 = none, they share it; default: an eighth of the limit, within 64–256 MiB)",
    min: MIN_MEMORY_RESERVE,
    max: 2 ** 40,
  }),
}

export const SERVER_OPTIONS: OptionSpec[] = optionSpecs(SERVER)
withholdFromChildren(SERVER_OPTIONS.filter(s => s.secret && s.env).map(s => s.env!))

/** Resolved configuration: every option by its flag name. */
export class Config {
  constructor(
    private readonly values: Record<string, string | undefined>,
    readonly specs: readonly OptionSpec[],
  ) {
    withholdFromChildren(specs.filter(s => s.secret && s.env).map(s => s.env!))
  }

  get(flag: string): string | undefined {
    return this.values[flag]
  }

  /** `--flag (ENV)`: a value refused may have come from either. */
  named(flag: string): string {
    const env = this.specs.find(s => s.flag === flag)?.env
    return env ? `--${flag} (${env})` : `--${flag}`
  }

  string(flag: string, fallback = ''): string {
    return this.values[flag] ?? fallback
  }

  int(flag: string, fallback?: number, max = Number.MAX_SAFE_INTEGER, min = 0): number {
    const raw = this.values[flag]
    if (raw === undefined || raw === '') {
      if (fallback === undefined) throw new ConfigError(`option ${this.named(flag)} is required`)
      return fallback
    }
    // Digits only, as the CLI reads a flag: Number() read a blank variable as 0 (no limit, or a
    // random port) and took '0x10', '1e3' and '5 ' where the flag refused them.
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
    if (!Number.isFinite(n) || !Number.isInteger(n) || n < 0) {
      throw new ConfigError(`option ${this.named(flag)} must be a non-negative integer, got '${raw}'`)
    }
    // Past 2^53 the number read is not the one typed (99999999999999999999999 became 1e23).
    if (n > max) throw new ConfigError(`option ${this.named(flag)} must be at most ${max}, got '${raw}'`)
    if (n !== 0 && n < min)
      throw new ConfigError(`option ${this.named(flag)} must be 0 or at least ${min}, got '${raw}'`)
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
  const given = flagsByName(flags)
  for (const spec of specs) {
    const fromFlag = given[spec.flag]
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

/**
 * The flags given, each under its option's name (`maxJsonBytes` as `max-json-bytes`; a name as
 * typed wins over cac's form of it), the unset ones left out: looked up by name, not each option's
 * camelCase made again (this runs once for the few flags given, not once per option: making the
 * 60-odd names, here and in cmd/options.ts, was 1.84 M of the 11.4 M instructions a serve start
 * ran before listening beyond a bare Bun.serve, bench/start-instructions.ts).
 */
export function flagsByName(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || value === null) continue
    const name = kebabCase(key)
    if (name === key || !(name in out)) out[name] = value
  }
  return out
}

/** camelCase's inverse for the names it makes: an upper-case letter is a dash and the letter. */
function kebabCase(camel: string): string {
  let out = ''
  for (let i = 0; i < camel.length; i++) {
    const code = camel.charCodeAt(i)
    out += code >= 65 && code <= 90 ? `-${String.fromCharCode(code + 32)}` : camel.charAt(i)
  }
  return out
}

/**
 * An option's name as cac gives it too (`max-json-bytes` → `maxJsonBytes`). A loop, not a regular
 * expression: compiling one and calling back per match cost every start ~1 ms of CPU over the
 * 60-odd options, twice (here and cmd/cli.ts), before listening.
 */
export function camelCase(kebab: string): string {
  let out = ''
  for (let i = 0; i < kebab.length; i++) {
    const next = kebab.charCodeAt(i + 1)
    // `-` followed by a-z: the letter, upper-cased, without the dash.
    if (kebab.charCodeAt(i) === 45 && next >= 97 && next <= 122) {
      out += String.fromCharCode(next - 32)
      i++
    } else out += kebab.charAt(i)
  }
  return out
}
