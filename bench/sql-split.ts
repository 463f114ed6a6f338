/**
 * The SQL splitter (plugins/sql/split.ts) over ordinary and adversarial cells, each dialect,
 * against another version of it taking turns (a file, e.g. stop 53's from `git show`):
 *   bun run bench/sql-split.ts [other-split.ts] [MiB]
 * SPLIT_ROWS (a regex) picks rows by name. Stop 53's splitter did not finish 1 MiB of unclosed
 * `/*` in 9 minutes (its comment-only test, a lazy regex from each `/*`): against it,
 * `SPLIT_ROWS='^(?!adv)'` leaves the adversarial rows out.
 * Prints the median and p99 ms per cell and their ratio. Not part of `make test`: the splitter's
 * tests assert what it cuts, this how fast, which a shared machine cannot assert.
 */
import { splitStatements, type Dialect } from '../plugins/sql/split'

type Split = (text: string, dialect: Dialect) => string[]
const otherPath = process.argv[2]
const other: Split | undefined = otherPath ? (await import(otherPath)).splitStatements : undefined
const size = Math.round(Number(process.argv[3] ?? 1) * (1 << 20))
const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)

const cells: [string, Dialect, string][] = [
  ['inserts', 'mysql', fill('INSERT INTO t (a, b) VALUES (1, \'x;y\'), (2, "z"); -- note\n')],
  ['inserts', 'postgres', fill("INSERT INTO t (a, b) VALUES (1, 'x;y'), (2, E'z\\''); /* c */\n")],
  ['inserts', 'sqlite', fill("INSERT INTO t (a, b) VALUES (1, 'x;y'), (2, [z]);\n")],
  ['words', 'sqlite', fill('select a from b where c and d or e;\n')],
  ['procedure', 'mysql', fill('CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END;\n')],
  ['spaces', 'sqlite', fill(' ')],
  ['adv unclosed /*', 'mysql', fill('/* ')],
  ['adv unclosed /*!', 'mysql', fill('/*! ')],
  ['adv --1', 'mysql', fill('SELECT 1--1;\n')],
  ['adv unclosed quotes', 'mysql', fill('\' " ')],
  ['adv backslashes', 'mysql', `SELECT '${fill('\\')}`],
  ['adv $$ tags', 'postgres', fill('$a$ ')],
  ['adv $ alone', 'postgres', fill('$ ')],
  ['punctuation', 'sqlite', fill('(),+')],
]

const turns = Number(process.env.SPLIT_TURNS ?? 15)
const ms = (f: () => unknown) => {
  const t = performance.now()
  f()
  return performance.now() - t
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!

console.log(`${(size / (1 << 20)).toFixed(2)} MiB cells, ${turns} turns each${other ? `, against ${otherPath}` : ''}`)
const rows = new RegExp(process.env.SPLIT_ROWS ?? '')
for (const [name, dialect, text] of cells.filter(([name]) => rows.test(name))) {
  const ours: number[] = []
  const theirs: number[] = []
  for (let k = 0; k < turns; k++) {
    // Turns alternate which goes first, so a burst of load hits both alike.
    if (other && k % 2) theirs.push(ms(() => other(text, dialect)))
    ours.push(ms(() => splitStatements(text, dialect)))
    if (other && !(k % 2)) theirs.push(ms(() => other(text, dialect)))
  }
  const row = `${`${name} (${dialect})`.padEnd(28)} ${median(ours).toFixed(1).padStart(8)} ms  p99 ${p99(ours).toFixed(1).padStart(8)}`
  console.log(
    other
      ? `${row}   other ${median(theirs).toFixed(1).padStart(8)} ms  p99 ${p99(theirs).toFixed(1).padStart(8)}   ${(median(ours) / median(theirs)).toFixed(2)}×`
      : row,
  )
}
