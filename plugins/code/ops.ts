/**
 * The code section's plain operations (HTTP routes and `execd exec` both call these): contexts,
 * executions, languages, interrupts. Opened (openCodeOps), they expire idle contexts and send
 * shell languages to the command runner, asked for at each run (the commands section may not
 * be in the list).
 */
import type { Config } from '../../core/config'
import { ExecdError } from '../../core/errors'
import type { Held } from '../../core/held-slots'
import type { ExecEvent } from '../../core/events'
import type { Logger } from '../../core/log'
import type { Completeness, PluginContext, Runtime } from '../../core/plugin'
import { FROM_THE_START, replayFrom, type ReplayStart } from '../../core/replay-start'
import { COMMAND_RUNNER, type CommandRunner } from '../command/contract'
import type { SseItem } from '../../core/sse'
import type { CodeContext } from './context'
import { ContextStore } from './contexts'
import { ExecutionStore, type Execution } from './executions'
import { LanguageCatalog, type LanguageEntry } from './languages'

interface ContextInfo {
  id: string
  language: string
}

export interface RunRequest {
  code: string
  context?: { id?: string; language?: string }
  /** false: fail at once (ContextBusy error event) instead of queueing behind other work. */
  wait?: boolean
}

/** The code section's typed options (declared, with their defaults, in index.ts). */
export interface CodeSettings {
  preferJupyter: boolean
  interruptGrace: number
  maxContexts: number
  contextIdle: number
  keepLargeValues: number
}

/** What `run` started: the execution (none for a shell command) and its events. */
export interface Started {
  execution?: Execution
  events: AsyncIterable<ExecEvent | SseItem>
}

const FAIL_IF_BUSY = { failIfBusy: true }
const QUEUE = { failIfBusy: false }

/** Languages the reference runs as shell commands rather than in a context. */
const SHELL_LANGUAGES: Record<string, boolean> = { '': false, command: false, 'background-command': true }

export class CodeOps {
  private readonly catalog: LanguageCatalog
  private readonly contexts: ContextStore
  private readonly executions: ExecutionStore
  private readonly interruptGraceMs: number

  /** `config` is what the runtimes read (their own options); `settings` the section's. */
  constructor(
    runtimes: readonly Runtime[],
    config: Config,
    settings: CodeSettings,
    log: Logger,
    private readonly commands: () => CommandRunner | undefined,
  ) {
    this.catalog = new LanguageCatalog(runtimes, config, settings.preferJupyter)
    this.contexts = new ContextStore(this.catalog, config, log, {
      maxPerLanguage: settings.maxContexts,
      idleMs: settings.contextIdle,
    })
    this.interruptGraceMs = settings.interruptGrace
    this.executions = new ExecutionStore(undefined, settings.keepLargeValues)
  }

  /** Who holds this instance's pools (core/held-slots.ts): each language's contexts, the executions. */
  held(): Held[] {
    return [...this.contexts.held(), this.executions.held()]
  }

  /** Starts closing idle contexts (serve; a CLI run has one context and no need). */
  startExpiry(): void {
    this.contexts.startExpiry()
  }

  languages(): Promise<LanguageEntry[]> {
    return this.catalog.list()
  }

  async createContext(language: string, cwd?: string): Promise<ContextInfo & { cwd?: string }> {
    if (!language) throw new ExecdError('INVALID_REQUEST_BODY', 'missing language')
    const ctx = await this.contexts.create(language, cwd)
    // The cwd as the client wrote it (the reference's echo): the expansion of its `$VAR`s is
    // the daemon's environment, which no answer repeats (files' messages keep the same rule).
    return cwd ? { id: ctx.id, language: ctx.language, cwd } : info(ctx)
  }

  listContexts(language?: string): ContextInfo[] {
    return this.contexts.list(language).map(info)
  }

  getContext(id: string): ContextInfo {
    return info(this.contexts.get(id))
  }

  /**
   * Whether `code` is a whole cell of the context's language, as its interpreter says (a Jupyter
   * kernel's is_complete), within `waitMs`: for the CLI's prompt, which has no rule for a
   * kernel's language. No route: the contract has none, so a prompt over --url keeps its own rule.
   */
  isComplete(contextId: string, code: string, waitMs: number): Promise<Completeness> {
    return this.contexts.get(contextId).isComplete(code, waitMs)
  }

  /** A cell it runs ends with its interpreter, whether or not the cell's client reads (stopPacing). */
  deleteContext(id: string): Promise<void> {
    this.executions.stopPacing(this.contexts.get(id).id)
    return this.contexts.delete(id)
  }

  deleteContexts(language: string): Promise<void> {
    for (const ctx of this.contexts.list(language)) this.executions.stopPacing(ctx.id)
    return this.contexts.deleteLanguage(language)
  }

  /**
   * Starts an execution: no language runs `code` as a shell command (through the commands
   * section); otherwise in the given context or the language's default one. `wait` overrides
   * the request's own (the route's query): a copy of the body with it was a spread object per
   * cell, and the route's JIT code left its DFG tier 99 times at that site (BadCache).
   */
  run(req: RunRequest, wait = req.wait !== false): Started | Promise<Started> {
    const language = req.context?.language ?? ''
    // Own keys only: 'constructor' or '__proto__' is no shell language (it would run code as
    // a background command).
    if (Object.hasOwn(SHELL_LANGUAGES, language) && !req.context?.id) {
      const runner = this.commands()
      if (!runner)
        throw new ExecdError(
          'NOT_SUPPORTED',
          'running code without a language needs the commands section, which is not in this executable',
        )
      return runner.run({ command: req.code, background: SHELL_LANGUAGES[language] }).then(events => ({ events }))
    }
    // A context named by id is found in this tick, and its cell started in it: no promise (a
    // warm cell's round trip), where the default context may have to start first.
    if (req.context?.id) return this.startIn(this.contexts.get(req.context.id), req.code, language, wait)
    return this.contexts.defaultFor(language).then(ctx => this.startIn(ctx, req.code, language, wait))
  }

  private startIn(ctx: CodeContext, code: string, language: string, wait: boolean): Started {
    if (language && ctx.language !== language) {
      throw new ExecdError('INVALID_REQUEST_BODY', `context ${ctx.id} runs ${ctx.language}, not ${language}`)
    }
    const execution = this.executions.start(ctx, code, wait ? QUEUE : FAIL_IF_BUSY)
    return { execution, events: execution.journal.read(0) }
  }

  /** Events of an execution after the client's last id, then live ones until it completes. */
  replay(executionId: string, start: ReplayStart = FROM_THE_START): AsyncIterable<SseItem> {
    const journal = this.executions.get(executionId).journal
    return journal.read(replayFrom(start, journal.lastId, 'execution'), { paces: false })
  }

  /**
   * Runs `code` in a new context of its own (`execd exec`); errors starting the interpreter
   * throw before any event. `interrupt(execution.id)` stops the cell while it runs.
   */
  async runOnce(language: string, code: string, cwd?: string): Promise<Execution> {
    return this.executions.start(await this.contexts.create(language, cwd), code)
  }

  /**
   * Interrupts the running cell of a context, or the unfinished execution with this id, and
   * resolves once it stopped; a cell that ignores the interrupt for the grace period is killed
   * with its interpreter (state lost). An execution still queued is cancelled, not the cell
   * running ahead of it (whose interrupt it used to be). False when the id is unknown here.
   */
  async interrupt(id: string): Promise<boolean> {
    const ctx = this.contexts.find(id)
    if (ctx) {
      this.executions.stopPacing(ctx.id)
      await ctx.interrupt(this.interruptGraceMs)
      return true
    }
    const exec = this.executions.findUnfinished(id)
    if (!exec) return false
    if (await this.executions.cancelQueued(id)) return true
    // Begun and unfinished: the cell the context runs now.
    this.executions.stopPacing(exec.contextId)
    await this.contexts.find(exec.contextId)?.interrupt(this.interruptGraceMs)
    return true
  }

  close(): Promise<void> {
    return this.contexts.closeAll()
  }
}

const info = (ctx: CodeContext): ContextInfo => ({ id: ctx.id, language: ctx.language })

export function openCodeOps(ctx: PluginContext, settings: CodeSettings): CodeOps {
  const ops = new CodeOps(ctx.runtimes, ctx.config, settings, ctx.log.child({ section: 'code' }), () =>
    ctx.registry.get(COMMAND_RUNNER),
  )
  ops.startExpiry()
  return ops
}
