/** Bench sizes and repetition counts, overridable from the environment (see README). */

const num = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`)
  return value
}

const GiB = 1024 * 1024 * 1024

export const benchConfig = {
  /** Bytes for row 4 (command output) and row 5 (download and upload). */
  bytes: num('BENCH_BYTES', GiB),
  /** Multiplies every repetition count: 0.2 for a quick look, 3 for a quieter machine. */
  repScale: num('BENCH_REPS_SCALE', 1),
  /** Seconds of load in row 6. */
  concurrencySeconds: num('BENCH_LOAD_SECONDS', 20),
  /** Concurrent command streams and metrics watchers in row 6. */
  commandClients: num('BENCH_COMMAND_CLIENTS', 200),
  watchClients: num('BENCH_WATCH_CLIENTS', 50),
  /**
   * Row 1: untimed rounds of its cheap sides (execd, relay, pings; not Jupyter) before the
   * measured ones, so both servers are measured with their JIT settled (0: as before; execd's
   * cell path tiers up over ~3000 cells, the relay's in a few dozen).
   */
  jitWarmup: Number(process.env.BENCH_JIT_WARMUP ?? 0) === 0 ? 0 : Math.round(num('BENCH_JIT_WARMUP', 0)),
  /** Only these rows (comma-separated numbers), e.g. BENCH_ROWS=7,8. */
  rows: (process.env.BENCH_ROWS ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean),
}

/** A repetition count scaled by BENCH_REPS_SCALE, at least `min`. */
export const reps = (n: number, min = 3): number => Math.max(min, Math.round(n * benchConfig.repScale))
