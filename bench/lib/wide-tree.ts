/** A wide tree for the walk benches: `files` empty files `f<n>.txt` shared out among `dirs` directories. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export function wideTree(root: string, files: number, dirs: number): void {
  mkdirSync(root)
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, `dir${d}`)
    mkdirSync(dir)
    for (let f = d; f < files; f += dirs) writeFileSync(join(dir, `f${f}.txt`), '')
  }
}
