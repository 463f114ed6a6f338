/** Trees of a given shape for the spec's walks. */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'

/** A chain `d/d/d/…` `depth` deep under `root`, a file `z` beside each `d`; made by descriptor (no PATH_MAX). */
export function chain(root: string, depth: number): void {
  mkdirSync(root)
  let fd = openSync(root, 'r')
  for (let i = 0; i < depth; i++) {
    mkdirSync(`/proc/self/fd/${fd}/d`)
    writeFileSync(`/proc/self/fd/${fd}/z`, '')
    const next = openSync(`/proc/self/fd/${fd}/d`, 'r')
    closeSync(fd)
    fd = next
  }
  closeSync(fd)
}
