#!/usr/bin/env bun
/**
 * The execd command line. `--version` is answered here, before anything else is loaded; serve's
 * usual words start serve (serve-start.ts); every other use loads the program (cli.ts), whose
 * verbs lazy-import their adapters in turn.
 */
import { KEEPER_WORD, keepWatch } from '../core/keeper-main'
import { settleThreads } from '../core/threads'
import { versionText } from '../core/version'
import { BROKEN_PIPE_EXIT } from './broken-pipe'
import { STDOUT_CLOSED, keepStdoutClosed } from './closed-stdout'
import { helpAsked } from './help-asked'
import { MAIN_EXEC_WORD, execMain } from './main-exec'

const words = process.argv.slice(2)
// serve's main process on its way to its command (cmd/main-exec.ts): nothing else loads.
if (words[0] === MAIN_EXEC_WORD) execMain(words)
// The keeper of a daemon's or a CLI verb's children (core/keeper.ts): nothing else runs.
if (words[0] === KEEPER_WORD) void keepWatch()
else if (words.length === 1 && (words[0] === '--version' || words[0] === '-v')) {
  // Before process.stdout is made: made on a /dev/null, it discards what it is given.
  void keepStdoutClosed().then(() => {
    // A stdout that fails (`> /dev/full`) is one line and status 1, not Bun's trace of the error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') return void (process.exitCode = BROKEN_PIPE_EXIT)
      const text = err.code === 'EBADF' ? STDOUT_CLOSED : err.message.replace(/^E[A-Z]+: /, '').replace(/, write$/, '')
      process.stderr.write(`execd: ${text}\n`)
      process.exitCode = 1
    })
    process.stdout.write(`${versionText()}\n`)
  })
} else {
  // First, before anything loads: a daemon must never need a thread it cannot start (core/threads.ts).
  // A daemon's stdout is its log's, closed or not; every other verb's is what it prints (help too).
  const serving = words[0] === 'serve' && !helpAsked(words)
  const settled = serving ? settleThreads() : keepStdoutClosed()
  // serve's usual words go straight to serve (serve-start.ts); the CLI loads for the rest.
  // Not awaited at top level, so the bundle may also be built as CommonJS (Makefile).
  void settled
    .then(() => words[0] === 'serve' && import('./serve-start').then(({ servePlain }) => servePlain(words)))
    .then(async served => {
      if (!served) await (await import('./cli')).main(words)
    })
}
