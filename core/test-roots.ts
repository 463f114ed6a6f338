/**
 * For unit tests: fresh temp dirs, each removed after the test that made it (registers the
 * `afterEach` of the file that calls it).
 */
import { afterEach } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function testRoots(prefix: string): () => string {
  const roots: string[] = []
  afterEach(() => roots.splice(0).forEach(r => rmSync(r, { recursive: true, force: true })))
  return () => {
    const root = mkdtempSync(join(tmpdir(), `${prefix}-`))
    roots.push(root)
    return root
  }
}
