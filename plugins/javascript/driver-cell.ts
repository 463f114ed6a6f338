/**
 * Interpreter side (runs in the child, embedded as text): turns one cell into a script.
 *
 * Why Bun.Transpiler's `replMode` and not our own rewrite: it is the transform Bun's own REPL
 * uses, built on Bun's real parser. It hoists every top-level `let`/`const`/`function`/`class`
 * and every `import` binding to a global `var` (so declarations persist across cells and can
 * be redeclared, as in a REPL), turns `import` statements into awaited dynamic imports, wraps
 * the cell in an async function when it uses top-level `await`, and returns the last
 * expression's value. A hand-written splitter of top-level statements would have to parse
 * JavaScript and TypeScript to get destructuring, ASI and regex literals right.
 */
import { isBuiltin } from 'node:module'

export type Language = 'javascript' | 'typescript'

interface PreparedCell {
  script: string
  /** True when the last top-level statement declares something (`let x = 1` shows no value). */
  endsWithDeclaration: boolean
}

const loaders: Record<Language, 'js' | 'ts'> = { javascript: 'js', typescript: 'ts' }
const repl = new Map<Language, InstanceType<typeof Bun.Transpiler>>()
const plain = new Map<Language, InstanceType<typeof Bun.Transpiler>>()

function transpiler(cache: typeof repl, language: Language, replMode: boolean) {
  let t = cache.get(language)
  if (!t) {
    // No dead-code elimination: it drops a trailing `a1` after `const a1 = 4` as side-effect
    // free, and the statement list must stay whole for lastStatementDeclares to see it.
    t = new Bun.Transpiler({
      loader: loaders[language],
      replMode,
      trimUnusedImports: false,
      deadCodeElimination: false,
    })
    cache.set(language, t)
  }
  return t
}

/**
 * Throws Bun's BuildMessage on a syntax error; `run` is the cell's number, which names it in
 * stack frames. A cell whose code was run before, and whose script depends on nothing but
 * its code (it imports nothing), is the same script under the same name as then: no
 * transform, and JSC's code cache compiles it once (a script named by its run is new text
 * each time, compiled again: about half of a warm `x + 1`'s CPU in the driver).
 */
export function prepareCell(code: string, language: Language, cwd: string, run: number): PreparedCell {
  const again = reusable.get(code)
  if (again) {
    remember(again, run)
    return again
  }
  let script: string
  try {
    script = transpiler(repl, language, true).transformSync(code)
  } catch (e) {
    // The plain transform's error is the one to report, as when it ran first for every cell.
    transpiler(plain, language, false).transformSync(code)
    throw e
  }
  // The plain transform only tells whether the cell ends with a declaration, which a cell
  // without any declaring word cannot (`x + 1`): one parse of it, not two.
  const endsWithDeclaration =
    MAY_DECLARE.test(code) && lastStatementDeclares(transpiler(plain, language, false).transformSync(code))
  const imports = mayImport(code)
  if (imports) script = resolveImports(script, code, language, cwd)
  const name = `cell-${run}`
  const cell: KeptCell = {
    name,
    script: `${script}\n//# sourceURL=${name}`,
    endsWithDeclaration,
    code: !imports && code.length <= MAX_REUSED_CODE ? code : undefined,
    run,
  }
  if (cell.code !== undefined) reusable.set(cell.code, cell)
  remember(cell, run)
  return cell
}

interface KeptCell extends PreparedCell {
  /** The name in its sourceURL: `cell-<the run that made it>`. */
  name: string
  /** Its code when it is kept for a run of the same code. */
  code: string | undefined
  /** The last run of it, the number its frames show. */
  run: number
}

/** A longer cell is prepared each time it runs: the kept ones hold their code and script. */
const MAX_REUSED_CODE = 64 * 1024
/**
 * Kept cells at most, and the characters of their scripts together: by count alone, 600 cells
 * of 300 KB held 200 of them (a 254 MiB driver), and cells of 16 MiB would have held 3 GiB.
 * The newest is always kept. A python context keeps its cells' sources as far (cells.py).
 */
const MAX_KEPT = 200
const MAX_KEPT_CHARS = 16 * 1024 * 1024
let keptChars = 0

/** Recent cells by name, oldest first, for the code line of a stack frame (a function may outlive its cell). */
const kept = new Map<string, KeptCell>()
/** The kept cells that a run of the same code may take as they are. */
const reusable = new Map<string, KeptCell>()

function remember(cell: KeptCell, run: number): void {
  cell.run = run
  if (!kept.delete(cell.name)) keptChars += cell.script.length
  kept.set(cell.name, cell)
  for (const [name, oldest] of kept) {
    if (kept.size <= 1 || (kept.size <= MAX_KEPT && keptChars <= MAX_KEPT_CHARS)) return
    kept.delete(name)
    keptChars -= oldest.script.length
    if (oldest.code !== undefined) reusable.delete(oldest.code)
  }
}

/** Whether resolveImports has anything to do: the script then depends on the cwd and what is installed. */
const mayImport = (code: string): boolean => code.includes('import') || code.includes('from')

/**
 * Code evaluated by the driver resolves `import("x")` relative to the driver's own file (a
 * temp dir), so every specifier the cell imports is resolved here against the context's
 * cwd and substituted. Bun prints the transformed import as `import("<specifier>")`.
 */
function resolveImports(script: string, code: string, language: Language, cwd: string): string {
  const { imports } = transpiler(plain, language, false).scan(code)
  for (const { path, kind } of imports) {
    if (kind === 'require-call' || isBuiltin(path) || path.startsWith('bun:') || path === 'bun') continue
    const resolved = Bun.resolveSync(path, cwd)
    script = script.split(`import(${JSON.stringify(path)})`).join(`import(${JSON.stringify(resolved)})`)
  }
  return script
}

const DECLARATION = /^(export\s+)?(let|const|var|using|class|function|async\s+function|import|enum|namespace|declare)\b/
/** DECLARATION's words anywhere in a cell: without one, its transform declares nothing either. */
const MAY_DECLARE = /let|const|var|using|class|function|import|enum|namespace|declare/

/** Bun prints each top-level statement from column 0; the last such line starts the last one. */
function lastStatementDeclares(canonical: string): boolean {
  const lines = canonical.split('\n')
  for (const line of lines.reverse()) {
    if (line === '' || /^[\s})\]]/.test(line) || line.startsWith('//')) continue
    return DECLARATION.test(line)
  }
  return false
}

/** `{ename, evalue, traceback}` for a thrown value, keeping only the user's frames; never throws. */
export function describeError(e: unknown, driverDir: string): { ename: string; evalue: string; traceback: string[] } {
  try {
    return describeThrown(e, driverDir)
  } catch {
    // A value whose prototype, name or message throws when read (a Proxy, a getter): its tag
    // at least, so the cell ends with its error instead of none. Not Bun.inspect: it shows
    // the getter's own error, with the driver's frames.
    const text = tagOf(e)
    return { ename: 'Uncaught', evalue: text, traceback: [`Uncaught ${text}`] }
  }
}

function describeThrown(e: unknown, driverDir: string): { ename: string; evalue: string; traceback: string[] } {
  if (isBuildMessage(e)) return syntaxError(e)
  // Several syntax errors in one cell arrive together; the first is the one to fix.
  if (e instanceof AggregateError && isBuildMessage(e.errors[0])) return syntaxError(e.errors[0])
  if (!(e instanceof Error)) {
    const text = shortened(inspectSafely(e))
    return { ename: 'Uncaught', evalue: text, traceback: [`Uncaught ${text}`] }
  }
  const ename = shortened(String(e.name || e.constructor?.name || 'Error'), MAX_NAME_CHARS, 'name')
  // User code may set any value as the message; the wire's evalue is text.
  const message: unknown = e.message
  const evalue = shortened(typeof message === 'string' ? message : message === undefined ? '' : inspectSafely(message))
  const frames = (e.stack ?? '')
    .split('\n')
    .filter(l => /^\s+at /.test(l))
    .filter(l => isUserFrame(l, driverDir))
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...framesUpTo(frames.flatMap(withCodeLine))] }
}

/**
 * The traceback's lines after the first, whole while they fit in MAX_MESSAGE_CHARS (each counted
 * with its newline), then one saying how many went: a cell sets its error's `stack` as it likes.
 */
function framesUpTo(lines: string[]): string[] {
  let size = 0
  for (let i = 0; i < lines.length; i++) {
    size += lines[i]!.length + 1
    if (size > MAX_MESSAGE_CHARS) {
      const note = `… ${lines.length - i} more lines dropped (the javascript driver sends ${MAX_MESSAGE_CHARS} characters of a traceback)`
      return [...lines.slice(0, i), note]
    }
  }
  return lines
}

/**
 * Characters of a message sent: execd keeps 4 Mi of an error's evalue and of its traceback
 * (core/error-bound.ts), and the message is both. Cut here, a 400 M-character message is not
 * sent whole (an 800 MB message execd parsed before it could cut it).
 */
const MAX_MESSAGE_CHARS = 2 * 1024 * 1024
/** An error's name: with the line saying what went, within the 1,024 execd keeps of an `ename` (core/error-bound.ts). */
const MAX_NAME_CHARS = 900

function shortened(text: string, max = MAX_MESSAGE_CHARS, what = 'message'): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}\n… ${text.length - max} more characters dropped (the javascript driver sends ${max} of an error's ${what})`
}

/** Bun's inspection, else the value's tag: inspecting may throw on a hostile value. */
function inspectSafely(v: unknown): string {
  try {
    return Bun.inspect(v)
  } catch {
    return tagOf(v)
  }
}

/** `[object Error]`, or the type when even the tag cannot be read (a Proxy's trap throws). */
function tagOf(v: unknown): string {
  try {
    return Object.prototype.toString.call(v)
  } catch {
    return typeof v
  }
}

// node:async_hooks: the driver runs each cell in its scope's AsyncLocalStorage (driver-scope.ts),
// whose `run` closed every traceback below the cell's own frames.
function isUserFrame(line: string, driverDir: string): boolean {
  if (line.includes(driverDir)) return false
  return !/\bat eval \(unknown\)|\(native[):]|\[native code\]|node:internal|\(internal:|\(node:async_hooks:/.test(line)
}

/**
 * Line numbers in a cell refer to its transformed script (declarations hoisted, types
 * stripped), so they would mislead: the frame names the cell and shows the code line itself.
 */
function withCodeLine(frame: string): string[] {
  const [location, cell, made, line] = /\b(cell-(\d+)):(\d+):\d+/.exec(frame) ?? []
  if (location === undefined || cell === undefined) return [frame]
  const known = kept.get(cell)
  // Split only here: keeping each cell's lines cost every cell a split of its script.
  const code = known?.script
    .split('\n')
    [Number(line) - 1]?.trim()
    .replace(/^value: /, '')
  // A script run again under its first name: its frames show its latest run.
  const n = known?.run ?? made
  // The cell's own top level runs inside the wrapper function replMode adds; its call is noise.
  const topLevel = /^\s+at <anonymous> \(/.test(frame)
  if (topLevel && code === '})();') return []
  const tidy = topLevel ? `    at <cell ${n}>` : frame.replace(location, `<cell ${n}>`)
  return code ? [tidy, `        ${code}`] : [tidy]
}

interface BuildMessageLike {
  name: string
  message: string
  position?: { line: number; column: number; lineText: string } | null
}

function isBuildMessage(e: unknown): e is BuildMessageLike {
  return typeof e === 'object' && e !== null && (e as { name?: string }).name === 'BuildMessage'
}

function syntaxError(e: BuildMessageLike) {
  const p = e.position
  if (!p) return { ename: 'SyntaxError', evalue: e.message, traceback: [`SyntaxError: ${e.message}`] }
  const where = `line ${p.line}, column ${p.column + 1}`
  return {
    ename: 'SyntaxError',
    evalue: `${e.message} (${where})`,
    traceback: [`SyntaxError: ${e.message}`, `  at ${where}:`, `    ${p.lineText}`, `    ${' '.repeat(p.column)}^`],
  }
}
