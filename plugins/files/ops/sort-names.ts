/**
 * Sorting a directory's names a slice at a time. A directory may hold millions of entries;
 * one `sort()` of 300,000 names (with the pass that built them) held the event loop half a
 * second. Slices are sorted, then merged pairwise, with a pause for the loop after each
 * `SLICE` items handled, so no step takes longer than a slice's worth of work. What is sorted
 * is the names' indices, in two typed arrays that take turns: the merges of arrays of
 * numbers made ~100 bytes of garbage a name, and 600,000 names peaked at 67 MB.
 */
import { nextTurn } from '../../../core/timers'

const SLICE = 4_096
/**
 * Indices sorted at once before the merges: fewer than a slice, as the comparison starts
 * cold (not yet compiled): the first 4,096 took 22–29 ms where the next took 0.4–0.7.
 */
const RUN = 1_024

/** 0 … n−1 in `compare`'s order. */
export async function sortIndices(n: number, compare: (a: number, b: number) => number): Promise<Uint32Array> {
  let from = new Uint32Array(n)
  for (let i = 0; i < n; i++) from[i] = i
  for (let at = 0; at < n; at += RUN) {
    if (at) await nextTurn()
    from.subarray(at, at + RUN).sort(compare)
  }
  if (n <= RUN) return from
  let to = new Uint32Array(n)
  let handled = 0
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n)
      const hi = Math.min(lo + 2 * width, n)
      let i = lo
      let j = mid
      for (let k = lo; k < hi; k++) {
        if (++handled % SLICE === 0) await nextTurn()
        to[k] = j >= hi || (i < mid && compare(from[i]!, from[j]!) <= 0) ? from[i++]! : from[j++]!
      }
    }
    ;[from, to] = [to, from]
  }
  return from
}
