/**
 * Which runtime serves a language: the first native runtime in the plugin list that offers it
 * and can run it here; the Jupyter bridge only when no native runtime can, unless
 * --prefer-jupyter puts it first.
 */
import type { Config } from '../../core/config'
import { ExecdError, limitReached } from '../../core/errors'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import { PERIODS } from '../../core/periods'
import { within } from '../../core/timers'

const JUPYTER = 'jupyter'

/**
 * The limit's 503 when a probe failed for want of an fd or a process (its error, not its
 * detail's words: those name the interpreter's path): it says nothing of the interpreter.
 */
const limitOf = (e: LanguageInfo | undefined) => (e && !e.available ? limitReached(e.error) : undefined)
const PROBE_TTL_MS = PERIODS.probe
const PROBE_LIMIT_MS = 5000

/** A language as /code/languages lists it: a probe's error stays inside (it names execd's paths). */
export interface LanguageEntry extends Omit<LanguageInfo, 'error'> {
  /** The runtime that serves it (the one chosen when several offer it). */
  runtime: string
}

type Probed = LanguageInfo & { runtime: string }

export class LanguageCatalog {
  private cache: { at: number; entries: Promise<Probed[]> } | undefined

  constructor(
    private readonly runtimes: readonly Runtime[],
    private readonly config: Config,
    private readonly preferJupyter: boolean,
  ) {}

  /** Every language any runtime offers, one entry each: the runtime that would serve it. */
  async list(): Promise<LanguageEntry[]> {
    return (await this.probed()).map(({ error: _, ...entry }) => entry)
  }

  private probed(): Promise<Probed[]> {
    if (!this.cache || performance.now() - this.cache.at > PROBE_TTL_MS) {
      const entries = this.probe()
      this.cache = { at: performance.now(), entries }
      // A probe that found no fd or process free says nothing of the interpreter: such a list
      // is not kept (kept, python stayed refused for 10 s after fds or pids had freed up).
      void entries.then(list => {
        if (this.cache?.entries === entries && list.some(e => limitOf(e))) this.cache = undefined
      })
    }
    return this.cache.entries
  }

  /** The runtime for `language`; 400 naming the available languages when there is none. */
  async resolve(language: string): Promise<Runtime> {
    const entries = await this.probed()
    const entry = entries.find(e => e.language === language)
    if (entry?.available) return this.runtimes.find(r => r.name === entry.runtime)!
    // The limit's 503, not a 400 saying the language is missing.
    const full = limitOf(entry)
    if (full) throw full
    const available = entries.filter(e => e.available).map(e => e.language)
    const names = available.length ? available.join(', ') : 'none'
    const why = entry
      ? `language '${language}' is not available here (${entry.detail ?? 'interpreter missing'})`
      : `unknown language '${language}'`
    throw new ExecdError('INVALID_REQUEST_BODY', `${why}; available languages: ${names}`)
  }

  private ordered(): Runtime[] {
    const native = this.runtimes.filter(r => r.name !== JUPYTER)
    const bridge = this.runtimes.filter(r => r.name === JUPYTER)
    return this.preferJupyter ? [...bridge, ...native] : [...native, ...bridge]
  }

  private async probe(): Promise<Probed[]> {
    const ordered = this.ordered()
    const offers = await Promise.all(
      // A runtime whose probe fails or hangs (an unreachable Jupyter) offers nothing rather
      // than breaking or stalling every language.
      ordered.map(async r => {
        const list = await within(r.languages(this.config), PROBE_LIMIT_MS).catch(() => 'timeout' as const)
        return { r, list: list === 'timeout' ? [] : list }
      }),
    )
    const byLanguage = new Map<string, Probed>()
    for (const { r, list } of offers) {
      for (const info of list) {
        const seen = byLanguage.get(info.language)
        // The first available runtime wins; an unavailable one only until an available one shows up.
        if (!seen || (!seen.available && info.available)) byLanguage.set(info.language, { ...info, runtime: r.name })
      }
    }
    return [...byLanguage.values()].sort((a, b) => a.language.localeCompare(b.language))
  }
}
