/**
 * Build-time macros (imported `with { type: 'macro' }`): what the child interpreter needs,
 * inlined into the executable as strings. The child cannot read the executable's embedded
 * files, so the parent writes these to a private temp dir before starting it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const DRIVER_FILES = [
  'driver.ts',
  'driver-cell.ts',
  'driver-display.ts',
  'driver-output.ts',
  'driver-settle.ts',
  'driver-scope.ts',
  'driver-channel.ts',
]

/** The driver's source files by name. */
export function driverSources(): Record<string, string> {
  return Object.fromEntries(DRIVER_FILES.map(name => [name, readFileSync(join(import.meta.dir, name), 'utf8')]))
}

/**
 * happy-dom bundled into one ES module. Bun.build cannot run inside a macro (the bundler
 * would wait on itself), hence the CLI.
 */
export function happyDomBundle(): string {
  const entry = Bun.resolveSync('happy-dom', import.meta.dir)
  const built = Bun.spawnSync([process.execPath, 'build', entry, '--target=bun', '--format=esm', '--minify'], {
    env: { ...process.env, BUN_BE_BUN: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if (built.exitCode !== 0) throw new Error(`bundling happy-dom failed: ${built.stderr.toString()}`)
  return built.stdout.toString()
}
