/**
 * The contexts of the code section: creation (capacity per language, cwd), the default context
 * of each language, lookup, idle expiry and deletion. Each context owns its interpreter and
 * queue (`context.ts`).
 */
import type { Config } from '../../core/config'
import { ExecdError, shuttingDown } from '../../core/errors'
import type { Held } from '../../core/held-slots'
import { Capacity, IdleExpiry } from '../../core/limits'
import type { Logger } from '../../core/log'
import type { Runtime } from '../../core/plugin'
import { workRoot, workingDir } from '../../core/workdir'
import { ownCwd } from '../../core/own-cwd'
import { CodeContext } from './context'
import { DEFAULT_CONTEXT_LIMITS, type ContextLimits } from './defaults'
import type { LanguageCatalog } from './languages'

/**
 * The 503 of a request without a context id when the language's slots are all taken by
 * contexts created by id: its default context cannot be made. The limit's own words ("close one
 * or raise the limit") left the caller, who made no context, at a loss: it says which contexts
 * hold the slots and that a run in one of them needs no new one. The slots are not reserved for
 * the default: a client that only uses its own contexts keeps all of --max-contexts.
 */
const noRoomForDefault = (language: string, max: number) =>
  new ExecdError(
    'SERVICE_UNAVAILABLE',
    `limit reached: at most ${max} ${language} contexts (--max-contexts), all taken by contexts created with ` +
      `POST /code/context, so the default ${language} context of a request without context.id cannot start; ` +
      'run the code in one of them (context.id), delete one, or raise --max-contexts',
  )

interface DefaultContext {
  pending: Promise<CodeContext>
  ctx?: CodeContext
}

export class ContextStore {
  private readonly contexts = new Map<string, CodeContext>()
  /** Per language, the default context's start and, once started, the context. */
  private readonly defaults = new Map<string, DefaultContext>()
  /** Per language, created once the language is known to exist (no entry per made-up name). */
  private readonly capacities = new Map<string, Capacity>()
  private readonly idle: IdleExpiry<string>
  /** Set by closeAll (shutdown): a start still under way ends in a 503 that says so. */
  private closing = false
  /** This daemon's --root, which every context's directory stays within. */
  private readonly root: string | undefined

  constructor(
    private readonly catalog: LanguageCatalog,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly limits: ContextLimits = DEFAULT_CONTEXT_LIMITS,
  ) {
    this.idle = new IdleExpiry(limits.idleMs, id => this.expire(id))
    this.root = workRoot(config)
  }

  /** The context's directory (core/workdir.ts: expanded, confined, created if missing); execd's own by default. */
  private prepareCwd(cwd: string | undefined): string {
    return workingDir('code context', cwd, process.env, this.root) ?? ownCwd()
  }

  /** Starts closing idle contexts (serve; a CLI run has one context and no need). */
  startExpiry(): void {
    this.idle.start()
  }

  /**
   * Creates a context and starts its interpreter (errors surface here, before any stream);
   * 503 when its language has `maxPerLanguage` contexts already.
   */
  async create(language: string, cwd?: string, asDefault = false): Promise<CodeContext> {
    const runtime = await this.catalog.resolve(language)
    if (this.closing) throw shuttingDown()
    const capacity = this.capacityOf(language)
    if (asDefault && capacity.full) throw noRoomForDefault(language, capacity.max)
    const release = capacity.acquire()
    try {
      return await this.open(language, runtime, cwd, release)
    } catch (err) {
      release()
      throw err
    }
  }

  private async open(language: string, runtime: Runtime, cwd: string | undefined, release: () => void) {
    const ctx: CodeContext = new CodeContext(language, this.prepareCwd(cwd), runtime, {
      config: this.config,
      log: this.log,
      release,
      touch: () => this.idle.touch(ctx.id),
    })
    try {
      await ctx.start()
    } catch (err) {
      // The shutdown killed its compiler or interpreter: a 500 with the tool's empty stderr
      // ("javac failed: ") told the client nothing.
      throw this.closing ? shuttingDown(err) : err
    }
    if (this.closing) {
      // closeAll ran while it started and never saw it.
      await ctx.close()
      throw shuttingDown()
    }
    this.contexts.set(ctx.id, ctx)
    this.idle.touch(ctx.id)
    return ctx
  }

  /** The language's default context, created on first use and shared by id-less requests. */
  defaultFor(language: string): Promise<CodeContext> {
    let entry = this.defaults.get(language)
    if (!entry) {
      const made: DefaultContext = { pending: this.create(language, undefined, true) }
      this.defaults.set(language, made)
      made.pending.then(
        ctx => (made.ctx = ctx),
        () => this.forgetDefault(language, made),
      )
      entry = made
    }
    const known = entry
    return known.pending.then(ctx => {
      if (!ctx.closed) return ctx
      this.forgetDefault(language, known)
      return this.defaultFor(language)
    })
  }

  /** Forgets `entry` as the language's default, unless a newer one has taken its place. */
  private forgetDefault(language: string, entry: DefaultContext): void {
    if (this.defaults.get(language) === entry) this.defaults.delete(language)
  }

  get(id: string): CodeContext {
    const ctx = this.contexts.get(id)
    if (!ctx) throw new ExecdError('CONTEXT_NOT_FOUND', `context ${id} not found`)
    return ctx
  }

  find(id: string): CodeContext | undefined {
    return this.contexts.get(id)
  }

  list(language?: string): CodeContext[] {
    return [...this.contexts.values()].filter(c => !language || c.language === language)
  }

  async delete(id: string): Promise<void> {
    const ctx = this.get(id)
    this.contexts.delete(id)
    // Closed at once: a turn queued behind this call must find the context deleted.
    const closed = ctx.close()
    this.idle.forget(id)
    // Known without waiting: awaiting every language's default start here held a DELETE (and
    // the shutdown) until an unrelated java or go context had started, for seconds. A default
    // not yet marked started is not this one; if it was (the turn between), defaultFor finds
    // it closed and starts another.
    const entry = this.defaults.get(ctx.language)
    if (entry?.ctx === ctx) this.defaults.delete(ctx.language)
    await closed
  }

  async deleteLanguage(language: string): Promise<void> {
    await Promise.all(this.list(language).map(c => this.delete(c.id)))
  }

  async closeAll(): Promise<void> {
    this.closing = true
    this.idle.stop()
    await Promise.all([...this.contexts.keys()].map(id => this.delete(id).catch(() => {})))
  }

  /** Who holds each language's contexts (core/held-slots.ts): the languages asked for so far. */
  held(): Held[] {
    return [...this.capacities.values()].map(c => c.held())
  }

  private capacityOf(language: string): Capacity {
    let capacity = this.capacities.get(language)
    if (!capacity) {
      capacity = new Capacity(
        `${language} contexts`,
        this.limits.maxPerLanguage,
        'max-contexts',
        () => this.list(language).length,
      )
      this.capacities.set(language, capacity)
    }
    return capacity
  }

  /** An idle context is closed and forgotten (its id answers 404); one with work queued is not idle. */
  private async expire(id: string): Promise<void> {
    const ctx = this.contexts.get(id)
    if (!ctx) return
    if (ctx.pending > 0) return this.idle.touch(id)
    this.log.info('closing idle context', { context: id, language: ctx.language })
    await this.delete(id)
  }
}
