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

/** Speedup (baseline time ÷ ours), judged against `atLeast` when given. */
export function speedup(
  ours: number,
  base: number,
  atLeast?: number,
): Pick<RowResult, 'ratio' | 'ratioLabel' | 'target' | 'pass'> {
  const ratio = base / ours
  return {
    ratio,
    ratioLabel: '× faster',
    target: atLeast === undefined ? undefined : `≥ ${atLeast}× faster`,
    pass: atLeast === undefined ? null : ratio >= atLeast,
  }
}

/** Time ratio (ours ÷ baseline), judged against `atMost` when given. */
export function timeRatio(
  ours: number,
  base: number,
  atMost?: number,
): Pick<RowResult, 'ratio' | 'ratioLabel' | 'target' | 'pass'> {
  const ratio = ours / base
  return {
    ratio,
    ratioLabel: '× the time',
    target: atMost === undefined ? undefined : `≤ ${atMost}× the time`,
    pass: atMost === undefined ? null : ratio <= atMost,
  }
}

/** Rate ratio (ours ÷ baseline throughput), judged against `atLeast` when given. */
export function rateRatio(
  ours: number,
  base: number,
  atLeast?: number,
): Pick<RowResult, 'ratio' | 'ratioLabel' | 'target' | 'pass'> {
  const ratio = ours / base
  return {
    ratio,
    ratioLabel: '× the rate',
    target: atLeast === undefined ? undefined : `≥ ${atLeast}× the rate`,
    pass: atLeast === undefined ? null : ratio >= atLeast,
  }
}
