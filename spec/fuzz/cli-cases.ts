/**
 * The CLI's hostile cases: a verb (`exec`, an `fs` operation, `metrics`) with words drawn from
 * what it takes and what it must refuse (unknown flags, values of the wrong type or range,
 * paths with newlines, invalid UTF-8 or thousands of bytes, missing operands, `--` anywhere),
 * run here or with `--url` against the fuzz world's daemon, with stdin empty, closed or huge,
 * stdout closed after one byte (`| head -c1`), and a SIGINT or SIGTERM mid-run.
 *
 * Words are kept as bytes written `\xHH` (cli-run.ts decodes them in the shell that executes
 * execd): invalid UTF-8 cannot be a JavaScript string. Every path is relative to the case's
 * own directory, and every local operation that changes files is confined with `--root`: a
 * case never reaches beyond its sandbox.
 */
import fc from 'fast-check'

export const FS_OPS = [
  'ls',
  'stat',
  'cat',
  'get',
  'put',
  'rm',
  'rmdir',
  'mv',
  'mkdir',
  'chmod',
  'search',
  'replace',
] as const
export type FsOp = (typeof FS_OPS)[number]
const CHANGING: readonly FsOp[] = ['put', 'rm', 'rmdir', 'mv', 'mkdir', 'chmod', 'replace', 'get']

export type Verb = 'exec' | 'metrics' | `fs ${FsOp}`
export type Stdin = 'empty' | 'closed' | 'huge' | 'small'

export interface CliCase {
  kind: 'cli'
  verb: Verb
  /** With `--url` of the world's daemon (and its token in EXECD_ACCESS_TOKEN). */
  remote: boolean
  /** The words after the verb, as bytes (`\xff` a raw byte). */
  words: string[]
  stdin: Stdin
  /** Read one byte of stdout, then close it (`| head -c1`). */
  headC1: boolean
  signal: { name: 'SIGINT' | 'SIGTERM'; afterMs: number } | null
}

/** Bytes that are not UTF-8, and a newline, inside names. */
const BAD_UTF8 = 'bad\\xff\\xfename'
const PATHS = [
  'a.txt',
  'sub',
  'sub/b.txt',
  'nope',
  'new.txt',
  'd/e/f',
  'a\nb',
  BAD_UTF8,
  '../a.txt',
  '.',
  '',
  '-',
  '--json',
  '-x',
  'x'.repeat(300),
  `${'d/'.repeat(40)}deep`,
  'y'.repeat(5000),
  'sp ace',
  '*',
]
const path = fc.constantFrom(...PATHS)

const NUMBERS = ['abc', '-5', '0', '1', '2', '1e99', '', '0x10', '99999999999999999999', ' 5', '1.5', '3000']
const number = fc.constantFrom(...NUMBERS)
const RANGES = ['0-3', '5-2', 'abc', '-', '1-', '-3', '18446744073709551616-', '0-0', '2-99999999']
const MODES = ['644', '755', '999', 'rwx', '-1', '', '07777', '0', '12345']
const OWNERS = ['root', 'nosuchuser', '0', '-1', '', '4294967296']
const ENVS = ['FOO=1', 'FOO', '=x', 'A\nB=1', 'EXECD_ACCESS_TOKEN=x', `K=${'v'.repeat(3000)}`]
const URLS = ['notaurl', 'http://127.0.0.1:1', 'http://[::1', 'ftp://x', '', 'http://user:pw@127.0.0.1:1/']
const UNKNOWN = ['--bogus', '-z', '--jsn', '--json=1', '---x', '--timeout=', '-', '--', '--help=x']

/**
 * What a shell or language runs: nothing here writes to stderr unless it is execd saying so (an
 * empty PATH in --env made `sleep` the shell's own 'No such file or directory', seed 5).
 */
export const SLEEP = '@SLEEP@'
const SHELL_CODE = ['true', 'echo hi', 'exit 3', `sleep ${SLEEP}`, 'seq 1 200000', 'printf x']
const PY_CODE = ['print(1)', 'pass', 'print("x" * 100000)']

type Gen = fc.Arbitrary<string[]>
const pair = (flag: string, value: fc.Arbitrary<string>): Gen => value.map(v => [flag, v])
const glued = (flag: string, value: fc.Arbitrary<string>): Gen => value.map(v => [`${flag}=${v}`])
const alone = (flag: string): Gen => fc.constant([flag])
const common: Gen[] = [
  alone('--json'),
  alone('-v'),
  alone('--verbose'),
  fc.constantFrom(...UNKNOWN).map(u => [u]),
  alone('--help'),
]

const FLAGS: Record<string, Gen[]> = {
  ls: [pair('--depth', number), pair('-d', number), glued('--depth', number)],
  cat: [pair('--range', fc.constantFrom(...RANGES)), pair('--offset', number), pair('--limit', number)],
  get: [pair('--range', fc.constantFrom(...RANGES))],
  put: [pair('--mode', fc.constantFrom(...MODES)), pair('--owner', fc.constantFrom(...OWNERS))],
  mkdir: [pair('-m', fc.constantFrom(...MODES)), pair('--group', fc.constantFrom(...OWNERS))],
  chmod: [pair('--owner', fc.constantFrom(...OWNERS))],
  rmdir: [alone('-r'), alone('--recursive')],
}

/** Operands of an fs operation: about as many as it takes, sometimes one short or one over. */
const ARITY: Record<FsOp, number> = {
  ls: 1,
  stat: 2,
  cat: 1,
  get: 2,
  put: 2,
  rm: 1,
  rmdir: 1,
  mv: 2,
  mkdir: 1,
  chmod: 2,
  search: 2,
  replace: 3,
}

function fsWords(op: FsOp): Gen {
  const operand =
    op === 'chmod'
      ? fc.oneof(fc.constantFrom(...MODES), path)
      : op === 'replace'
        ? fc.oneof(path, fc.constantFrom('inside', '', 'x\ny', 'zz'))
        : op === 'search'
          ? fc.oneof(path, fc.constantFrom('*.txt', '[', '**/**/**', '{a,b', '/abs'))
          : path
  const n = ARITY[op]
  return fc
    .tuple(
      fc.array(operand, { minLength: Math.max(0, n - 1), maxLength: n + 1 }),
      fc.array(fc.oneof(...common, ...(FLAGS[op] ?? [])), { maxLength: 3 }),
      fc.nat({ max: 6 }),
    )
    .map(([operands, flags, at]) => place(operands, flags.flat(), at))
}

/** Flags and operands in an order; `at` puts a `--` before the operands sometimes. */
function place(operands: string[], flags: string[], at: number): string[] {
  if (at === 0) return [...flags, '--', ...operands]
  if (at === 1) return [...operands, ...flags]
  if (at === 2 && operands.length) return [operands[0]!, ...flags, ...operands.slice(1)]
  return [...flags, ...operands]
}

const execWords: Gen = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...SHELL_CODE).map(code => ['--shell', code]),
      fc.constantFrom(...SHELL_CODE).map(code => ['bash', code]),
      fc.constantFrom(...PY_CODE).map(code => ['python', code]),
      fc.constantFrom('python', 'bash', 'nolang', '').map(l => [l]),
      fc.constantFrom<string[]>(['-f', '-', 'python'], ['-f', 'nope', 'bash'], ['-f', 'a\nb', 'bash'], ['--shell']),
      fc.constant<string[]>(['--list']),
    ),
    fc.array(
      fc.oneof(
        ...common,
        pair('--timeout', number),
        glued('--timeout', number),
        pair('--cwd', path),
        pair('--env', fc.constantFrom(...ENVS)),
        pair('--python-spare', number),
        pair('--command-log-max-bytes', number),
        pair('--command-interrupt-grace', number),
      ),
      { maxLength: 3 },
    ),
    fc.nat({ max: 6 }),
  )
  // After `--` every word is code: a `--` goes only between the language and its code.
  .map(([operands, flags, at]) =>
    at === 0 && operands.length === 2 && !operands[0]!.startsWith('-')
      ? [...flags.flat(), operands[0]!, '--', operands[1]!]
      : place(operands, flags.flat(), at === 0 ? 3 : at),
  )

const metricsWords: Gen = fc
  .array(
    fc.oneof(
      alone('--json'),
      alone('--watch'),
      fc.constantFrom(...UNKNOWN).map(u => [u]),
    ),
    { maxLength: 3 },
  )
  .map(w => w.flat())

const verb: fc.Arbitrary<Verb> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('exec' as Verb) },
  { weight: 1, arbitrary: fc.constant('metrics' as Verb) },
  { weight: 12, arbitrary: fc.constantFrom(...FS_OPS).map(op => `fs ${op}` as Verb) },
)

const wordsOf = (v: Verb): Gen =>
  v === 'exec' ? execWords : v === 'metrics' ? metricsWords : fsWords(v.slice(3) as FsOp)

export const cliCase: fc.Arbitrary<CliCase> = verb.chain(v =>
  fc.record({
    kind: fc.constant('cli' as const),
    verb: fc.constant(v),
    remote: fc.boolean(),
    words: fc
      .tuple(wordsOf(v), fc.option(fc.constantFrom(...URLS), { freq: 8 }))
      // A --url of its own comes first: after a `--` it would be an operand (code to run).
      .map(([w, url]) => (url === null ? w : ['--url', url, ...w])),
    stdin: fc.constantFrom<Stdin>('empty', 'empty', 'closed', 'small', 'huge'),
    headC1: fc.boolean(),
    signal: fc.option(
      fc.record({
        name: fc.constantFrom('SIGINT' as const, 'SIGTERM' as const),
        afterMs: fc.oneof(fc.constantFrom(0, 50), fc.integer({ min: 0, max: 1500 })),
      }),
      { freq: 3 },
    ),
  }),
)

/** Whether a local operation changes files: it gets `--root` (its sandbox), so it stays there. */
export const changesFiles = (v: Verb) => v.startsWith('fs ') && CHANGING.includes(v.slice(3) as FsOp)

/** The case as a shell would show it. */
export function cliLabel(c: CliCase): string {
  const shown = c.words.map(w =>
    /^[\w./=:@-]+$/.test(w) ? w : JSON.stringify(w.length > 60 ? `${w.slice(0, 60)}…(${w.length})` : w),
  )
  const how = [
    c.remote ? '--url <world>' : 'local',
    `stdin ${c.stdin}`,
    c.headC1 ? '| head -c1' : '',
    c.signal ? `${c.signal.name} at ${c.signal.afterMs} ms` : '',
  ].filter(Boolean)
  return `execd ${c.verb} ${shown.join(' ')} (${how.join(', ')})`
}
