/** Summaries of repeated measurements: medians and tail percentiles, never means. */

export interface Summary {
  n: number
  median: number
  p99: number
  min: number
  max: number
}

/** Nearest-rank percentile (q in 0..1) of unsorted samples. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1] ?? NaN
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    median: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
  }
}

/** One line for a script's report: `median 1.23 ms, p90 4.56 ms (n=200)`. */
export function describeMs(samples: readonly number[]): string {
  const at = (q: number) => percentile(samples, q).toFixed(2)
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms (n=${samples.length})`
}
