/**
 * A compiled Bun program reads `.env` and `bunfig.toml` from the directory it starts in unless
 * built not to (Makefile: `--no-compile-autoload-dotenv --no-compile-autoload-bunfig`). For a
 * daemon started in a project's directory that meant: the project's `.env` was in every
 * command's environment (and could set execd's own `EXECD_*` settings), and a `bunfig.toml`
 * `preload` ran its script inside execd, beside the token. execd's settings are its flags and
 * its environment, nothing else.
 */
import { expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('start-dir-files', tmp => {
  writeFileSync(join(tmp, '.env'), 'EXECD_SPEC_DOTENV=from-dotenv\n')
  writeFileSync(
    join(tmp, 'preload.js'),
    `require('node:fs').writeFileSync(${JSON.stringify(join(tmp, 'preloaded'))}, 'ran')\n`,
  )
  writeFileSync(join(tmp, 'bunfig.toml'), 'preload = ["./preload.js"]\n')
  return { cwd: tmp }
})

test("a command does not get the start directory's .env", async () => {
  const frames = await readSse(await postJson(fx.d, '/command', { command: 'echo "[${EXECD_SPEC_DOTENV-unset}]"' }))
  const stdout = frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)
  expect(stdout).toEqual(['[unset]'])
})

test("the start directory's bunfig.toml runs nothing in execd", () => {
  // The daemon answered /ping before the tests: a preload would have run before its first line.
  expect(existsSync(join(fx.tmp, 'preloaded'))).toBe(false)
})
