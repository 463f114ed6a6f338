/**
 * The one environment every child execd starts gets (commands, sessions, code contexts'
 * interpreters, terminals): execd's own as it is at the start, minus every option declared
 * `secret`, plus what the caller adds (a command's `EXECD_ENVS` file and request `envs`, a
 * terminal's `TERM`…). `serve` already deletes the secrets from `process.env`
 * (core/secrets.ts), but CLI verbs and tests build apps without that, so the secrets are
 * dropped here too: every `Config` declares its secret options' variables on construction.
 * The EXECD_OWNER marker is added later by core/process.ts.
 *
 * `BUN_OPTIONS` is withheld too: Bun reads it as more command-line words of every Bun process,
 * execd's own runtime included, so in execd's environment it is the operator's word to execd
 * (a `--preload`, `--smol`). Handed down, a preload meant for the daemon ran in every javascript,
 * typescript and sql interpreter (execd run again as Bun) and in a user's own `bun`. A child that
 * should have it gets it as any variable: a request's `envs` or the `EXECD_ENVS` file. The other
 * `BUN_*` variables stay: Bun's JSC tuning an operator set is as right for a child's runtime as
 * for execd's, and the transpiler cache path is passed on on purpose (core/self-exec.ts).
 */

type Env = Record<string, string | undefined>

/** Variables of options declared `secret` (the server's own are declared by core/config.ts), and Bun's command line. */
const withheld = new Set<string>(['BUN_OPTIONS'])

/** Never hands these variables to a child from now on. */
export function withholdFromChildren(names: Iterable<string>): void {
  for (const n of names) {
    withheld.add(n)
    if (kept) delete kept[n]
  }
}

/**
 * execd's environment less the withheld, as it was when `keepChildEnv` was called: a copy of
 * this plain object is what a child's environment starts from then. Bun's `process.env` is no
 * plain object: spread, it is read from the runtime's environment each time (~33k instructions,
 * 8-10 µs a spawn, on the path of every command); a copy of this one is ~0.4 µs.
 */
let kept: Record<string, string> | undefined

/**
 * serve, once it has set its own environment (the secrets withdrawn, its debug variables
 * taken): from now on children start from a copy of the environment as it is now. Nothing in
 * serve changes `process.env` after this; `withholdFromChildren` still applies.
 */
export function keepChildEnv(keep = true): void {
  kept = undefined
  if (keep) kept = childEnv()
}

/** Whether `name` is withheld from children. */
export const isWithheld = (name: string): boolean => withheld.has(name)

/** `env` (execd's by default) without the withheld variables, then `extra` on top. */
export function childEnv(extra: Record<string, string> = {}, env: Env = process.env): Record<string, string> {
  let out: Record<string, string>
  if (env === process.env && kept) out = { ...kept }
  else if (env === process.env) {
    // Only strings there: a spread lists Bun's process.env ~5x faster than Object.entries
    // (5 against 25 µs here), and every spawn waits for it.
    out = { ...process.env } as Record<string, string>
    for (const k of withheld) if (k in out) delete out[k]
  } else {
    out = {}
    for (const [k, v] of Object.entries(env)) if (v !== undefined && !withheld.has(k)) out[k] = v
  }
  return Object.assign(out, extra)
}
