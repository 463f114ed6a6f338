/**
 * The wall clock of one execd, stepped by the test (spec/kit/wall-clock.c, built here with the
 * machine's C compiler and preloaded): the machine's own clock is shared and left alone.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface WallClock {
  /** What startDaemon's `env` needs to run execd on this clock. */
  env: Record<string, string>
  /** The real clock again. */
  real(): void
  /** Stepped by `ms` from now (back if negative), and standing still there. */
  stepAndStop(ms: number): void
  /** Every read `ms` later than the one before: a clock stepped forward between any two reads. */
  race(ms: number): void
}

/** Builds the shim into `dir`; a string says why it cannot (no C compiler). */
export function wallClock(dir: string): WallClock | string {
  const lib = join(dir, 'wall-clock.so')
  const built = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', lib, join(import.meta.dir, 'wall-clock.c'), '-ldl'])
  if (built.error || built.status !== 0) return `no C compiler to build the clock shim (${built.error ?? built.stderr})`
  const file = join(dir, 'wall-clock')
  const set = (v: bigint) => {
    const b = Buffer.alloc(8)
    b.writeBigInt64LE(v)
    // Written in place: execd has the file mapped.
    writeFileSync(file, b, { flag: 'r+' })
  }
  writeFileSync(file, Buffer.alloc(8))
  return {
    env: { LD_PRELOAD: lib, FAKE_WALL_FILE: file },
    real: () => set(0n),
    stepAndStop: ms => set(BigInt(Date.now() + ms) * 1_000_000n),
    race: ms => set(-BigInt(ms) * 1_000_000n),
  }
}
