/** Shared by this runtime's unit tests: start a java context, collect a cell's events. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { java } from '.'
import { findJdk } from './jdk'
import { tempDirs } from '../../spec/kit/test-roots'

/** Why java tests cannot run here, or undefined when a JDK is installed. */
export const noJdk = (() => {
  const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell')
  return 'missing' in jdk ? jdk.missing : undefined
})()

const temp = tempDirs('execd-java-test-')
export const tempDir = temp.make
export const removeTempDirs = temp.removeAll

/**
 * Points TMPDIR, where the compiled helper and its CDS archive are cached, at a fresh directory
 * for the tests of one file that damage or delete that cache; returns the undo. The cache of
 * every other test and execd on this machine stays whole, and the file needs no other test to
 * have run before it. Each such file runs in a fresh module registry (`bun test --isolate`, as
 * `make runtimes` does): the in-process caches of the helper and the archive are then its own.
 */
export function privateHelperCache(): { dir: string; restore(): void } {
  const saved = process.env.TMPDIR
  const dir = mkdtempSync(join(tmpdir(), 'execd-java-cache-'))
  process.env.TMPDIR = dir
  return {
    dir,
    restore() {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Throws unless `path` is inside the private cache `dir`: a test about to damage the helper
 * checks first that it is its own copy, never the machine-wide one every execd here uses.
 */
export function assertPrivate(path: string, dir: string): void {
  if (!path.startsWith(dir + '/')) throw new Error(`refusing to damage ${path}: not in this test's cache ${dir}`)
}

export function startJava(cwd = tempDir(), flags: Record<string, string> = {}): Promise<RuntimeContext> {
  const config = resolveConfig(java.options ?? [], flags)
  return java.start({
    language: 'java',
    cwd,
    env: process.env as Record<string, string>,
    config,
    log: createLogger('silent'),
  })
}

export { errorOf, resultOf, runCell, startCell, textOf } from '../../spec/kit/cell-events'
