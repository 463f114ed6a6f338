/**
 * Interleaved repetitions: the sides being compared take turns (and the turn order rotates)
 * so that noise from the other tenants of this shared machine hits both alike.
 */

export interface Side {
  name: string
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
export async function interleave(sides: readonly Side[], opts: InterleaveOptions): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(sides.map(s => [s.name, []]))
  for (let i = 0; i < (opts.warmup ?? 0); i++) for (const side of sides) await side.once()
  const t0 = performance.now()
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(rep + k) % sides.length]
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
