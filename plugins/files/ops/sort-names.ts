/**
 * Sorting a directory's names a slice at a time. A directory may hold millions of entries;
 * one `sort()` of 300,000 names (with the pass that built them) held the event loop half a
 * second. Slices are sorted and merged pairwise, with a pause for the loop after each
 * `SLICE` names handled, so no step takes longer than a slice's worth of work.
 */
import { nextTurn } from '../../../core/timers'

const SLICE = 4_096

/** `items.map(fn)`, pausing for the event loop between slices. */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T) => U): Promise<U[]> {
  const out: U[] = []
  for (let from = 0; from < items.length; from += SLICE) {
    if (from) await nextTurn()
    for (const item of items.slice(from, from + SLICE)) out.push(fn(item))
  }
  return out
}

/** The strings in code-unit order (as `sort()`), sorted and merged a slice at a time. */
export async function sortInSlices(items: string[]): Promise<string[]> {
  if (items.length <= SLICE) return items.sort()
  let runs: string[][] = []
  for (let from = 0; from < items.length; from += SLICE) {
    runs.push(items.slice(from, from + SLICE).sort())
    await nextTurn()
  }
  while (runs.length > 1) {
    const merged: string[][] = []
    for (let i = 0; i < runs.length; i += 2) merged.push(await merge(runs[i] ?? [], runs[i + 1] ?? []))
    runs = merged
  }
  return runs[0] ?? []
}

async function merge(a: string[], b: string[]): Promise<string[]> {
  const out: string[] = new Array(a.length + b.length)
  let i = 0
  let j = 0
  for (let k = 0; k < out.length; k++) {
    if (k && k % SLICE === 0) await nextTurn()
    const x = a[i]
    const y = b[j]
    if (y === undefined || (x !== undefined && x <= y)) {
      out[k] = x as string
      i++
    } else {
      out[k] = y
      j++
    }
  }
  return out
}
