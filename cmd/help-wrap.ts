/**
 * `--help` fitted to the reader's width: cac prints each option's description on one line (up to
 * 300 columns for serve's), which a terminal wraps at its edge into the flag column, and a pager
 * or a file shows whole. Descriptions are wrapped at the terminal's width (80 when stdout is no
 * terminal), each continued under its own column, as git's and cargo's help are.
 */

/** A help section as cac hands it to `cli.help(...)`. */
export interface HelpSection {
  title?: string
  body: string
}

/** Below this, a terminal cannot show a flag and a word of its description on one row. */
const NARROWEST = 20
/** A description with less room than this beside its flags starts on the next row instead. */
const LEAST_ROOM = 24
/** The indent of a description moved under its flags. */
const UNDER = 6

/** The width help is wrapped at: the terminal's, or 80 for a pipe or a file. */
export function helpWidth(stdout: { isTTY?: boolean; columns?: number } = process.stdout): number {
  const columns = stdout.isTTY && Number.isInteger(stdout.columns) ? stdout.columns! : 80
  return Math.max(NARROWEST, columns)
}

/**
 * The sections with their two-column rows (flags or a name, then a description) wrapped at
 * `width`. Usage and examples are left whole: a command wrapped is a command that cannot be
 * copied.
 */
export function wrapHelp(sections: HelpSection[], width = helpWidth()): HelpSection[] {
  return sections.map(s =>
    /^(Usage|Examples)/.test(s.title ?? '')
      ? s
      : {
          ...s,
          body: s.body
            .split('\n')
            .map(l => wrapRow(l, width))
            .join('\n'),
        },
  )
}

function wrapRow(line: string, width: number): string {
  const row = line.trimEnd()
  if (row.length <= width) return row
  // The description's column: after the indent, the flags and a gap of two or more spaces.
  const cells = /^(\s*\S(?:\S| (?! ))*) {2,}(?=\S)/.exec(row)
  if (!cells) return row
  const column = cells[0].length
  const words = row.slice(column).split(/ +/)
  const indent = width - column >= LEAST_ROOM ? column : UNDER
  const rows = indent === column ? [cells[0]] : [cells[1]!, ' '.repeat(indent)]
  for (const w of words) {
    const last = rows[rows.length - 1]!
    const fresh = last.length === indent
    if (fresh || last.length + 1 + w.length <= width) rows[rows.length - 1] = fresh ? last + w : `${last} ${w}`
    else rows.push(' '.repeat(indent) + w)
  }
  return rows.join('\n')
}
