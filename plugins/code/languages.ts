/**
 * Which runtime serves a language: the first native runtime in the plugin list that offers it
 * and can run it here; the Jupyter bridge only when no native runtime can, unless
 * --prefer-jupyter puts it first.
 */
import type { Config } from '../../core/config'
import { ExecdError, clip, limitReached } from '../../core/errors'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import { PERIODS } from '../../core/periods'
import { within } from '../../core/timers'
import { closest } from '../../core/closest'

const JUPYTER = 'jupyter'

/**
 * The limit's 503 when a probe failed for want of an fd or a process (its error, not its
 * detail's words: those name the interpreter's path): it says nothing of the interpreter.
 */
const limitOf = (e: LanguageInfo | undefined) => (e && !e.available ? limitReached(e.error) : undefined)
const PROBE_TTL_MS = PERIODS.probe
const PROBE_LIMIT_MS = 5000
/** How long a request for a language waits for a runtime still probing past PROBE_LIMIT_MS. */
const LATE_PROBE_LIMIT_MS = 30_000

/** A language as /code/languages lists it: a probe's error stays inside (it names execd's paths). */
export interface LanguageEntry extends Omit<LanguageInfo, 'error'> {
  /** The runtime that serves it (the one chosen when several offer it). */
  runtime: string
}

type Probed = LanguageInfo & { runtime: string }

/** A probe's answer; `late` is the whole answer when some runtime was still probing at the limit. */
interface Probe {
  entries: Probed[]
  late?: Promise<Probed[]>
}

export class LanguageCatalog {
  private cache: { at: number; probe: Promise<Probe> } | undefined

  constructor(
    private readonly runtimes: readonly Runtime[],
    private readonly config: Config,
    private readonly preferJupyter: boolean,
    /** How long a listing waits for a runtime's probe (an unreachable Jupyter must not stall it). */
    private readonly probeLimitMs = PROBE_LIMIT_MS,
  ) {}

  /** Every language any runtime offers, one entry each: the runtime that would serve it. */
  async list(): Promise<LanguageEntry[]> {
    return (await this.probed()).entries.map(({ error: _, ...entry }) => entry)
  }

  private probed(): Promise<Probe> {
    if (!this.cache || performance.now() - this.cache.at > PROBE_TTL_MS) {
      const probe = this.probe()
      this.cache = { at: performance.now(), probe }
      // A probe that found no fd or process free says nothing of the interpreter: such a list
      // is not kept (kept, python stayed refused for 10 s after fds or pids had freed up). Nor
      // one a slow runtime was missing from (at load 15, python's probe past the limit left
      // python an unknown language for 10 s).
      void probe.then(({ entries, late }) => {
        if (this.cache?.probe === probe && (late || entries.some(e => limitOf(e)))) this.cache = undefined
      })
    }
    return this.cache.probe
  }

  /** The runtime for `language`; 400 naming the available languages when there is none. */
  async resolve(language: string): Promise<Runtime> {
    const probe = await this.probed()
    let entries = probe.entries
    let entry = entries.find(e => e.language === language)
    // A language a slow runtime may yet offer waits for it rather than being refused.
    if (!entry?.available && probe.late) {
      entries = await probe.late
      entry = entries.find(e => e.language === language)
    }
    if (entry?.available) return this.runtimes.find(r => r.name === entry.runtime)!
    // The limit's 503, not a 400 saying the language is missing.
    const full = limitOf(entry)
    if (full) throw full
    const available = entries.filter(e => e.available).map(e => e.language)
    const names = available.length ? available.join(', ') : 'none'
    const why = entry
      ? `language '${language}' is not available here (${entry.detail ?? 'interpreter missing'})`
      : `unknown language '${clip(language, 64)}'${guess(language, available)}`
    throw new ExecdError('INVALID_REQUEST_BODY', `${why}; available languages: ${names}`)
  }

  private ordered(): Runtime[] {
    const native = this.runtimes.filter(r => r.name !== JUPYTER)
    const bridge = this.runtimes.filter(r => r.name === JUPYTER)
    return this.preferJupyter ? [...bridge, ...native] : [...native, ...bridge]
  }

  private async probe(): Promise<Probe> {
    // A runtime whose probe fails offers nothing rather than breaking every language.
    const asked = this.ordered().map(r => ({ r, list: r.languages(this.config).catch(() => [] as LanguageInfo[]) }))
    const offers = await Promise.all(
      asked.map(async ({ r, list }) => ({ r, list: await within(list, this.probeLimitMs) })),
    )
    const entries = merged(offers.map(({ r, list }) => ({ r, list: list === 'timeout' ? [] : list })))
    if (!offers.some(o => o.list === 'timeout')) return { entries }
    // The rest, bounded again: a runtime that never answers (an unreachable Jupyter) offers nothing.
    const late = Promise.all(
      asked.map(async ({ r, list }) => {
        const answer = await within(list, LATE_PROBE_LIMIT_MS)
        return { r, list: answer === 'timeout' ? [] : answer }
      }),
    ).then(merged)
    return { entries, late }
  }
}

/** One entry per language, in the runtimes' order of preference. */
function merged(offers: { r: Runtime; list: LanguageInfo[] }[]): Probed[] {
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

/** ` (did you mean python?)` for `pyhton`, when one language is that near. */
function guess(language: string, available: readonly string[]): string {
  const near = closest(language, available)
  return near ? ` (did you mean ${near}?)` : ''
}
