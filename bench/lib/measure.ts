/**
 * Interleaved repetitions: the sides being compared take turns (and the turn order rotates)
 * so that noise from the other tenants of this shared machine hits both alike.
 */

export interface Side<N extends string = string> {
  name: N
  /** One repetition; returns its measurement (ms for latencies, or any unit the row chooses). */
  once(): Promise<number>
}

export interface InterleaveOptions {
  reps: number
  warmup?: number
  /** Stop after this long (ms) even if fewer reps ran, as long as `minReps` ran. */
  budgetMs?: number
  minReps?: number
}

/** Runs every side `reps` times, alternating; returns the samples per side name. */
export async function interleave<N extends string>(
  sides: readonly Side<N>[],
  opts: InterleaveOptions,
): Promise<Record<N, number[]>> {
  const samples = Object.fromEntries(sides.map(s => [s.name, [] as number[]])) as Record<N, number[]>
  for (let i = 0; i < (opts.warmup ?? 0); i++) for (const side of sides) await side.once()
  const t0 = performance.now()
  for (let rep = 0; rep < opts.reps; rep++) {
    // Each side once a rep, starting one further each time.
    for (const side of [...sides.slice(rep % sides.length), ...sides.slice(0, rep % sides.length)]) {
      samples[side.name].push(await side.once())
    }
    if (opts.budgetMs && performance.now() - t0 > opts.budgetMs && rep + 1 >= (opts.minReps ?? 1)) break
  }
  return samples
}

/** Times one async call in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}
