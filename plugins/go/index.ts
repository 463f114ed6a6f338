/**
 * The `go` runtime, gonb-style: a context keeps the imports and package-level declarations of
 * its cells (functions, types, constants, variables; a later one of the same name replaces the
 * earlier), and runs each cell as a program compiled from all of them plus the cell's
 * statements as `main`. Go keeps no heap between two programs, so statements of earlier cells
 * do not run again (their effects are gone) while package-level `var` initializers and `init`
 * functions do, in every cell. Needs a Go toolchain (`--go`, default `go` on PATH).
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { OPTIONS } from './options'
// The toolchain and the context (with the kernel's embedded Go sources) load when a go
// language is first asked for, not at start.
const toolchain = () => import('./toolchain')

const toolchainOf = async (config: Config) =>
  (await toolchain()).findGo(settingsOf(config, OPTIONS).go || OPTIONS.go.default)

export const go: Runtime = {
  name: 'go',
  options: optionSpecs(OPTIONS),

  async languages(config): Promise<LanguageInfo[]> {
    const tc = await toolchainOf(config)
    if ('missing' in tc) return [{ language: 'go', available: false, detail: tc.missing, error: tc.error }]
    return [{ language: 'go', available: true, detail: `${tc.go} (${tc.version})` }]
  },

  async start(opts: StartOptions): Promise<RuntimeContext> {
    if (opts.language !== 'go') throw new Error(`the go runtime does not serve '${opts.language}'`)
    const tc = await toolchainOf(opts.config)
    if ('missing' in tc) throw new Error(`go is unavailable: ${tc.missing}`)
    const kernel = await (await toolchain()).kernelBinary(tc)
    const { GoContext } = await import('./context')
    return GoContext.start({ ...opts, toolchain: tc, kernel })
  },
}
