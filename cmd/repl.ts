/**
 * `execd exec <language>` on a terminal with no code: a prompt on one context of that language
 * (state kept from cell to cell, as over HTTP). Up/down recall earlier lines (kept in
 * ~/.execd_history). Ctrl-C interrupts the running cell, or drops the line being typed;
 * Ctrl-D on an empty line exits, and so does the language's exit call (`exit()`, `sys.exit(3)`,
 * `process.exit(4)`, `exit 5`), with its status. A line that opens a block (`:` at the end, an open
 * bracket, string or comment, a trailing `\`) continues on `...` lines until an empty one; sql's
 * statement until its `;` (cmd/repl-lines.ts); a Jupyter kernel's other language as its kernel
 * says (cmd/cell-rule.ts).
 */
import { appendFileSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { CodeClient } from './code-client'
import { openContext, runCell, type CellEnd, type ExecOptions } from './exec'
import { cellRule } from './cell-rule'
import { report } from './errors'
import { ExecdError } from '../core/errors'
import { localText } from './locale-text'
import { ownLine, takeOpenLine } from './paced-output'
import { readStat } from '../core/procfs'
import { atExit, leaveTerminal, resetStop, signalExit, stopSignal, type StopSignal } from './lifecycle'

const HISTORY_LINES = 1000

/** What the prompt says once a context the daemon lost is replaced. */
export const CONTEXT_LOST = (language: string) =>
  `the daemon no longer has this ${language} context (closed as idle, or restarted): a fresh one is open; that line was not run`

export async function repl(client: CodeClient, language: string, options: ExecOptions): Promise<number> {
  let context = await openContext(client, language, options.cwd)
  // Stopped while a daemon opened it (the terminal not raw yet: Ctrl-C is a signal): no prompt.
  const stopped = stopSignal()
  if (stopped) return signalExit(stopped)
  let rule = cellRule(client, context, language)
  const historyFile = join(process.env.HOME || homedir(), '.execd_history')
  const before = new Set(process.stdout.listeners('resize'))
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    historySize: HISTORY_LINES,
    history: loadHistory(historyFile),
  } as Parameters<typeof createInterface>[0])
  // readline redraws its prompt when the terminal is resized: while a cell ran, `python> ` came
  // out among the cell's lines. Its redraw is taken off while a cell runs.
  const redraws = process.stdout.listeners('resize').filter(l => !before.has(l)) as (() => void)[]
  process.stdout.write(localText(`execd ${language} — Ctrl-C interrupts, Ctrl-D exits\n`))
  let running = false
  // Lines typed (or pasted) while a cell runs wait here, in order, for their turn.
  const typed: (string | null)[] = []
  let pending: ((line: string | null) => void) | undefined
  // A paste comes in one read: readline echoed the lines after the first bare, all at once, and
  // each was shown again after its own prompt (`print(2)` twice). The rest of a read that ended
  // the prompt's line is not echoed now; ask() shows each line once. Keys typed later, while the
  // cell runs, are echoed as they come.
  let muted = false
  const echo = rl as unknown as { _writeToOutput(text: string): void }
  const write = echo._writeToOutput.bind(rl)
  echo._writeToOutput = text => void (muted || write(text))
  const deliver = (line: string | null) => {
    const take = pending
    pending = undefined
    if (!take) return void typed.push(line)
    muted = true
    setImmediate(() => void (muted = false))
    take(line)
  }
  rl.on('line', deliver)
  rl.on('close', () => deliver(null))
  // Raw mode turns Ctrl-C into this event rather than a signal.
  rl.on('SIGINT', () => {
    if (running) return void process.kill(process.pid, 'SIGINT')
    process.stdout.write('^C\n')
    ;(rl as unknown as { line: string }).line = ''
    deliver('\u0003')
  })
  // Raw mode makes Ctrl-Z a key too. readline's own answer stopped execd and, at `fg`, paused
  // its input: the prompt came back and took no key again. The terminal's modes go back for the
  // stop (lifecycle stops the children, then execd) and raw again at `fg`, the line redrawn.
  // A SIGCONT that leaves execd in the background (`bg`, or `kill %1`, which bash follows with
  // one) is not `fg`: raw mode asked for there is a terminal change from the background, which
  // stopped execd again (`Stopped (tty output)`), so `kill %1` of a stopped prompt waited for `fg`.
  const resume = () => {
    if (!inForeground()) return void process.once('SIGCONT', resume)
    process.stdin.setRawMode?.(true)
    if (!running) rl.prompt(true)
  }
  // However execd exits after the prompt (its return, a grace run out), from the background it
  // lets go of the terminal first. Kept to the end: the prompt is the verb's last act.
  atExit(() => void (inForeground() || leaveTerminal()))
  rl.on('SIGTSTP', () => {
    process.stdin.setRawMode?.(false)
    process.once('SIGCONT', resume)
    process.kill(process.pid, 'SIGTSTP')
  })
  const ask = (prompt: string) =>
    new Promise<string | null>(resolve => {
      // Typed ahead: shown again after its own prompt, as python's and bash's prompts show
      // typeahead. Taken bare, `def f():` typed under a running cell had no `...` for its body.
      if (typed.length) {
        const line = typed.shift()!
        if (line !== null && line !== '\u0003') process.stdout.write(`${prompt}${line}\n`)
        return resolve(line)
      }
      pending = resolve
      muted = false
      rl.setPrompt(prompt)
      rl.prompt()
    })
  try {
    for (;;) {
      let line = await ask(`${language}> `)
      if (line === null) break
      if (line === '\u0003') continue
      const lines = [line]
      while (await rule.goesOn(lines)) {
        line = await ask('... ')
        if (line === null || line === '\u0003') break
        if (line === '' && (await rule.endsHere(lines))) break
        lines.push(line)
      }
      if (line === '\u0003') continue
      const cell = lines.join('\n')
      if (!cell.trim()) continue
      try {
        appendFileSync(historyFile, `${cell.replace(/\n/g, ' ')}\n`, { mode: 0o600 })
      } catch {
        // no history file: the session still works
      }
      running = true
      for (const redraw of redraws) process.stdout.off('resize', redraw)
      let signal: StopSignal | undefined
      let end: CellEnd | undefined
      let failure: unknown
      try {
        end = await runCell(client, { language, id: context }, cell, options, true)
      } catch (err) {
        failure = err
      } finally {
        running = false
        // A cell's last output without its newline (`print('abc', end='')`) was erased by the
        // next prompt, drawn from the first column: the line is ended, as IPython ends it.
        if (takeOpenLine()) process.stdout.write('\n')
        for (const redraw of redraws) process.stdout.on('resize', redraw)
        signal = stopSignal()
        resetStop()
      }
      // Ctrl-C interrupts the cell and the prompt goes on; SIGTERM, SIGHUP (the terminal has
      // closed) and SIGQUIT interrupted it too, and then the prompt went on as if nothing had come.
      if (signal && signal !== 'SIGINT') return signalExit(signal)
      if (!end) {
        context = (await afterFailure(client, language, options, failure)) ?? context
        rule = cellRule(client, context, language)
        if (line === null) break
        continue
      }
      // `sys.exit(3)`, `exit()`, `process.exit(4)`, bash's `exit 5` end the prompt with their
      // status, as python's, node's and bash's own prompts end (jshell's goes on: runCell).
      if (end.exitCall) return end.status
      if (line === null) break
    }
  } finally {
    // Ended from the background (`kill %1` of a stopped prompt): the terminal is the shell's,
    // which puts its own modes back; setting them from here stopped execd again.
    if (!inForeground()) (rl as unknown as { terminal: boolean }).terminal = false
    rl.close()
    process.stdout.write('\n')
  }
  return 0
}

/**
 * A line the daemon behind --url could not take (gone, stopped, restarted, a token changed)
 * ended the prompt, its state thrown away with it: said in one line, the prompt goes on, as
 * psql's does when its server goes. A context the daemon no longer has (closed after its
 * --context-idle, the daemon restarted) said `context <id> not found` and ended the prompt: a
 * new one is opened (its id returned), and the line is not run in it (its state is not the one
 * the line was typed for).
 */
async function afterFailure(
  client: CodeClient,
  language: string,
  options: ExecOptions,
  failure: unknown,
): Promise<string | undefined> {
  if (!(failure instanceof ExecdError && failure.code === 'CONTEXT_NOT_FOUND')) return void report(failure)
  try {
    const context = await openContext(client, language, options.cwd)
    ownLine(`execd: ${CONTEXT_LOST(language)}`)
    return context
  } catch (err) {
    return void report(err)
  }
}

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_LINES).reverse()
  } catch {
    return []
  }
}

/** Whether execd's group is its terminal's foreground group (/proc's word; true where it cannot say). */
function inForeground(): boolean {
  const stat = readStat('self')
  return !stat || stat.tpgid <= 0 || stat.tpgid === stat.pgid
}
