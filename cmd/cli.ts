/**
 * The execd program: the verbs and their options (cac), and how a failure ends (errors.ts:
 * one plain line, exit 2 for what was typed wrong, 1 for failed work). Each verb lazy-imports
 * its adapter, which calls the sections' operations (here, or remote with --url).
 */
import type { CAC, Command } from 'cac'
import type { OptionSpec } from '../core/config'
import { protectDashes, restoreValues, word } from './argv'
import { BROKEN_PIPE_EXIT, type StdoutWrites, followStdoutWrites } from './broken-pipe'
import { UsageError, report } from './errors'
import { allOptions, checkWholeNumbers, execOptions, serveOnly } from './options'
import { sectionOptions } from '../plugins/options'
import { flagsOf, hint, withSuggestion } from './suggest'
import { helpAsked } from './help-asked'
import { helpOf, printHelp, wrapHelp } from './help-wrap'
import { ANSWER_OPTION } from './route-url'
import { SILENCE_OPTION } from './daemon-quiet'
import { EXEC_TIMEOUT, EXEC_TIMEOUT_OPTION, PING_PORT_OPTION, PING_TIMEOUT_OPTION } from './verb-numbers'
import { wholeOf } from './whole-option'
import { runServe, servePlain } from './serve-start'
import { versionText } from '../core/version'

const addOptions = (command: Command, specs: OptionSpec[]) => {
  for (const o of specs) {
    const env = o.env ? ` (env ${o.env})` : ''
    const def = o.default !== undefined && !o.secret ? ` (default: ${o.default})` : ''
    command.option(o.boolean ? `--${o.flag}` : `--${o.flag} <value>`, `${o.description}${env}${def}`)
  }
  return command
}

const EXIT_STATUS = [
  '  0    done; serve stopped by SIGTERM or Ctrl-C: a clean shutdown, as systemd and docker stop read it',
  '  1    the work failed: a file missing or in the way, a symlink loop, a cell that raised',
  '  2    typed wrong: an unknown verb, option or language, a missing argument, a bad value',
  "  N    exec: the command's or interpreter's own status (128 + n for a signal n)",
  '  124  exec: stopped by its --timeout, as timeout(1)',
  '  130  stopped by Ctrl-C (143 SIGTERM, 129 SIGHUP, 131 Ctrl-\\)',
  '  141  its reader went away (| head)',
].join('\n')

const URL_OPTION = '--url <url>'
const URL_HELP = 'drive the daemon at this URL instead of this machine (env EXECD_URL; token from EXECD_ACCESS_TOKEN)'

/**
 * The program with every verb, or with `serve` alone: a start builds only the command it runs
 * (the others' 40-odd options cost it 1.5–4 ms of CPU, loaded). Commands keep their order, so
 * help reads the same; `serve` with help asked for gets the whole program (spec/cli-help.test.ts
 * holds every verb's help as it was).
 */
async function program(serveOnly: boolean): Promise<CAC> {
  const { cac } = await import('cac')
  const cli = cac('execd')
  addServe(cli)
  if (!serveOnly) addOthers(cli)
  // The exit statuses, once, under the verbs (README, "Errors and exit codes", says the rest).
  // A verb's help says what the verb does under its name: cac says it only in the list of verbs,
  // and `serve --help` never named what serve serves.
  helpOf(cli, sections => {
    if (sections.some(s => s.title === 'Commands'))
      return wrapHelp([...sections, { title: 'Exit status', body: EXIT_STATUS }])
    const what = cli.matchedCommand?.description
    return wrapHelp(what ? [sections[0]!, { body: what }, ...sections.slice(1)] : sections)
  })
  // Not cac's version(): it appends `process.version`, which under Bun is Node's, not Bun's.
  cli.option('-v, --version', 'Display the version, commit, target and Bun version')
  return cli
}

// The sections serve opens, named from the options' keys (the section list's names, in its
// order: plugins/index.test.ts): a list of its own here named 4 of the 8.
const SERVED = `Serve the HTTP API (${Object.keys(sectionOptions).join(', ')})`

const addServe = (cli: CAC) =>
  addOptions(cli.command('serve', SERVED), allOptions)
    // The entrypoint's form, which the usage line left out (only an example showed it).
    .usage('serve [-- <command> [args…]]')
    .example('execd serve --port 44772 --access-token "$TOKEN"')
    .example('execd serve -- python3 app.py   # the entrypoint: app.py is the main process')
    .action(runServe)

function addOthers(cli: CAC): void {
  // ping, doctor: a readiness probe, and what works in this container
  cli
    .command('ping', 'Exit 0 when execd answers /ping, here or at --url (token from EXECD_ACCESS_TOKEN)')
    .option('--url <url>', "the daemon's address (default $EXECD_URL, else http://127.0.0.1:$EXECD_PORT)")
    .option(...PING_PORT_OPTION)
    .option(...PING_TIMEOUT_OPTION)
    .option('--quiet', 'print nothing')
    .action(async o => (process.exitCode = await (await import('./ping')).pingCommand(o)))

  cli
    .command(
      'doctor',
      'What works in this container: /proc, /dev/null, bash, a shell, devpts, the temp dir, languages, isolation (bubblewrap)',
    )
    .option('--json', 'print JSON')
    .action(async o => (process.exitCode = await (await import('./doctor')).doctorCommand(o)))

  // metrics
  cli
    .command('metrics', 'Print CPU and memory usage (cgroup-aware)')
    .option('--json', 'print JSON (one object per line with --watch)')
    .option('--watch', 'print a sample every second until Ctrl-C (exit 130; 1 if the daemon ends it)')
    .option(URL_OPTION, URL_HELP)
    .option(...ANSWER_OPTION)
    .option(...SILENCE_OPTION)
    .action(async options => {
      const { metricsCommand } = await import('./metrics')
      process.exitCode = await metricsCommand(options)
    })

  // exec
  addOptions(
    cli
      .command('exec [language] [...code]', 'Run code in a language runtime, or a shell command with --shell')
      .option('--shell <command>', 'run a shell command (bash -c) instead of code; its stdin is /dev/null')
      .option('-f, --file <path>', 'read the code from a file ("-" for stdin)')
      .option('--cwd <dir>', 'working directory')
      .option('--env <KEY=VALUE>', 'set an environment variable (repeatable; not with --url)')
      .option(...EXEC_TIMEOUT_OPTION)
      .option('--json', 'print the event stream as JSON lines')
      .option('--list', 'list languages and whether each is available here')
      .option(URL_OPTION, URL_HELP)
      .option(...ANSWER_OPTION)
      .option(...SILENCE_OPTION)
      .option(
        '--isolated <workspace>',
        'run the command in a throwaway isolated (bubblewrap) session over this workspace',
      )
      .option('--mode <mode>', 'with --isolated: the workspace rw (default), ro, or overlay (changes discarded)')
      .option('--profile <profile>', 'with --isolated: strict (default) or balanced')
      .option('--share-net', "with --isolated: keep the host's network"),
    execOptions,
  )
    .example("execd exec --shell 'ls -la'")
    .example("execd exec python 'print(1 + 1)'")
    .example("execd exec python '1 + 1'  (prints nothing, as python3 -c: print() it)")
    .example('execd exec python          (on a terminal: an interactive prompt)')
    .example("execd exec --isolated /work --mode overlay 'make test'")
    .action(async (language: string | undefined, code: string[], options) => {
      checkWholeNumbers(execOptions, options)
      options.timeout = wholeOf(EXEC_TIMEOUT, options.timeout)
      if (options.isolated !== undefined) {
        const { execIsolated } = await import('./exec-isolated')
        const words = [language ?? '', ...code].map(word).join(' ').trim()
        // `--isolated DIR --shell 'cmd'` names the command as --shell does: it was dropped, and
        // the session asked to run nothing.
        const shell = typeof options.shell === 'string' ? options.shell : ''
        process.exitCode = await execIsolated(words || shell, options)
      } else if (options.shell !== undefined) {
        // `--shell echo hi` ran `echo` and dropped `hi` without a word: the command is one value.
        const extra = [language ?? [], ...code].flat().map(word)
        if (extra.length)
          throw new UsageError(
            `--shell takes the whole command as one value: quote it (--shell 'echo hi'); unexpected ${extra.map(w => `'${w}'`).join(', ')}`,
          )
        const { execShell } = await import('./exec-shell')
        process.exitCode = await execShell(options)
      } else {
        const { execCode } = await import('./exec')
        process.exitCode = await execCode(language === undefined ? undefined : word(language), code.map(word), options)
      }
    })

  // fs: its operations are a cac program of their own (fs.ts); this entry is for the help.
  cli
    .command('fs <op> [...args]', 'File operations (execd fs --help lists them), here or on a daemon with --url')
    .allowUnknownOptions()

  cli
    .command('completion <shell>', 'Print a completion script for bash, zsh or fish')
    .example('source <(execd completion bash)')
    .action(async (shell: string) => {
      const { completion } = await import('./completion')
      process.stdout.write(completion(shell, cli))
    })
}

/** Runs execd with its words (process.argv without the runtime and script). */
export async function main(words: string[]): Promise<void> {
  // `execd help [verb [op]]` is what git and go take it for: that verb's --help.
  if (words[0] === 'help') words = [...words.slice(1).filter(w => !w.startsWith('-')), '--help']
  if (words[0] !== 'serve') {
    // A verb's failure is one line, even one thrown where nobody awaits it: never a stack
    // with runtime source (serve logs its own).
    // A write to stdout that failed is told by exit(), once, whoever sees it first.
    const last = (err: unknown) =>
      void exit(
        stdoutWrites?.failedWith(err)
          ? 0
          : (err as NodeJS.ErrnoException)?.code === 'EPIPE'
            ? BROKEN_PIPE_EXIT
            : report(err, words.includes('--json')),
      )
    process.on('uncaughtException', last)
    process.on('unhandledRejection', last)
    stdoutWrites = followStdoutWrites()
  }
  // `fs` parses its own words: they are its operations' arguments and options.
  if (words[0] === 'fs') {
    const { fsMain } = await import('./fs')
    return await exit(await fsMain(words.slice(1)))
  }
  const json = words.includes('--json')
  // serve's usual words, read without cac (serve-flags.ts); it returns once it listens.
  if (words[0] === 'serve' && (await servePlain(words))) return
  const cli = await program(words[0] === 'serve' && !helpAsked(words))
  try {
    // serve's words after `--` are its main process's argv (serve.ts reads options['--']).
    cli.parse(['', '', ...protectDashes(cli, words, words[0] !== 'serve')], { run: false })
    restoreValues(cli.options)
    if (cli.options.help) return await exit(printHelp(cli))
    if (cli.options.version) return void (process.stdout.write(`${versionText()}\n`), await exit(0))
    if (!cli.matchedCommand) {
      const [verb] = cli.args
      const verbs = cli.commands.map(c => c.name)
      if (verb !== undefined)
        throw new UsageError(`unknown command '${word(verb)}' ${hint(word(verb), verbs, 'execd --help')}`)
      // An option without a verb (`execd --versoin`) printed the help with exit 2 and no word of why.
      const option = words.find(w => w.startsWith('-') && w !== '--')
      if (option !== undefined) {
        const name = option.split('=')[0]!
        throw new UsageError(`unknown option '${name}' ${hint(name, flagsOf([cli.globalCommand]), 'execd --help')}`)
      }
      process.exitCode = printHelp(cli) || 2
      return
    }
    await cli.runMatchedCommand()
    // serve's action returns once it listens: the server runs on.
    if (cli.matchedCommandName !== 'serve') await exit(Number(process.exitCode ?? 0))
  } catch (err) {
    const verb = cli.matchedCommand
    const help = verb ? `execd ${verb.name} --help` : 'execd --help'
    const commands = verb ? [verb, cli.globalCommand] : [cli.globalCommand]
    await exit(report(withSuggestion(err, commands, help, verb && verb.name !== 'serve' ? serveOnly : undefined), json))
  }
}

/**
 * A verb that has returned has closed what it opened: execd exits now with its code, rather
 * than when the event loop runs dry (a killed command's unread output, a timer of a closed
 * section would hold it for seconds). What was written to stdout and stderr goes out first.
 */
export async function exit(code: number): Promise<never> {
  // One exit at a time, a later failure's status kept: a failure of stdout told as uncaught
  // (`last`) while a verb's exit(0) was under way ended 0 when that one finished first.
  if (ending) {
    if (ending.code === 0) ending.code = code
    return await new Promise<never>(() => {})
  }
  ending = { code }
  process.exit(await ended(ending))
}

/** What exit() is ending with (a later exit() with a failure replaces a 0). */
let ending: { code: number } | undefined
/** stdout's writes, followed to their end (a verb other than serve's). */
let stdoutWrites: StdoutWrites | undefined

async function ended(status: { code: number }): Promise<number> {
  let broken = false
  let failed: unknown
  const failure = (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') broken = true
    // stdout's own failure (`> /dev/full`): `metrics` exited 0 with its output lost.
    else failed ??= err
  }
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>(resolve => {
      stream.on('error', err => {
        if (stream === process.stdout) failure(err)
        resolve()
      })
      if (stream.destroyed || !stream.writable) {
        // A write that failed (EPIPE) destroyed stdout: its failure is kept, or `metrics --watch
        // | head -1` exited 0, not 141. Nothing more will settle on a destroyed stream.
        const err = stream === process.stdout ? stdoutWrites?.failure() : undefined
        if (err) failure(err)
        return resolve()
      }
      if (stream === process.stdout && stdoutWrites)
        return void stdoutWrites.settled().then(err => {
          if (err) failure(err)
          resolve()
        })
      stream.write('', () => resolve())
    })
  // The temp dirs' sweep (core/temp-dir.ts) ends before the process does: cut off, it left
  // the dirs of killed runs for good. Its probes answer at once; bounded all the same.
  const { sweepsDone } = await import('../core/temp-dir')
  const swept = sweepsDone()
  // The output waits for its reader, however slow, as `cat`'s does: bounded, a reader 5 s behind
  // lost what it had not read (`exec --shell 'seq 300000' | (sleep 7; wc -l)`: 12,768 lines, exit
  // 0). A reader that never reads is the pipeline's to end (SIGPIPE, SIGTERM), as for `yes | less`.
  await Promise.all([flushed(process.stdout), flushed(process.stderr), Promise.race([swept, Bun.sleep(5000)])])
  // Output that its reader left before it arrived (| head, the verb already done writing):
  // the status a pipeline expects of a writer whose reader went away.
  // A write's failure is told after its callback, on a later turn.
  if (!broken && failed === undefined) await new Promise(resolve => setImmediate(resolve))
  if (failed !== undefined && status.code === 0) status.code = report(failed, false)
  return broken && status.code === 0 ? BROKEN_PIPE_EXIT : status.code
}
