/** What a row module exports, and helpers to fill its results. */
import type { RowResult } from './report'

export interface BenchRow {
  /** The row number: '1' … '8'. */
  id: string
  title: string
  /** Measures and returns one or more table lines; throws Skip when the build lacks the section. */
  run(): Promise<RowResult[]>
}

/** A table line for a baseline that is not installed: reported, not fatal. */
export const missingBaseline = (row: string, what: string, why: string): RowResult => ({ row, what, skipped: why })

type Judged = Pick<RowResult, 'ratio' | 'ratioLabel' | 'target' | 'pass'>

/** A ratio in `unit` (`× faster`), judged against `bound` when given: at least it, or at most it. */
function judged(ratio: number, unit: string, bound: number | undefined, atLeast: boolean): Judged {
  return {
    ratio,
    ratioLabel: `× ${unit}`,
    target: bound === undefined ? undefined : `${atLeast ? '≥' : '≤'} ${bound}× ${unit}`,
    pass: bound === undefined ? null : atLeast ? ratio >= bound : ratio <= bound,
  }
}

/** Speedup (baseline time ÷ ours), judged against `atLeast` when given. */
export const speedup = (ours: number, base: number, atLeast?: number): Judged =>
  judged(base / ours, 'faster', atLeast, true)

/** Time ratio (ours ÷ baseline), judged against `atMost` when given. */
export const timeRatio = (ours: number, base: number, atMost?: number): Judged =>
  judged(ours / base, 'the time', atMost, false)

/** Rate ratio (ours ÷ baseline throughput), judged against `atLeast` when given. */
export const rateRatio = (ours: number, base: number, atLeast?: number): Judged =>
  judged(ours / base, 'the rate', atLeast, true)
