/**
 * The one place that decides whether the CLI's own lines may hold non-ASCII marks (the prompt's
 * banner's em dash, a progress line's `…`, help's `args…`): as they are under a UTF-8 locale,
 * in ASCII under any other (`LC_ALL=C`, or none set: a terminal reading bytes as Latin-1 or
 * ASCII showed `â€"`). What a cell or a file says is theirs and goes out as it came.
 */

/** Whether the locale's characters are UTF-8: LC_ALL, else LC_CTYPE, else LANG, as POSIX orders them. */
export function utf8Locale(env: Record<string, string | undefined> = process.env): boolean {
  return /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '')
}

const ASCII: Record<string, string> = {
  '—': '-',
  '–': '-',
  '…': '...',
  '’': "'",
  '‘': "'",
  '“': '"',
  '”': '"',
  '→': '->',
}
const MARKS = new RegExp(`[${Object.keys(ASCII).join('')}]`, 'g')

/** `text` for the terminal: as it is under a UTF-8 locale, its marks in ASCII otherwise. */
export function localText(text: string, utf8 = utf8Locale()): string {
  return utf8 ? text : text.replace(MARKS, m => ASCII[m]!)
}
