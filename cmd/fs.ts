/**
 * `execd fs <op> ...`: the files section's operations, on this machine or (remote mode) on a
 * running daemon. The table of verbs (fs-verbs.ts) becomes a cac program of its own: `execd fs
 * --help` lists the operations, `execd fs ls --help` describes one, and cac parses each one's
 * options; the one typed runs here, with its output written and its signals watched.
 */
import { cac, type CAC } from 'cac'
import type { RawPath } from '../core/beneath/path-scope'
import { expandHome, expandVariables } from '../core/workdir'
import { protectDashes, restoreValues, word } from './argv'
import { BROKEN_PIPE_EXIT } from './broken-pipe'
import { UsageError, report } from './errors'
import { OPS, type Flags, type FsOp } from './fs-verbs'
import { onStop, signalExit, stopSignal } from './lifecycle'
import { configFrom } from './options'
import { hint, withSuggestion } from './suggest'
import { helpOf, printHelp, wrapHelp } from './help-wrap'
import { type ArgBytes, rawWords } from './raw-argv'
import { remoteOf } from './remote'
import { ANSWER_OPTION } from './route-url'
import { SILENCE_OPTION } from './daemon-quiet'
import { remoteFs } from './remote-fs'
import { visible } from './visible'

/** The options every operation takes (completion.ts offers them with the operations' own). */
export const COMMON: [string, string][] = [
  ['--json', 'print JSON for scripts'],
  ['-v, --verbose', 'say what each change did'],
  ['--root <dir>', 'confine every path to this directory (local mode)'],
  ['--url <url>', 'drive the daemon at this URL (env EXECD_URL; token from EXECD_ACCESS_TOKEN)'],
  ANSWER_OPTION,
  SILENCE_OPTION,
]

/** The operations as a cac program (`execd fs` is its name in help). */
function program(): CAC {
  const cli = cac('execd fs')
  for (const op of OPS) {
    const command = cli.command(`${op.name} ${op.args}`, op.summary)
    for (const [raw, description] of [...(op.options ?? []), ...COMMON]) command.option(raw, description)
    for (const example of op.examples ?? []) command.example(example)
  }
  // The operations are listed once; "run any with --help" says the rest. An operation's help
  // says what it does under its name, as a verb's does: `fs rm --help` never said it keeps
  // directories, nor `fs get --help` what its dest may be.
  helpOf(cli, sections => {
    const listed = sections.map(s =>
      s.title?.startsWith('For more info')
        ? { title: 'Each operation takes --help', body: '  $ execd fs ls --help' }
        : s,
    )
    const what = cli.matchedCommand?.description
    return wrapHelp(what ? [listed[0]!, { body: what }, ...listed.slice(1)] : listed)
  })
  return cli
}

/** `execd fs` with the words after `fs`. Returns the exit code (2: usage). */
export async function fsMain(words: string[]): Promise<number> {
  const cli = program()
  let json = words.includes('--json')
  try {
    const origins: number[] = []
    const typed = protectDashes(cli, words, true, origins)
    cli.parse(['', '', ...typed], { run: false })
    restoreValues(cli.options)
    if (cli.options.help) return printHelp(cli)
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
        return printHelp(cli) || 2
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
    const args = cli.args.map(word)
    return await runOp(op, args, asTyped(args, typed, origins, words), flags)
  } catch (err) {
    // Ended by a signal: said by the exit status, as a shell says it.
    const signal = stopSignal()
    const op = cli.matchedCommand
    const help = op ? `execd fs ${op.name} --help` : 'execd fs --help'
    return signal ? signalExit(signal) : report(withSuggestion(err, op ? [op, cli.globalCommand] : [], help), json)
  }
}

/**
 * Each operand's exact bytes where they are not UTF-8 (raw-argv.ts). cac's operands are the
 * words protectDashes leaves not starting with `-` after the operation's name (an option's value is merged into its flag's
 * word); should they not line up, the operands stay as text.
 */
function asTyped(args: string[], typed: string[], origins: number[], words: string[]): (ArgBytes | undefined)[] {
  const raw = rawWords(words)
  // The first is the operation's name.
  const at = typed.flatMap((w, i) => (w.startsWith('-') ? [] : [i])).slice(1)
  if (at.length !== args.length || at.some((i, j) => word(typed[i]) !== args[j])) return []
  return at.map(i => raw[origins[i]!])
}

async function runOp(op: FsOp, text: string[], bytes: (ArgBytes | undefined)[], flags: Flags): Promise<number> {
  const json = Boolean(flags.json)
  const remote = remoteOf(flags)
  if (remote && flags.root !== undefined)
    throw new UsageError('--root confines local paths: give it to the daemon (serve --root), not with --url')
  const paths = pathsOf(op, text.length)
  for (const i of paths)
    if (text[i] === '')
      throw new UsageError('invalid path: empty (use "." for the working directory)', 'INVALID_REQUEST_BODY')
  // A path is named by its bytes; a pattern or a replacement is text.
  const args: RawPath[] = text.map((t, i) => (paths.includes(i) ? (bytes[i] ?? t) : t))
  // A relative path on this machine needs the current directory; removed under the shell, the
  // files section resolved against the path it had and said `lstat .: no such file or directory`
  // (and `mkdir -p` made it again). getcwd(3) asked here fails as `fs get`'s does: the one line.
  if (!remote && flags.root === undefined && paths.some(i => isRelative(args[i]!))) process.cwd()
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

/** Which of `count` arguments are paths (`<path>`, `[dest]`, `<...path>`), from the operation's syntax. */
function pathsOf(op: FsOp, count: number): number[] {
  const syntax = op.args.split(' ').map(a => /^[<[](\.\.\.)?(\w+)[>\]]$/.exec(a))
  const last = syntax.at(-1)
  return Array.from({ length: count }, (_, i) => i).filter(i => {
    const at = i < syntax.length ? syntax[i] : last?.[1] ? last : undefined
    return ['path', 'src', 'dest', 'dir'].includes(at?.[2] ?? '')
  })
}

/** Whether `path` names something under the current directory once `~` and `$VAR`s are expanded. */
function isRelative(path: RawPath): boolean {
  if (typeof path !== 'string') return path.bytes[0] !== 0x2f
  try {
    return !expandVariables(expandHome(path)).startsWith('/')
  } catch {
    // an undefined variable: the section says so, with its own words
    return false
  }
}

const optionalRoot = (flags: Flags) => (flags.root === undefined ? {} : { root: String(flags.root) })
