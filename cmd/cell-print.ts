/**
 * A cell's events printed for people: output to the terminal's streams, an error as its
 * traceback (or not at all where the language's own command line says nothing), text results,
 * rows as a table, images written to files. And the status a cell's error means.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { errnoText } from '../core/errors'
import { shellStatusOf } from '../core/exit-words'
import type { ExecEvent } from '../core/events'
import { plainMessage } from './errors'
import { shutDown } from './remote'
import { visible } from './visible'
import { put } from './paced-output'

/** The Go runtime's exit status for an unrecovered panic or a fatal error (runtime/panic.go's exit(2)). */
const GO_CRASH_EXIT = 2
const GO_CRASHES = new Set(['panic', 'fatal error'])

const IMAGE_EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/svg+xml': 'svg' }

/**
 * A cell's own exit status is the verb's, as `bash -c` would exit: a shell's (`exit 3`: 3, a
 * missing command: 127), and an interpreter's death, whatever the language (`exit 3`,
 * `os._exit(3)`, `process.exit(3)`, `System.exit(3)`, `os.Exit(3)`: 3; killed by a signal:
 * 128 + its number, as a shell says it). A death's traceback starts with the exit in os/exec's
 * words. `exit 0` is no failure. A go program's panic or fatal error (a deadlock): 2, as the Go
 * runtime exits on one (its kernel names the error `panic` or `fatal error`). Any other error: 1.
 */
export function cellExit(event: ExecEvent, language?: string): number | undefined {
  const e = event.error
  if (!e) return undefined
  if (language === 'go' && GO_CRASHES.has(e.ename)) return GO_CRASH_EXIT
  if (e.ename === 'CommandExecError') {
    const status = /^(\d{1,3})$/.exec(e.evalue)?.[1]
    return status !== undefined && Number(status) <= 255 ? Number(status) : undefined
  }
  return shellStatusOf(e.traceback[0] ?? '') ?? shellStatusOf(e.evalue)
}

/**
 * A go crash outside main's goroutine (a goroutine's panic, a deadlock) is told by the Go runtime
 * on the program's stderr, which streams as it is written; the kernel's error then carries those
 * same lines, and they were printed twice. This keeps the end of the cell's stderr (bounded) and
 * says whether an error's traceback is already there.
 */
export function crashEcho(language: string): { seen(event: ExecEvent): void; told(event: ExecEvent): boolean } {
  let tail = ''
  return {
    seen(event) {
      if (language === 'go' && event.type === 'stderr') tail = (tail + (event.text ?? '')).slice(-CRASH_TAIL)
    },
    told(event) {
      const e = event.error
      if (language !== 'go' || !e || !GO_CRASHES.has(e.ename) || e.traceback.length === 0) return false
      // Included, not the end: the kernel cuts a long crash (many goroutines) at 200 lines.
      return tail.includes(e.traceback.join('\n'))
    },
  }
}

/** The go kernel keeps 16 KiB of a program's stderr to find its crash in (plugins/go/kernel/exec.go). */
const CRASH_TAIL = 16 << 10

/**
 * Prints one event for people; returns how many image files it wrote. `oneShot`: the context is
 * closed after this cell, so what a death means for later cells is left unsaid.
 */
export function render(
  event: ExecEvent,
  executionId: string,
  imagesSoFar: number,
  {
    oneShot,
    exitEnds,
    interrupted = false,
    language,
    typed,
    imageLost,
  }: {
    oneShot: boolean
    exitEnds: boolean
    interrupted?: boolean
    language?: string
    /** The cell as typed at a prompt. */
    typed?: string
    /** Called when an image could not be written (said on stderr, the cell's output goes on). */
    imageLost?: () => void
  },
): number {
  switch (event.type) {
    case 'stdout':
      put(process.stdout, event.text ?? '')
      return 0
    case 'stderr':
      put(process.stderr, event.text ?? '')
      return 0
    case 'status':
      if (event.state_lost) put(process.stderr, `execd: ${visible(event.text ?? '')}\n`)
      return 0
    case 'error': {
      const e = event.error!
      // Python's exit call: what it prints (`sys.exit('text')`: the text) is said once the cell
      // has ended and what its value was is known (runCell, exit-calls.ts).
      if (e.ename === 'SystemExit') return 0
      const ended = shutDown(e.ename, 'while the cell ran')
      if (ended) {
        put(process.stderr, `execd: ${ended}\n`)
        return 0
      }
      if (oneShot && cellExit(event) === 0) return 0
      // An exit with a status (`exit 3`, `false`, `process.exit(3)`, `os._exit(3)`): the status
      // says it, as `bash -c` and `node -e` leave it unsaid, and at a prompt that ends on it as
      // node's and bash's do; a death's interpreter's own last words still show, and a signal is
      // still named (a shell says `Killed` too).
      if ((oneShot || exitEnds) && /^exit status \d+$/.test(e.traceback[0] ?? '')) {
        // go's `os.Exit(3)` too (its kernel's `ExitError`): a go program says nothing of it.
        if ((e.ename === 'CommandExecError' || e.ename === 'ExitError') && e.traceback.length === 1) return 0
        if (e.ename === 'DeadKernelError') {
          if (e.traceback.length > 1) put(process.stderr, `${e.traceback.slice(1).join('\n')}\n`)
          return 0
        }
      }
      // A death's first line is its exit's words; in a session the sentence saying the state is
      // lost takes its place (a one-shot run's context goes with it: the words are the story).
      // A death that ends the prompt (a signal's) is told as a one-shot run's: `signal: killed`.
      const goesOn = !oneShot && !(exitEnds && !interrupted && /^signal: /.test(e.traceback[0] ?? ''))
      const lines =
        e.ename === 'DeadKernelError' && goesOn && e.evalue ? [e.evalue, ...e.traceback.slice(1)] : [...e.traceback]
      // A SQL error's first line is its statement, which names the failing one of a file's or a
      // cell's many; at `sql>` the one just typed was shown again above its error.
      if (language === 'sql' && typed !== undefined && lines[0] === typed.trim().replace(/\s*;$/, '')) lines.shift()
      // A traceback that does not say the error itself (SQL's: the statement and a code) gets it.
      // Not a shell's: its one line is the whole story ('signal: interrupt'), its evalue a status
      // and its ename execd's own class (Ctrl-C printed 'CommandExecError: 130' under it). Nor
      // one whose line names the class already (Python's `SyntaxError: invalid syntax`, where
      // the evalue adds the place: the error was said twice). Nor a death's: its lines are
      // execd's words for it (`exit status 3`), the evalue the same at length.
      const said = (l: string) => l.includes(e.evalue || e.ename) || l === e.ename || l.startsWith(`${e.ename}: `)
      const own = e.ename === 'CommandExecError' || (e.ename === 'DeadKernelError' && lines.length > 0)
      if (!own && !lines.some(said)) lines.push(e.evalue ? `${e.ename}: ${e.evalue}` : e.ename)
      // A signal's words are execd's account of the death, not the program's output: said as
      // execd's own line, as `exec --shell` and a stop's `execd: signal: terminated` say it.
      if (own && lines[0]?.startsWith('signal: ')) lines[0] = `execd: ${lines[0]}`
      put(process.stderr, `${lines.join('\n')}\n`)
      return 0
    }
    case 'result':
      return renderResult(event.results ?? {}, executionId, imagesSoFar, language, imageLost)
    default:
      return 0
  }
}

/**
 * The start of an execution id, for an image file's name. A daemon behind --url chooses the id
 * (the EXECD-EXECUTION-ID header): `/../../x` wrote the image outside the working directory.
 */
const fileTag = (executionId: string): string => (/^[\w-]+$/.test(executionId) ? executionId.slice(0, 8) : 'cell')

function renderResult(
  results: Record<string, unknown>,
  executionId: string,
  imagesSoFar: number,
  language?: string,
  imageLost?: () => void,
): number {
  const image = Object.keys(IMAGE_EXT).find(mime => typeof results[mime] === 'string')
  if (image) {
    const data = results[image] as string
    const name = `execd-${fileTag(executionId)}-${imagesSoFar + 1}.${IMAGE_EXT[image]}`
    let path: string | undefined
    try {
      path = resolve(name)
      writeFileSync(path, image === 'image/svg+xml' ? data : Buffer.from(data, 'base64'))
    } catch (err) {
      // A full disk, a directory removed or not writable: the image is lost, not the cell's
      // output after it (the throw left the stream unread, and at a prompt the cell ran on
      // unseen); nor is a part of it left to look like a picture.
      if (path) rmSync(path, { force: true })
      const why = path ? ` to ${path}: ${errnoText(err)}` : `: ${plainMessage(err)}`
      put(process.stderr, `execd: ${image} not written${visible(why)}\n`)
      imageLost?.()
      return 0
    }
    put(process.stdout, `[${image} written to ${path}]\n`)
    return 1
  }
  const rows = results['application/json'] as { columns?: unknown; rows?: unknown; affected?: unknown } | undefined
  if (rows && Array.isArray(rows.columns) && Array.isArray(rows.rows)) {
    const affected = language === 'sql' && rows.affected === true ? affectedOf(rows.columns, rows.rows) : undefined
    if (affected !== undefined) {
      put(process.stdout, `${affected} row${affected === 1 ? '' : 's'} affected\n`)
      return 0
    }
    put(process.stdout, grid(rows.columns.map(String), rows.rows as unknown[][]))
    return 0
  }
  const text = results['text/plain'] ?? results.text
  if (typeof text === 'string') put(process.stdout, `${text}\n`)
  return 0
}

/**
 * The count a sql statement that returns no rows gives (plugins/sql/format.ts affectedBundle,
 * marked `affected`: a query's `SELECT 1 AS affected_rows` is the same text), as one line the way
 * mysql's prompt says it: printed as a table, `CREATE TABLE t(a)` showed an `affected_rows` column
 * over a 0 and `(1 row)`. Undefined for any other result.
 */
function affectedOf(columns: unknown[], rows: unknown[]): number | undefined {
  const [row] = rows
  if (columns.length !== 1 || columns[0] !== 'affected_rows' || rows.length !== 1 || !Array.isArray(row))
    return undefined
  const [n] = row as unknown[]
  return row.length === 1 && Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : undefined
}

/** Rows and columns (a SQL result) as an aligned table, numbers to the right. */
function grid(columns: string[], rows: unknown[][]): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v)
  const body = rows.map(r => columns.map((_, i) => cell(r[i])))
  const widths = columns.map((c, i) => Math.max(c.length, ...body.map(r => r[i]?.length ?? 0)))
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every(r => typeof r[i] === 'number' || r[i] === null))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const out = [line(columns), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line)]
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`)
  return `${out.join('\n')}\n`
}
