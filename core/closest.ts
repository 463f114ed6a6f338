/**
 * "Did you mean": the word a mistyped one was most likely meant to be, among `candidates`. Only
 * near misses (a letter dropped, doubled, swapped or wrong after the first, a prefix): a word far
 * from everything gets no guess rather than a wrong one. The CLI's usage errors (cmd/suggest.ts)
 * and the daemon's unknown language ask it.
 */

/** Longer words get no guess: the distance is quadratic, and a request's word has no other bound here. */
const MAX_WORD = 64

/** Edit distance with adjacent swaps counted as one (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The candidate `typed` is a near miss of, if exactly one is nearest. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const bare = (w: string) => w.replace(/^-+/, '').toLowerCase()
  const word = bare(typed)
  if (!word || word.length > MAX_WORD) return undefined
  const allowed = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestScore = Infinity
  let tie = false
  for (const candidate of new Set(candidates)) {
    const other = bare(candidate)
    // Typos rarely hit the first letter, and a guess past it misleads: serve's `--shell` (exec's
    // option, given to the wrong verb) is one letter from `--jshell`.
    if (other[0] !== word[0]) continue
    // A prefix of at least three letters (`--verb` for --verbose) is as near as a typo.
    const score = other.length > word.length && word.length >= 3 && other.startsWith(word) ? 1 : distance(word, other)
    if (score > allowed) continue
    if (score < bestScore) [best, bestScore, tie] = [candidate, score, false]
    else if (score === bestScore) tie = true
  }
  return tie ? undefined : best
}
