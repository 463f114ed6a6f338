#!/usr/bin/env bun
/**
 * The execd command line: argument parsing only. Each verb lazy-imports its adapter, which
 * calls plugin operations (HTTP for `serve`, directly for the others).
 */
import { cac } from 'cac'
import { COMMIT, VERSION } from '../core/app'
import type { OptionSpec } from '../core/config'
import { ExecdError } from '../core/errors'
import { allOptions } from './options'

const cli = cac('execd')

const addOptions = (command: ReturnType<typeof cli.command>, specs: OptionSpec[]) => {
  for (const o of specs) {
    const env = o.env ? ` (env ${o.env})` : ''
    const def = o.default !== undefined && !o.secret ? ` (default: ${o.default})` : ''
    command.option(o.boolean ? `--${o.flag}` : `--${o.flag} <value>`, `${o.description}${env}${def}`)
  }
  return command
}

// serve
addOptions(cli.command('serve', 'Serve the HTTP API (code, commands, files, metrics)'), allOptions)
  .example('execd serve --port 44772 --access-token "$TOKEN"')
  .example("execd serve -- python3 app.py   # the container's entrypoint: app.py is its main process")
  .action(async options => {
    const { serve } = await import('./serve')
    await serve(options)
  })

// ping, doctor: a readiness probe, and what works in this container
cli
  .command('ping', 'Exit 0 when the local execd answers /ping (token from EXECD_ACCESS_TOKEN)')
  .option('--url <url>', 'default http://127.0.0.1:$EXECD_PORT/ping')
  .option('--port <port>', 'default 44772')
  .option('--timeout <ms>', 'default 2000')
  .option('--quiet', 'print nothing')
  .action(async o => (process.exitCode = await (await import('./ping')).pingCommand(o)))

cli
  .command('doctor', 'What works in this container: /proc, /dev/null, bash, a shell, devpts, languages')
  .option('--json', 'print JSON')
  .action(async o => (process.exitCode = await (await import('./doctor')).doctorCommand(o)))

// metrics
cli
  .command('metrics', 'Print CPU and memory usage (cgroup-aware)')
  .option('--json', 'print JSON (one object per line with --watch)')
  .option('--watch', 'print a sample every second until interrupted')
  .action(async options => {
    const { metricsCommand } = await import('./metrics')
    await metricsCommand(options)
  })

// exec
cli
  .command('exec [language] [...code]', 'Run code in a language runtime, or a shell command with --shell')
  .option('--shell <command>', 'run a shell command (bash -c) through the commands section')
  .option('-f, --file <path>', 'read the code from a file ("-" for stdin)')
  .option('--cwd <dir>', 'working directory')
  .option('--env <KEY=VALUE>', 'environment variable (repeatable)')
  .option('--timeout <ms>', 'kill after this many milliseconds')
  .option('--json', 'print the event stream as JSON lines')
  .option('--list', 'list languages and whether each is available here')
  .option('--isolated <workspace>', 'run the command in a throwaway isolated (bubblewrap) session over this workspace')
  .option('--mode <mode>', 'with --isolated: the workspace rw (default), ro, or overlay (changes discarded)')
  .option('--profile <profile>', 'with --isolated: strict (default) or balanced')
  .option('--share-net', "with --isolated: keep the host's network")
  .example("execd exec --shell 'ls -la'")
  .example("execd exec python 'print(1 + 1)'")
  .example("execd exec --isolated /work --mode overlay 'make test'")
  .action(async (language: string | undefined, code: string[], options) => {
    if (options.isolated !== undefined) {
      const { execIsolated } = await import('./exec-isolated')
      process.exitCode = await execIsolated([language ?? '', ...code].join(' ').trim(), options)
    } else if (options.shell !== undefined) {
      const { execShell } = await import('./exec-shell')
      process.exitCode = await execShell(options)
    } else {
      const { execCode } = await import('./exec')
      process.exitCode = await execCode(language, code, options)
    }
  })

// fs
cli
  .command(
    'fs <op> [...args]',
    'File operations without HTTP: ls, stat, cat, get, put, rm, rmdir, mv, mkdir, chmod, search, replace',
  )
  .option('--json', 'print JSON for scripts')
  .allowUnknownOptions()
  .action(async (op: string, args: string[], options) => {
    const { fsCommand } = await import('./fs')
    process.exitCode = await fsCommand(op, args, options)
  })

cli.help()
cli.version(`${VERSION} (commit ${COMMIT})`)

/** Usage errors exit 2, failures of the work exit 1 (or the code the work reports). */
async function main(argv: string[]): Promise<void> {
  try {
    const parsed = cli.parse(stdinValues(argv), { run: false })
    if (!cli.matchedCommand) {
      const [verb] = parsed.args
      if (verb !== undefined) usage(`unknown command '${verb}' (see execd --help)`)
      if (!parsed.options.help && !parsed.options.version) {
        cli.outputHelp()
        process.exit(2)
      }
      return
    }
    await cli.runMatchedCommand()
  } catch (err) {
    if ((err as Error)?.name === 'CACError') usage((err as Error).message)
    if (err instanceof ExecdError) {
      process.stderr.write(`execd: error [${err.code}]: ${err.message}\n`)
      process.exit(1)
    }
    process.stderr.write(`execd: ${(err as Error)?.message ?? String(err)}\n`)
    process.exit(1)
  }
}

/** cac takes a lone '-' for a missing value: `--access-token-file -` means standard input. */
const stdinValues = (argv: string[]): string[] =>
  argv.flatMap((arg, i) =>
    arg === '-' && argv[i - 1] === '--access-token-file'
      ? []
      : arg === '--access-token-file' && argv[i + 1] === '-'
        ? ['--access-token-file=-']
        : [arg],
  )

function usage(message: string): never {
  process.stderr.write(`execd: ${message}\n`)
  process.exit(2)
}

await main(process.argv)
