/**
 * What execd writes to a live bash: the prelude, and the line around each run's code. The code
 * may redefine anything by name, so the line looks up as little as it can and leaves no trace:
 * - command words are quoted (`\builtin`), so a run's alias (`alias builtin=echo`, expanded since
 *   the prelude's `expand_aliases`) cannot replace them: that alias printed the line's own words
 *   and reported exit 0 for code that never ran;
 * - the status goes from `$?` into the marker as an argument, through no variable a run can make
 *   readonly (`readonly __execd_s` aborted the line: every later run hung until its timeout);
 * - the marker is printed from two halves, so it never stands whole in the line: a trace of the
 *   line (`set -x`, `set -v`, a DEBUG trap echoing `$BASH_COMMAND`) cannot end a run early;
 * - xtrace is switched off once the code has run and on again before the next run's code, both
 *   where the trace goes to /dev/null: `set -x` used to trace the line into every later run's
 *   stderr, and the stderr marker's trace ended the run early, handing the previous run's marker
 *   and trace to the next run;
 * - the end is a readonly function defined before any code ran (its words' aliases were expanded
 *   then, when there were none; a run can neither redefine nor unset it), which removes a function
 *   named `builtin` — every other word calls it — and sets the INT trap in a moment of POSIX mode,
 *   where special builtins (`unset`, `trap`) come before functions. A function named `builtin`
 *   hung its run and every later one until the timeout; so did `enable -n printf`, now undone
 *   (with `builtin`, `source`, `cd`, `set` and `shopt`). bash 5.2 leaving POSIX mode resets five
 *   shopts: the function sets them back from `$BASHOPTS` as the run left them, handed to it as an
 *   argument.
 * The function is the one trace of execd a run can see (`declare -F` lists it).
 */

const END = '__execd_end'

/**
 * `return` in the INT trap leaves the sourced run, not the shell, so an interrupt stops the
 * rest of the run; not inside the end function, whose marker must still be printed.
 */
const INT_TRAP = `trap '[[ \${FUNCNAME-} == ${END} ]] || return 130 2>/dev/null' INT`

/** What bash 5.2 resets when it leaves POSIX mode (general.c posix_initialize), as shopt names. */
const POSIX_RESETS = ['expand_aliases', 'inherit_errexit', 'interactive_comments', 'shift_verbose', 'sourcepath']

/**
 * Functions named `builtin` or `enable` removed, and the builtins the line and the end function
 * call enabled again: `enable -n printf` hung every later run until its timeout.
 */
const UNSHADOW = 'unset -f builtin enable; enable builtin printf source cd set shopt exec 2>/dev/null'

/**
 * The shell moves to the FIFO of the next line (command-stream.ts), where one is named ($7): with
 * `exec` itself (`builtin exec` redirects for itself only, and bash reads on where it read) and in
 * POSIX mode, where `exec`, a special builtin, comes before a function of that name. A failed
 * redirection of `exec` ends a shell in POSIX mode: only a readable FIFO is opened.
 */
const MOVE = '[[ -n $7 && -p $7 && -r $7 ]] && exec 0<"$7"'

/**
 * The end function: $1 the code's status, $2 `$-`, $3 `$SHELLOPTS`, $4 `$BASHOPTS`, $5 and $6
 * the marker's halves, $7 the next line's FIFO or ''. Prints `<marker>:<status>:<$->`, and `:1`
 * after it once the shell reads the FIFO (its stdin is that file: /proc/self/fd/0, not
 * /dev/stdin, which a bare container's /dev may lack — the shell then seemed not to have moved,
 * its FIFO was closed under it, and every session ended at its first run), and switches xtrace off.
 */
const END_FUNCTION = [
  `${END}() {`,
  '  case :$3: in',
  `  *:posix:*) ${UNSHADOW}; ${INT_TRAP}; ${MOVE} ;;`,
  `  *) POSIXLY_CORRECT=y; ${UNSHADOW}; ${INT_TRAP}; ${MOVE}; unset POSIXLY_CORRECT`,
  ...POSIX_RESETS.map(o => `    case :$4: in *:${o}:*) builtin shopt -s ${o} ;; *) builtin shopt -u ${o} ;; esac`),
  '  esac',
  '  if [[ -n $7 && /proc/self/fd/0 -ef $7 ]]; then',
  `    builtin printf '%s%s:%s:%s:1\\n' "$5" "$6" "$1" "$2"`,
  `  else builtin printf '%s%s:%s:%s\\n' "$5" "$6" "$1" "$2"; fi`,
  '  builtin set +x',
  '}',
].join('\n')

/** Sent once as the shell starts, before any code: aliases as in an interactive shell. */
export const PRELUDE = `shopt -s expand_aliases\n${END_FUNCTION}\nreadonly -f ${END}\n${INT_TRAP}\n`

/**
 * The line that runs `file` in the shell (in `cwd` first) and then prints the run's `marker`.
 * `xtrace`: the shell traced as the run before ended, and the end switched it off; it is switched
 * on again inside a group whose stderr is /dev/null, where the trace of `cd` and `source` goes —
 * `source` itself writes to the run's stderr, kept on fd 63 for it. (In the code file instead, a
 * syntax error on the code's first line kept it from running, and tracing stopped for good.)
 */
export function runLine(
  marker: string,
  file: string,
  cwd: string | undefined,
  xtrace: boolean,
  next: string | undefined,
): string {
  const half = marker.length >> 1
  const a = quote(marker.slice(0, half))
  const b = quote(marker.slice(half))
  const cd = cwd ? `\\builtin cd -- ${quote(cwd)} && ` : ''
  const source = `\\builtin source ${quote(file)} </dev/null`
  // 63 closed for the code: what it ran had the run's stderr there too, open in every program.
  const run = xtrace ? `{ \\builtin set -x; ${cd}${source} 2>&63 63>&-; } 63>&2 2>/dev/null; ` : `${cd}${source}; `
  return (
    `${run}{ \\${END} "$?" "$-" "$SHELLOPTS" "$BASHOPTS" ${a} ${b} ${quote(next ?? '')}; } 2>/dev/null; ` +
    `\\builtin printf '%s%s' ${a} ${b} >&2\n`
  )
}

export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
