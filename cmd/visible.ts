/**
 * Text the CLI did not write itself (file names, owner names, a daemon's error messages) made
 * safe to print for a person: a name holding ESC sequences could recolour, retitle or clear the
 * terminal, move the cursor over earlier lines, or (some terminals) answer back as if typed; a
 * newline in a name forges a second row or error line. Control characters (C0, DEL, C1), the line
 * and paragraph separators and the bidirectional overrides (text that reads other than it runs)
 * are shown as escapes, like `ls -b`. What a person asked to see raw — a file's content
 * (`fs cat`), a program's output (`exec`) — is not passed through this; `--json` keeps every byte.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' }

export const visible = (text: string): string =>
  text.replace(UNSAFE, c => {
    const code = c.charCodeAt(0)
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`)
  })
