/**
 * The python runtime: a long-lived python3 per context, driven by driver.py (embedded in the
 * executable, handed to the interpreter with -c). Any python3 >= 3.8, standard library only.
 */
import type { Config } from '../../core/config'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { spawnOwned } from '../../core/process'
import { PythonContext } from './context'

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
      return { language: 'python', available: false, detail: `${python}: needs python >= 3.${MIN_MINOR}, got '${version || `exit ${info.code}`}'` }
    }
    return { language: 'python', available: true, detail: `${python} ${version}` }
  } catch (err) {
    return { language: 'python', available: false, detail: `${python}: ${(err as Error).message}` }
  }
}

export const pythonInterpreter = (config: Config): string => config.string('python', 'python3') || 'python3'

export const python: Runtime = {
  name: 'python',
  options: [
    { flag: 'python', env: 'EXECD_PYTHON', description: 'python interpreter of the python runtime', default: 'python3' },
  ],
  async languages(config) {
    const interpreter = pythonInterpreter(config)
    if (!probes.has(interpreter)) probes.set(interpreter, probe(interpreter))
    return [await probes.get(interpreter)!]
  },
  async start(opts: StartOptions): Promise<RuntimeContext> {
    return PythonContext.start({ python: pythonInterpreter(opts.config), cwd: opts.cwd, env: opts.env, log: opts.log })
  },
}
