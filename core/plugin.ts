/**
 * The plugin contracts. An API section (metrics, command, files, code, ...) is a `Section`: opened,
 * it gives its plain operations (what the CLI calls without HTTP) and its routes for `serve`. A language
 * runtime (python, javascript, ...) is a `Runtime`. `plugins/index.ts` holds the one static list;
 * core never imports plugins.
 */
import type { AnyElysia } from 'elysia'
import type { Config, OptionSpec } from './config'
import type { Downloads } from './downloads'
import type { ExecEvent } from './events'
import type { Held } from './held-slots'
import type { Logger } from './log'
import type { Registry } from './registry'
import type { Streams } from './streams'

/** What every section gets when it is opened: one per app (or CLI run), shared by its sections. */
export interface PluginContext {
  config: Config
  log: Logger
  /** Services sections offer each other without importing each other (see registry.ts). */
  registry: Registry
  /** Every runtime in the plugin list, by name. */
  runtimes: readonly Runtime[]
  /** The app's SSE streams (--max-streams): every section's stream takes its slot here (core/sse.ts). */
  streams: Streams
  /** The app's file bodies still being sent (core/file-body.ts), named on SIGUSR2. */
  downloads: Downloads
  /**
   * Opens the staging journal of the process's TMPDIR (core/beneath/staging.ts) for this app, once:
   * a section whose operations stage entries beside a user's files asks it in `open()`, so that
   * what an execd killed before left staged goes before its first request. The app owns it and
   * closes it after every section (what is still staged is removed then).
   */
  staging(): Promise<void>
}

/**
 * An API section. `name` is its URL prefix and OpenAPI tag (`files` also serves `/directories`;
 * its CLI verb is `fs`). It holds no state: `open` builds the instance (operations, background
 * work) and the caller owns it — `core/app.ts` for `serve`, the CLI verb otherwise — and
 * closes it.
 */
export interface Section<Ops = unknown> {
  readonly name: string
  /**
   * The URL path prefixes its routes live under (default `/<name>`): a request is sent to the
   * section whose prefix its path starts with, before the section's routes are built.
   */
  readonly prefixes?: readonly string[]
  /** Flags/env this section reads; `serve` and the CLI register them. */
  readonly options?: readonly OptionSpec[]
  /**
   * Path prefixes whose request bodies must reach the route untouched (a proxy). Every other
   * body is read as JSON whatever its Content-Type, as the reference does.
   */
  readonly rawBodyPrefixes?: readonly string[]
  /**
   * Opened after the server listens rather than before (`serve` only; a CLI verb opens what it
   * needs at once): `open` may then load its operations' modules (`await import('./ops')`),
   * which no longer delay the first /ping. A request under its prefixes waits for it. Such a
   * section must give routes, and whatever must end execd at start (a setting that cannot be
   * read) goes in `check`.
   */
  readonly opensLate?: boolean
  /**
   * Throws for a configuration this section cannot serve. Runs before the server listens,
   * before `open` (which, for a section that opens late, may come after listening), so a bad
   * flag still ends execd at start with its one-line error.
   */
  check?(config: Config): void
  /** Builds this section's instance; start background work here, never at import time. */
  open(ctx: PluginContext): OpenSection<Ops> | Promise<OpenSection<Ops>>
}

/** One opened section: the operations the CLI calls, the routes `serve` mounts, and its end. */
export interface OpenSection<Ops = unknown> {
  readonly ops: Ops
  /**
   * The Elysia routes of this section over `ops`: `new Elysia({ name: 'api/<name>' })`. Called
   * once, on the first request under the section's prefixes or just after the server listens,
   * so it may load its module then: `routes: async () => (await import('./routes')).xRoutes(ops)`.
   */
  routes?(): AnyElysia | Promise<AnyElysia>
  /**
   * Routes the front door may answer itself, before Elysia, for the bodies their own schema
   * accepts as they are (POST /code: the warm cell's hot path). Each must answer exactly as
   * its Elysia route of the same method and path does; anything else goes to that route.
   * Built with the section's routes (same time, same laziness).
   */
  direct?(): readonly DirectRoute[] | Promise<readonly DirectRoute[]>
  /**
   * Who holds each capped pool this instance owns, now (core/held-slots.ts): the app that
   * opened it lists them on SIGUSR2. The pools are the instance's: two instances of a section
   * (two apps, a test, a CLI verb) each report their own. The one exception is a budget of a
   * process-wide resource, which one section reports (the files section: the uploads' share of
   * the fd table).
   */
  held?(): readonly Held[]
  /** Stops background work and child processes; called on shutdown. Idempotent. */
  close?(): void | Promise<void>
}

/**
 * A JSON route served past Elysia (see OpenSection.direct). Only for requests without a query
 * string whose parsed body `accepts` admits: a body the route's schema would refuse, or that
 * Elysia would alter (an extra property it strips), must be refused by `accepts`, so that its
 * answer stays the Elysia route's.
 */
export interface DirectRoute {
  readonly method: string
  readonly path: string
  accepts(body: unknown): boolean
  handle(body: any, request: Request): Promise<Response>
}

/** Any section, whatever its operations (the list `plugins/index.ts` holds). */
export type Plugin = Section<any>

/** A language the runtime offers, and whether it can run on this machine. */
export interface LanguageInfo {
  language: string
  available: boolean
  /** Interpreter path/version, or why it is unavailable. */
  detail?: string
  /**
   * The failure that made it unavailable, when there was one (a spawn refused with EMFILE or
   * EAGAIN): the catalog asks `limitReached` whether it was the fd or process limit (a 503, and
   * the probe not kept) rather than reading the detail's words. Never sent on the wire.
   */
  error?: unknown
}

export interface StartOptions {
  language: string
  cwd: string
  env: Record<string, string>
  config: Config
  log: Logger
}

/** A language runtime: one of `runtimes` in plugins/index.ts (python, javascript/typescript, bash, java, go, …). */
export interface Runtime {
  readonly name: string
  readonly options?: readonly OptionSpec[]
  /** Languages served, probed on this machine (a bridge discovers them). */
  languages(config: Config): Promise<LanguageInfo[]>
  /** Starts one live interpreter. */
  start(opts: StartOptions): Promise<RuntimeContext>
  /**
   * A fresh instance for one app, when the runtime keeps state (a spare interpreter, a probe
   * cache): the listed object is then only the template, and each app opens its own.
   */
  open?(): Runtime
  /**
   * Ends what an opened instance keeps (a spare interpreter): called by the app that opened it,
   * after its sections closed. Idempotent; nothing is started after it.
   */
  close?(): Promise<void>
  /**
   * Throws for a configuration this runtime cannot serve, before anything listens (as a
   * section's `check`): its settings were read at the first context, so a value past an
   * option's max (`--python-spare 2`) was served as whatever the code made of it.
   */
  check?(config: Config): void
}

/**
 * Where a push-style run hands its events, in order. A returned promise is awaited before the
 * next event (the reader is behind: backpressure); nothing returned means go on.
 */
export type Emit = (event: ExecEvent) => Promise<unknown> | undefined

/** One live interpreter whose state survives between runs. */
export interface RuntimeContext {
  /**
   * Runs one cell. Yields output events (stdout, stderr, execution_count, result, error);
   * the /code section adds init, ping and execution_complete. Ends when the cell ends.
   * If the interpreter dies, yields an `error` naming the cause and ends; `alive` is then false.
   */
  run(code: string): AsyncIterable<ExecEvent>
  /**
   * The same cell as `run`, its events handed to `emit` rather than yielded: no async
   * generator per layer between the interpreter and the journal on a warm cell's path.
   * Optional; the code section falls back to `run`.
   */
  runInto?(code: string, emit: Emit): Promise<void>
  /** Stops the running cell (KeyboardInterrupt or the language's equivalent), keeps state. */
  interrupt(): Promise<void>
  /** Kills the interpreter's process group. Idempotent. */
  close(): Promise<void>
  readonly alive: boolean
  /**
   * Why the interpreter takes no more cells, when it is not alive for a reason its own exit does
   * not tell (a channel an earlier cell's callback closed between cells): the next execution's
   * `state_lost` says it. Optional.
   */
  readonly lostWhy?: string
  /**
   * Whether `code` is a whole cell, in the interpreter's own words (a Jupyter kernel's
   * is_complete_request), within `waitMs`; `unknown` past it. Optional: only a runtime whose
   * interpreter can say it has it (a prompt of a language execd has no rule for asks).
   */
  isComplete?(code: string, waitMs: number): Promise<Completeness>
}

/** Jupyter's is_complete_reply: go on (with the indent the next line would take), run it, or no word. */
export interface Completeness {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown'
  indent?: string
}
