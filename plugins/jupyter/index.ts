/**
 * The Jupyter bridge: with `--jupyter-host` and `--jupyter-token` (the reference's deployment
 * mode), every language a kernelspec of that server offers becomes a language of execd,
 * executed over Jupyter's REST + WebSocket protocol. The server owns the kernel processes.
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import { ExecdError } from '../../core/errors'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import type { JupyterServer, KernelSpec, KernelSpecs } from './rest'
import { OPTIONS } from './options'

const SPECS_TTL_MS = 5_000
const FAILURE_TTL_MS = 1_000
const POLL_MS = 2_000

/**
 * The configured server, or null when the bridge is off. The bridge's modules load on its
 * first use, not with execd: serve's start does not wait for them.
 */
async function serverFrom(config: Config): Promise<JupyterServer | null> {
  const { host, token } = settingsOf(config, OPTIONS)
  if (!host || !token) return null
  const { JupyterServer } = await import('./rest')
  return new JupyterServer(host, token)
}

/**
 * The kernelspec serving `language`: the server's default if it speaks it, else the first
 * by name — deterministic, where the reference picked at random and skipped `python3`.
 */
export function pickSpec(specs: KernelSpecs, language: string): KernelSpec | undefined {
  const lang = language.toLowerCase()
  const matches = specs.specs.filter(s => s.language.toLowerCase() === lang)
  return matches.find(s => s.name === specs.default) ?? matches.sort((a, b) => a.name.localeCompare(b.name))[0]
}

/** Python kernels start where the server's root says; move them to the context's cwd. */
const CHDIR: Record<string, (cwd: string) => string> = {
  python: cwd =>
    `import os as __execd_os\nif __execd_os.path.isdir(${JSON.stringify(cwd)}): __execd_os.chdir(${JSON.stringify(cwd)})\ndel __execd_os`,
}

class JupyterRuntime implements Runtime {
  readonly name = 'jupyter'
  readonly options = optionSpecs(OPTIONS)
  private readonly specsCache = new Map<string, { at: number; ttl: number; specs: Promise<KernelSpecs> }>()

  open(): Runtime {
    return new JupyterRuntime()
  }

  /** Kernelspecs, cached briefly: listings are frequent and the set rarely changes. */
  private kernelSpecs(server: JupyterServer): Promise<KernelSpecs> {
    const key = `${server.base.href}\n${server.token}`
    const hit = this.specsCache.get(key)
    if (hit && performance.now() - hit.at < hit.ttl) return hit.specs
    const entry = { at: performance.now(), ttl: SPECS_TTL_MS, specs: server.kernelSpecs() }
    entry.specs.catch(() => (entry.ttl = FAILURE_TTL_MS))
    this.specsCache.set(key, entry)
    return entry.specs
  }

  async languages(config: Config): Promise<LanguageInfo[]> {
    const server = await serverFrom(config)
    if (!server) return []
    let specs: KernelSpecs
    try {
      specs = await this.kernelSpecs(server)
    } catch {
      return []
    }
    const langs = [...new Set(specs.specs.map(s => s.language.toLowerCase()))].sort()
    return langs.map(language => {
      const spec = pickSpec(specs, language)!
      return {
        language,
        available: true,
        detail: `jupyter kernel ${spec.name} (${spec.displayName}) at ${server.base.origin}`,
      }
    })
  }

  async start(opts: StartOptions): Promise<RuntimeContext> {
    const server = await serverFrom(opts.config)
    if (!server) {
      throw new ExecdError('RUNTIME_ERROR', 'the Jupyter bridge is not configured (--jupyter-host and --jupyter-token)')
    }
    const spec = pickSpec(await this.kernelSpecs(server), opts.language)
    if (!spec) {
      throw new ExecdError(
        'INVALID_REQUEST_BODY',
        `the Jupyter server at ${server.base.origin} has no kernel for '${opts.language}'`,
      )
    }
    // The API path is relative to the server's root: right when the root is '/', and the
    // server walks up to its root otherwise.
    const model = await server.startKernel(spec.name, opts.cwd || undefined)
    const log = opts.log.child({ runtime: 'jupyter', kernel: model.id, kernelspec: spec.name })
    const { replyGraceMs } = settingsOf(opts.config, OPTIONS)
    const { JupyterKernel } = await import('./kernel')
    const kernel = new JupyterKernel(server, model.id, log, { replyGraceMs, pollMs: POLL_MS })
    try {
      await kernel.connect()
      // Own keys only: a kernelspec of language 'constructor' or '__proto__' found Object's.
      const lang = spec.language.toLowerCase()
      const chdir = Object.hasOwn(CHDIR, lang) ? CHDIR[lang] : undefined
      if (chdir && opts.cwd) await kernel.runQuietly(chdir(opts.cwd))
    } catch (e) {
      await kernel.close()
      throw new ExecdError('RUNTIME_ERROR', `jupyter kernel ${spec.name} did not start: ${(e as Error).message}`, {
        cause: e,
      })
    }
    return kernel
  }
}

/** The template in the runtime list; each app opens its own instance (`open`). */
export const jupyter: Runtime = new JupyterRuntime()
