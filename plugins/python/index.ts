/**
 * The python runtime: a long-lived python3 per context, driven by driver.py (embedded in the
 * executable, handed to the interpreter with -c). Any python3 >= 3.8, standard library only.
 */
import type { Config } from '../../core/config'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { spawnOwned } from '../../core/process'
import { PythonContext, type PythonStart } from './context'

const MIN_MINOR = 8

/** Asks the interpreter for its version; the answer is cached per interpreter path. */
const probes = new Map<string, Promise<LanguageInfo>>()

async function probe(python: string): Promise<LanguageInfo> {
  try {
    const p = spawnOwned([python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { timeoutMs: 10_000 })
    const [out, info] = await Promise.all([new Response(p.proc.stdout as ReadableStream).text(), p.exited])
    const version = out.trim()
    const [major, minor] = version.split('.').map(Number)
    if (info.code !== 0 || major !== 3 || minor! < MIN_MINOR) {
      return {
        language: 'python',
        available: false,
        detail: `${python}: needs python >= 3.${MIN_MINOR}, got '${version || `exit ${info.code}`}'`,
      }
    }
    return { language: 'python', available: true, detail: `${python} ${version}` }
  } catch (err) {
    return { language: 'python', available: false, detail: `${python}: ${(err as Error).message}` }
  }
}

export const pythonInterpreter = (config: Config): string => config.string('python', 'python3') || 'python3'

/**
 * One idle interpreter kept ready (same interpreter and environment), so creating a context
 * costs a chdir instead of a python start-up (~10x faster); replaced after each use.
 */
let spare: { key: string; ctx: Promise<PythonContext | undefined> } | undefined

async function takeSpare(key: string, cwd: string): Promise<PythonContext | undefined> {
  const candidate = spare
  spare = undefined
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

function prepareSpare(key: string, start: PythonStart): void {
  // Started a moment later, so it does not compete with the new context's first cell.
  setTimeout(() => {
    if (spare) return
    spare = { key, ctx: PythonContext.start(start).catch(() => undefined) }
  }, 200)
}

export const python: Runtime = {
  name: 'python',
  options: [
    {
      flag: 'python',
      env: 'EXECD_PYTHON',
      description: 'python interpreter of the python runtime',
      default: 'python3',
    },
    {
      flag: 'python-spare',
      env: 'EXECD_PYTHON_SPARE',
      description: 'keep an idle python interpreter ready so a new context starts at once (1 or 0)',
      default: '1',
    },
  ],
  async languages(config) {
    const interpreter = pythonInterpreter(config)
    if (!probes.has(interpreter)) probes.set(interpreter, probe(interpreter))
    return [await probes.get(interpreter)!]
  },
  async start(opts: StartOptions): Promise<RuntimeContext> {
    const start: PythonStart = { python: pythonInterpreter(opts.config), cwd: opts.cwd, env: opts.env, log: opts.log }
    const key = `${start.python}\0${JSON.stringify(opts.env)}`
    const ctx = (await takeSpare(key, opts.cwd)) ?? (await PythonContext.start(start))
    if (opts.config.int('python-spare', 1) > 0) prepareSpare(key, { ...start, cwd: process.cwd() })
    return ctx
  },
}
