/**
 * `execd fs <op> ...`: the files section's operations, on this machine or (remote mode) on a
 * running daemon. The table of verbs (fs-verbs.ts) becomes a cac program of its own: `execd fs
 * --help` lists the operations, `execd fs ls --help` describes one, and cac parses each one's
 * options; the one typed runs here, with its output written and its signals watched.
 */
import { cac, type CAC } from 'cac'
import { protectDashes, restoreValues, word } from './argv'
import { BROKEN_PIPE_EXIT } from './broken-pipe'
import { UsageError, report } from './errors'
import { OPS, type Flags, type FsOp } from './fs-verbs'
import { onStop, signalExit, stopSignal } from './lifecycle'
import { configFrom } from './options'
import { hint, withSuggestion } from './suggest'
import { wrapHelp } from './help-wrap'
import { remoteOf } from './remote'
import { remoteFs } from './remote-fs'
import { visible } from './visible'

/** The options every operation takes (completion.ts offers them with the operations' own). */
export const COMMON: [string, string][] = [
  ['--json', 'print JSON for scripts'],
  ['-v, --verbose', 'say what each change did'],
  ['--root <dir>', 'confine every path to this directory (local mode)'],
  ['--url <url>', 'drive the daemon at this URL (env EXECD_URL; token from EXECD_ACCESS_TOKEN)'],
]

/** The operations as a cac program (`execd fs` is its name in help). */
function program(): CAC {
  const cli = cac('execd fs')
  for (const op of OPS) {
    const command = cli.command(`${op.name} ${op.args}`, op.summary)
    for (const [raw, description] of [...(op.options ?? []), ...COMMON]) command.option(raw, description)
    for (const example of op.examples ?? []) command.example(example)
  }
  // The operations are listed once; "run any with --help" says the rest.
  cli.help(sections =>
    wrapHelp(
      sections.map(s =>
        s.title?.startsWith('For more info')
          ? { title: 'Each operation takes --help', body: '  $ execd fs ls --help' }
          : s,
      ),
    ),
  )
  return cli
}

/** `execd fs` with the words after `fs`. Returns the exit code (2: usage). */
export async function fsMain(words: string[]): Promise<number> {
  const cli = program()
  let json = words.includes('--json')
  try {
    cli.parse(['', '', ...protectDashes(cli, words)], { run: false })
    restoreValues(cli.options)
    if (cli.options.help) return 0 // cac printed it
    const op = OPS.find(o => o.name === cli.matchedCommandName)
    if (!op) {
      const [name] = cli.args
      if (name === undefined) {
        const option = words.find(w => w.startsWith('-') && w !== '--')
        if (option !== undefined) {
          const typed = option.split('=')[0]!
          throw new UsageError(
            `unknown option '${typed}' (an operation comes first: execd fs <op> ${typed}; see execd fs --help)`,
          )
        }
        cli.outputHelp()
        return 2
      }
      const ops = OPS.map(o => o.name)
      throw new UsageError(`unknown fs operation '${word(name)}' ${hint(word(name), ops, 'execd fs --help')}`)
    }
    const command = cli.matchedCommand!
    command.checkUnknownOptions()
    command.checkOptionValue()
    command.checkRequiredArgs()
    command.checkUnusedArgs()
    const flags = cli.options
    json = Boolean(flags.json)
    return await runOp(op, cli.args.map(word), flags)
  } catch (err) {
    // Ended by a signal: said by the exit status, as a shell says it.
    const signal = stopSignal()
    const op = cli.matchedCommand
    const help = op ? `execd fs ${op.name} --help` : 'execd fs --help'
    return signal ? signalExit(signal) : report(withSuggestion(err, op ? [op, cli.globalCommand] : [], help), json)
  }
}

async function runOp(op: FsOp, args: string[], flags: Flags): Promise<number> {
  const json = Boolean(flags.json)
  const remote = remoteOf(flags)
  if (remote && flags.root !== undefined)
    throw new UsageError('--root confines local paths: give it to the daemon (serve --root), not with --url')
  for (const path of pathsOf(op, args))
    if (path === '')
      throw new UsageError('invalid path: empty (use "." for the working directory)', 'INVALID_REQUEST_BODY')
  const fs = remote ? remoteFs(remote) : await (await import('./fs-ops')).localFs(configFrom(optionalRoot(flags)))
  const aborter = new AbortController()
  // A signal stops a transfer, which discards what it staged (and the exit hook removes a
  // partial download if the grace runs out first).
  const stopWatch = onStop(() => aborter.abort())
  // Awaited before the verb returns: the exit's own flush does not wait for a write larger than
  // the pipe takes at once (`fs stat` of 20,000 paths reached a pipe as its first 128 KiB).
  let written = Promise.resolve()
  let broken = false
  const write = (text: string) => {
    if (!text) return
    written = new Promise(resolve =>
      process.stdout.write(text, err => {
        broken ||= (err as NodeJS.ErrnoException | null | undefined)?.code === 'EPIPE'
        resolve()
      }),
    )
  }
  try {
    const code = await op.run({
      fs,
      signal: aborter.signal,
      args,
      arg(i) {
        const value = args[i]
        if (value === undefined) throw new UsageError(`missing argument ${i + 1} (execd fs ${op.name} --help)`)
        return value
      },
      flags,
      json,
      print: (value, human) => write(json ? `${JSON.stringify(value)}\n` : human),
      done(value, lines) {
        if (json) write(`${JSON.stringify(value)}\n`)
        else if (flags.verbose) write(lines.map(line => `${visible(line)}\n`).join(''))
      },
    })
    await written
    // Its reader went away before it was all written (| head): the status a pipeline expects.
    return broken && !code ? BROKEN_PIPE_EXIT : (code ?? 0)
  } finally {
    stopWatch()
    await fs.close()
  }
}

/** The arguments that are paths (`<path>`, `[dest]`, `<...path>`), from the operation's syntax. */
function pathsOf(op: FsOp, args: string[]): string[] {
  const syntax = op.args.split(' ').map(a => /^[<[](\.\.\.)?(\w+)[>\]]$/.exec(a))
  const last = syntax.at(-1)
  return args.filter((_, i) => {
    const at = i < syntax.length ? syntax[i] : last?.[1] ? last : undefined
    return ['path', 'src', 'dest', 'dir'].includes(at?.[2] ?? '')
  })
}

const optionalRoot = (flags: Flags) => (flags.root === undefined ? {} : { root: String(flags.root) })
