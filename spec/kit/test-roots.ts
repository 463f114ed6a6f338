/**
 * For unit tests: fresh temp dirs, each removed after the test that made it (registers the
 * `afterEach` of the file that calls it), and failures as values.
 */
import { afterEach, beforeEach } from 'bun:test'
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecdError } from '../../core/errors'

export function testRoots(prefix: string): () => string {
  const roots: string[] = []
  afterEach(() => roots.splice(0).forEach(r => rmSync(r, { recursive: true, force: true })))
  return () => {
    const root = mkdtempSync(join(tmpdir(), `${prefix}-`))
    roots.push(root)
    return root
  }
}

/**
 * Temp dirs a file's tests make as they need them (`make`), removed together when the file says
 * (`removeAll`, its afterAll): a runtime's contexts started in beforeAll keep theirs to the end.
 */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const dirs: string[] = []
  return {
    make() {
      const dir = mkdtempSync(join(tmpdir(), prefix))
      dirs.push(dir)
      return dir
    },
    removeAll: () => dirs.splice(0).forEach(dir => rmSync(dir, { recursive: true, force: true })),
  }
}

/** Makes a new directory (real path, symlinks resolved) before each test and removes it after. */
export function tempDirPerTest(prefix: string, use: (dir: string) => void): void {
  let dir = ''
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
    use(dir)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
}

/** The error a promise rejects with (undefined if it resolves). */
export const failure = async (p: Promise<unknown>) =>
  (await p.then(
    () => undefined,
    e => e,
  )) as ExecdError
