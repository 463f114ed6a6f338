/**
 * `execd serve` with its usual words, started without the CLI: the entry comes here first for
 * `serve`, and loads cli.ts (every verb, cac's program, help, suggestions) only for words that
 * need cac, or to report a failure. Through the CLI's chunk, the start every container pays ran
 * 0.14 M more instructions on its main thread before listening (bench/start-instructions.ts).
 */
import { allOptions, checkWholeNumbers } from './options'
import { plainServeFlags } from './serve-flags'

/** serve with `options` as the CLI reads them (cac's, or the plain reading below). */
export async function runServe(options: Record<string, unknown>): Promise<void> {
  checkWholeNumbers(allOptions, options)
  const { serve } = await import('./serve')
  await serve(options)
}

/**
 * Serves when `words` (`serve` first) are plain (serve-flags.ts), and says whether it did; it
 * returns once listening. A failure is the CLI's to report: one line and an exit code.
 */
export async function servePlain(words: readonly string[]): Promise<boolean> {
  const plain = plainServeFlags(words.slice(1), allOptions)
  if (!plain) return false
  try {
    await runServe(plain)
  } catch (err) {
    const [{ exit }, { report }] = await Promise.all([import('./cli'), import('./errors')])
    await exit(report(err, words.includes('--json')))
  }
  return true
}
