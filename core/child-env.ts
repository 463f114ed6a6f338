/**
 * The one environment every child execd starts gets (commands, sessions, code contexts'
 * interpreters, terminals): execd's own as it is at the start, minus every option declared
 * `secret`, plus what the caller adds (a command's `EXECD_ENVS` file and request `envs`, a
 * terminal's `TERM`…). `serve` already deletes the secrets from `process.env`
 * (core/secrets.ts), but CLI verbs and tests build apps without that, so the secrets are
 * dropped here too: every `Config` declares its secret options' variables on construction.
 * The EXECD_OWNER marker is added later by core/process.ts.
 */

type Env = Record<string, string | undefined>

/** Variables of options declared `secret`; the server's own are declared by core/config.ts. */
const withheld = new Set<string>()

/** Never hands these variables to a child from now on. */
export function withholdFromChildren(names: Iterable<string>): void {
  for (const n of names) withheld.add(n)
}

/** Whether `name` is withheld from children. */
export const isWithheld = (name: string): boolean => withheld.has(name)

/** `env` (execd's by default) without the withheld variables, then `extra` on top. */
export function childEnv(extra: Record<string, string> = {}, env: Env = process.env): Record<string, string> {
  let out: Record<string, string>
  if (env === process.env) {
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
