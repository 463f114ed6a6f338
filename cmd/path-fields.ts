/**
 * A path in a files request, as the wire and the files section's operations both take it: text
 * in `path` (`src`, `dest`, a body's key), or its exact bytes (`BytePath`, a name that is not
 * UTF-8: cmd/raw-argv.ts) in the `_base64` field beside it. Used by `fs` here (fs-ops.ts) and
 * with `--url` (remote-fs.ts) alike.
 */
import type { BytePath, RawPath } from '../core/beneath/path-scope'

/**
 * Paths as a query names them, in the order given: `path`, or `path_base64` for bytes, as
 * key-value pairs (the route reads them in turn). Grouped by key, `stat c $'b\xff' a` answered
 * c, a, b.
 */
export const queryOf = (paths: readonly RawPath[]): [string, string][] =>
  paths.map(p => (typeof p === 'string' ? ['path', p] : ['path_base64', base64(p)]))

/** The entries of a JSON body (mkdir, chmod, replace): keyed by the path, its bytes in `path_base64`. */
export function entriesOf<T extends object>(paths: readonly RawPath[], value: T): Record<string, T> {
  return Object.fromEntries(
    paths.map(p => [String(p), typeof p === 'string' ? value : { ...value, path_base64: base64(p) }]),
  )
}

/** A query's or an upload's one path: `path`, or `path_base64` for bytes. */
export const named = (p: RawPath): { path: string } | { path_base64: string } =>
  typeof p === 'string' ? { path: p } : { path_base64: base64(p) }

/** One end of a move: `src` or `src_base64` (`dest`, `dest_base64`). */
export const endOf = <K extends 'src' | 'dest'>(key: K, p: RawPath) =>
  typeof p === 'string' ? { [key]: p } : { [`${key}_base64`]: base64(p) }

const base64 = (p: BytePath) => p.bytes.toString('base64')
