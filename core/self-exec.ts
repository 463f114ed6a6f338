/** How execd runs itself again as Bun: the interpreters that are Bun programs (javascript, typescript, sql). */

/**
 * This executable, for a child that runs it again as Bun (BUN_BE_BUN): the kernel's link to the
 * file that runs, resolved in the child before its exec. process.execPath is a path: once an
 * upgrade renamed another file over it (or removed it), such children failed to start, or would
 * have run another version than the driver they were handed.
 */
export const SELF_EXECUTABLE = '/proc/self/exe'

/**
 * `env` for SELF_EXECUTABLE run as Bun. Bun keeps a cache of the files it transpiles under
 * `$HOME/.bun/install/cache` unless told where (`0`: nowhere): every javascript, typescript and
 * sql interpreter wrote there, outside a `--root` the daemon was confined to. Measured without
 * it (medians of 15 starts and 250 warm cells, interleaved, load 6): javascript context start to
 * first result 29.2 → 28.5 ms, a warm cell 0.39 → 0.41 ms; typescript 34.5 → 34.4 ms and 0.33 →
 * 0.34 ms; a first cell that loads the DOM (1 MiB of happy-dom) 113.7 → 117.7 ms. A path the
 * operator gave is kept; a cell sees the variable, and Bun processes it starts write no cache
 * either.
 */
export function asBunEnv(env: Record<string, string>): Record<string, string> {
  return { ...env, BUN_BE_BUN: '1', BUN_RUNTIME_TRANSPILER_CACHE_PATH: env.BUN_RUNTIME_TRANSPILER_CACHE_PATH ?? '0' }
}
