/**
 * The python runtime: a long-lived python3 per context, driven by driver.py (embedded in the
 * executable, handed to the interpreter with -c). Any python3 >= 3.8, standard library only.
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { ownCwd } from '../../core/own-cwd'
// Type only: the context module (the embedded driver and its protocol) loads with the first
// context, not at start.
import type { PythonContext, PythonStart } from './context'
import { OPTIONS } from './options'

const MIN_MINOR = 8

async function probe(python: string): Promise<LanguageInfo> {
  try {
    // Process ownership (node:fs with it) loads with the first probe, not with the runtime list.
    const { spawnOwned } = await import('../../core/process')
    const p = spawnOwned([python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { timeoutMs: 10_000 })
    const [out, info] = await Promise.all([new Response(p.proc.stdout as ReadableStream).text(), p.exited])
    const version = out.trim()
    const [major, minor] = version.split('.').map(Number)
    if (info.code !== 0 || major !== 3 || minor! < MIN_MINOR) {
      return {
        language: 'python',
        available: false,
        detail: `${python}: needs python >= 3.${MIN_MINOR}, got '${version || `exit ${info.code}`}': ${SET_IT}`,
      }
    }
    return { language: 'python', available: true, detail: `${python} ${version}` }
  } catch (err) {
    return { language: 'python', available: false, detail: cannotRun(python, err), error: err }
  }
}

const SET_IT = `set --python or EXECD_PYTHON to a python 3.${MIN_MINOR} or later`

/**
 * Why `python` could not be started, in one plain line naming it and what sets it: Node's
 * words (`ENOENT: no such file or directory, posix_spawn '/x/python3'`) named a system call.
 */
function cannotRun(python: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code
  const why =
    code === 'ENOENT'
      ? 'not found'
      : code === 'EACCES'
        ? 'cannot be run (permission denied)'
        : `cannot be run (${code ?? (err as Error)?.message})`
  return `${python} ${why}: ${SET_IT}`
}

/** The interpreter to run; an empty --python means the default. */
const interpreterOf = (config: Config): string => settingsOf(config, OPTIONS).python || OPTIONS.python.default

const startContext = async (start: PythonStart): Promise<PythonContext> =>
  (await import('./context')).PythonContext.start(start)

/** The python runtime's state, one per app: probed versions, and the spare interpreter. */
class PythonRuntime implements Runtime {
  readonly name = 'python'
  readonly options = optionSpecs(OPTIONS)
  /** Asks the interpreter for its version; a working one's answer is cached per interpreter path. */
  private readonly probes = new Map<string, Promise<LanguageInfo>>()
  /**
   * One idle interpreter kept ready (same interpreter and environment), so creating a context
   * costs a chdir instead of a python start-up (~10x faster); replaced after each use.
   */
  private spare: { key: string; ctx: Promise<PythonContext | undefined> } | undefined
  /** Per interpreter path, the driver as the first interpreter there compiled it (PythonStart.driverCode). */
  private readonly compiled = new Map<string, Uint8Array>()
  private closed = false

  open(): Runtime {
    return new PythonRuntime()
  }

  async close(): Promise<void> {
    this.closed = true
    const spare = this.spare
    this.spare = undefined
    await (await spare?.ctx)?.close()
  }

  check(config: Config): void {
    settingsOf(config, OPTIONS)
  }

  async languages(config: Config): Promise<LanguageInfo[]> {
    const interpreter = interpreterOf(config)
    if (!this.probes.has(interpreter)) {
      const asked = probe(interpreter)
      this.probes.set(interpreter, asked)
      // Only a working interpreter is remembered: a spawn that failed with EAGAIN while the
      // machine was out of processes, or a python installed later, is asked again next time.
      void asked.then(
        info => !info.available && this.probes.get(interpreter) === asked && this.probes.delete(interpreter),
      )
    }
    return [await this.probes.get(interpreter)!]
  }

  async start(opts: StartOptions): Promise<RuntimeContext> {
    const python = interpreterOf(opts.config)
    const start: PythonStart = { python, cwd: opts.cwd, env: opts.env, log: opts.log }
    const key = `${start.python}\0${JSON.stringify(opts.env)}`
    const ctx = (await this.takeSpare(key, opts.cwd)) ?? (await this.startOne(start))
    if (settingsOf(opts.config, OPTIONS).spare > 0) this.prepareSpare(key, { ...start, cwd: ownCwd() })
    return ctx
  }

  /** Starts an interpreter, handing it the driver compiled already, or keeping the one it compiled. */
  private async startOne(start: PythonStart): Promise<PythonContext> {
    const ctx = await startContext({ ...start, driverCode: this.compiled.get(start.python) })
    if (ctx.driverCode) this.compiled.set(start.python, ctx.driverCode)
    ctx.driverCode = undefined
    return ctx
  }

  private async takeSpare(key: string, cwd: string): Promise<PythonContext | undefined> {
    const candidate = this.spare
    this.spare = undefined
    if (!candidate) return undefined
    const ctx = await candidate.ctx
    if (!ctx) return undefined
    if (candidate.key !== key || !ctx.alive) {
      void ctx.close()
      return undefined
    }
    try {
      await ctx.chdir(cwd)
      return ctx
    } catch {
      void ctx.close()
      return undefined
    }
  }

  private prepareSpare(key: string, start: PythonStart): void {
    // Started a moment later, so it does not compete with the new context's first cell.
    setTimeout(() => {
      if (this.spare || this.closed) return
      this.spare = { key, ctx: this.startOne(start).catch(() => undefined) }
    }, 200)
  }
}

/** The template in the runtime list; each app opens its own instance (`open`). */
export const python: Runtime = new PythonRuntime()
