/**
 * The javascript runtime: languages 'javascript' and 'typescript', run by the execd
 * executable itself acting as Bun (BUN_BE_BUN=1), so a container needs no Node or Bun.
 */
import type { LanguageInfo, Runtime } from '../../core/plugin'

const LANGUAGES = ['javascript', 'typescript'] as const

export const javascript: Runtime = {
  name: 'javascript',

  async languages(): Promise<LanguageInfo[]> {
    // Every Bun executable can act as Bun; nothing to probe.
    const detail = `bun ${Bun.version} (the execd executable: ${process.execPath})`
    return LANGUAGES.map(language => ({ language, available: true, detail }))
  },

  async start(opts) {
    if (!(LANGUAGES as readonly string[]).includes(opts.language)) {
      throw new Error(`the javascript runtime does not serve '${opts.language}'`)
    }
    // Loaded with the first context, not at start: it carries the driver and the happy-dom
    // bundle (about 1 MB of source text).
    const { JsContext } = await import('./context')
    return JsContext.start({ ...opts, startTimeoutMs: 20_000 })
  },
}
