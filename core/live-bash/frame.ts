/**
 * What execd writes to a live bash around each run's code: the line that sources the run's file
 * and prints its end markers, and the code file's own first words. The run's code may have
 * redefined anything by name, so the line looks up as little as it can and leaves no trace:
 * - command words are quoted (`\builtin`), so a run's alias (`alias builtin=echo`, expanded since
 *   the prelude's `expand_aliases`) cannot replace them: that alias printed the line's own words
 *   and reported exit 0 for code that never ran;
 * - the status goes straight from `$?` into the marker, through no variable a run can make
 *   readonly (`readonly __execd_s` aborted the line: every later run hung until its timeout);
 * - the marker is printed from two halves, so it never stands whole in the line: a trace of the
 *   line (`set -x`, `set -v`, a DEBUG trap echoing `$BASH_COMMAND`) cannot end a run early;
 * - xtrace is switched off once the code has run, inside a group whose stderr is /dev/null, and
 *   switched on again by the next code file's first words: `set -x` used to trace the line into
 *   every later run's stderr, and the stderr marker's trace ended the run early, handing the
 *   previous run's marker and trace to the next run.
 * A function named `builtin` still takes the line over (own shell only): only POSIX mode looks
 * past functions, and bash 5.2 leaving POSIX mode resets `expand_aliases`, `sourcepath` and
 * `inherit_errexit`, which a run may rely on.
 */

/**
 * `return` in the INT trap leaves the sourced run, not the shell, so an interrupt stops the
 * rest of the run; it is set again before each run in case the code replaced it.
 */
export const INT_TRAP = "\\trap 'return 130 2>/dev/null' INT; "

/** The line that runs `file` in the shell (in `cwd` first) and then prints the run's `marker`. */
export function runLine(marker: string, file: string, cwd?: string): string {
  const half = marker.length >> 1
  const a = quote(marker.slice(0, half))
  const b = quote(marker.slice(half))
  const cd = cwd ? `\\builtin cd -- ${quote(cwd)} && ` : ''
  return (
    `${INT_TRAP}${cd}\\builtin source ${quote(file)} </dev/null; ` +
    `{ \\builtin printf '%s%s:%s:%s\\n' ${a} ${b} "$?" "$-"; \\builtin set +x; } 2>/dev/null; ` +
    `\\builtin printf '%s%s' ${a} ${b} >&2\n`
  )
}

/**
 * The code file's text: the code, after `set -x` again when the shell traced the run before
 * (the line switched it off). On the code's own first line, so `$LINENO` stays the code's.
 */
export function codeText(code: string, xtrace: boolean): string {
  return xtrace ? `\\builtin set -x; ${code}` : code
}

export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
