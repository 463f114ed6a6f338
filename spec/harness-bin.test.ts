/**
 * `EXECD_BIN` is the executable every spec helper runs (the daemon, the CLI, the fuzz's runs):
 * the harness's `BIN` ignored it, so checking a new test against an old build meant editing it.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'

const HARNESS = JSON.stringify(join(import.meta.dir, 'harness.ts'))

/** The `BIN` a fresh process importing the harness sees, under `env`. */
function binUnder(env: Record<string, string | undefined>): string {
  const script = `console.log((await import(${HARNESS})).BIN)`
  return Bun.spawnSync([process.execPath, '-e', script], { env }).stdout.toString().trim()
}

test('the harness runs the executable EXECD_BIN names, dist/execd without it', () => {
  const { EXECD_BIN: _, ...without } = process.env
  expect(binUnder({ ...without, EXECD_BIN: '/tmp/an-old-execd' })).toBe('/tmp/an-old-execd')
  expect(binUnder(without)).toBe(join(import.meta.dir, '..', 'dist', 'execd'))
})
