/** `-h`/`--help` before a `--` (after it, the words are the main process's). */
export function helpAsked(words: string[]): boolean {
  for (const w of words) {
    if (w === '--') return false
    if (w === '-h' || w === '--help') return true
  }
  return false
}
