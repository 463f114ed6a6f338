/**
 * `execd exec <language> [code | -f file | -]`: runs code through the same runtime as
 * `POST /code`, without HTTP. Output goes to the terminal, text results are printed, images
 * are written to files (path printed), and an error exits 1. `--json` prints the events.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { openSections } from '../core/app'
import { encodeEvent, type ExecEvent } from '../core/events'
import { createLogger } from '../core/log'
import { killAll } from '../core/process'
import { BROKEN_PIPE_EXIT, watchBrokenPipe } from './broken-pipe'
import { code as codeSection } from '../plugins/code'
import { command } from '../plugins/command'
import { plugins, runtimes } from '../plugins'
import { configFrom, parseEnvPairs } from './options'

interface ExecOptions {
  file?: string
  cwd?: string
  env?: string | string[]
  timeout?: string | number
  json?: boolean
  list?: boolean
  [flag: string]: unknown
}

const IMAGE_EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/svg+xml': 'svg' }

export async function execCode(language: string | undefined, code: string[], options: ExecOptions): Promise<number> {
  // Contexts inherit execd's environment, so the CLI's --env pairs go there.
  Object.assign(process.env, parseEnvPairs(options.env))
  // One context, then exit: no spare interpreter to keep ready.
  const config = configFrom({ 'python-spare': '0', ...options })
  // The code section, and the command section it sends shell languages to (if listed).
  const needed = plugins.filter(p => p === codeSection || p === command)
  const sections = await openSections({ plugins: needed, runtimes, config, log: createLogger('warn') })
  const service = sections.get(codeSection).ops
  try {
    if (options.list) return await listLanguages(service, !!options.json)
    if (!language) return usage('which language? (execd exec --list shows them)')
    const source = await readSource(code, options.file)
    if (source === undefined) return usage('no code: pass it as an argument, with -f FILE, or on stdin (-)')
    const execution = await service.runOnce(language, source, options.cwd)
    let interrupted = 0
    process.on('SIGINT', () => {
      // The first Ctrl-C interrupts the cell (state kept, as over HTTP); a second one gives up.
      if (interrupted++ > 0) process.exit(130)
      void service.interrupt(execution.id)
    })
    const pipe = watchBrokenPipe(() => void service.interrupt(execution.id))
    const timeout = Number(options.timeout ?? 0)
    const timer = timeout > 0 ? setTimeout(() => void service.interrupt(execution.id), timeout) : undefined
    let failed = false
    let images = 0
    for await (const { event } of execution.journal.read(0)) {
      if (event.type === 'error') failed = true
      if (pipe.broken) continue // its reader has gone: the cell is being interrupted
      if (options.json) process.stdout.write(`${encodeEvent(event)}\n`)
      else images += render(event, execution.id, images)
    }
    clearTimeout(timer)
    pipe.dispose()
    return pipe.broken ? BROKEN_PIPE_EXIT : failed ? 1 : 0
  } finally {
    await sections.close()
    await killAll('close', 500)
  }
}

async function listLanguages(
  service: { languages(): Promise<{ language: string; available: boolean; runtime: string; detail?: string }[]> },
  json: boolean,
): Promise<number> {
  const languages = await service.languages()
  for (const l of languages) {
    if (json) process.stdout.write(`${JSON.stringify(l)}\n`)
    else
      process.stdout.write(
        `${l.language.padEnd(12)} ${(l.available ? 'available' : 'missing').padEnd(10)} ${l.runtime.padEnd(10)} ${l.detail ?? ''}\n`,
      )
  }
  return 0
}

/** Usage errors exit 2, like the other verbs. */
function usage(message: string): number {
  process.stderr.write(`execd: ${message}\n`)
  return 2
}

async function readSource(code: string[], file: string | undefined): Promise<string | undefined> {
  if (file === '-' || (!file && code.length === 1 && code[0] === '-')) return await Bun.stdin.text()
  if (file) return await Bun.file(file).text()
  if (code.length) return code.join(' ')
  if (!process.stdin.isTTY) return await Bun.stdin.text()
  return undefined
}

/** Prints one event for people; returns how many image files it wrote. */
function render(event: ExecEvent, executionId: string, imagesSoFar: number): number {
  switch (event.type) {
    case 'stdout':
      process.stdout.write(event.text ?? '')
      return 0
    case 'stderr':
      process.stderr.write(event.text ?? '')
      return 0
    case 'status':
      if (event.state_lost) process.stderr.write(`execd: ${event.text}\n`)
      return 0
    case 'error': {
      const e = event.error!
      const lines = e.traceback.length ? e.traceback : [`${e.ename}: ${e.evalue}`]
      process.stderr.write(`${lines.join('\n')}\n`)
      return 0
    }
    case 'result':
      return renderResult(event.results ?? {}, executionId, imagesSoFar)
    default:
      return 0
  }
}

function renderResult(results: Record<string, unknown>, executionId: string, imagesSoFar: number): number {
  const image = Object.keys(IMAGE_EXT).find(mime => typeof results[mime] === 'string')
  if (image) {
    const path = resolve(`execd-${executionId.slice(0, 8)}-${imagesSoFar + 1}.${IMAGE_EXT[image]}`)
    const data = results[image] as string
    writeFileSync(path, image === 'image/svg+xml' ? data : Buffer.from(data, 'base64'))
    process.stdout.write(`[${image} written to ${path}]\n`)
    return 1
  }
  const text = results['text/plain'] ?? results.text
  if (typeof text === 'string') process.stdout.write(`${text}\n`)
  return 0
}
