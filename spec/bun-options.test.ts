/**
 * BUN_OPTIONS in execd's environment is Bun's command line for execd itself (the compiled
 * executable reads it): it is withheld from every child, as the token is. Handed down, a preload
 * meant for the daemon ran in every javascript context (execd run again as Bun) and in every
 * `bun` a command started. A request's `envs` still hands it to a command that asks.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { createContext, resultText, runCode } from './runtime-kit'

const PRELOAD = join(import.meta.dir, 'kit', 'bun-options-preload.js')
const OPTIONS = `--preload ${PRELOAD}`

const fx = daemonWithDir('bun-options', tmp => {
  noted = join(tmp, 'preloaded')
  return { env: { BUN_OPTIONS: OPTIONS, EXECD_TEST_PRELOADED: noted } }
})
let noted: string

const stdoutOf = async (body: Record<string, unknown>) =>
  (await readSse(await postJson(fx.d, '/command', body)))
    .filter(f => f.data.type === 'stdout')
    .map(f => f.data.text)
    .join('\n')

const preloadedPids = () => readFileSync(noted, 'utf8').split('\n').filter(Boolean).map(Number)

test("execd itself runs with the operator's BUN_OPTIONS", () => {
  expect(preloadedPids()).toEqual([fx.d.proc.pid])
})

test('a command does not get BUN_OPTIONS; one that asks for it in envs does', async () => {
  expect(await stdoutOf({ command: 'echo "[${BUN_OPTIONS-unset}]"' })).toBe('[unset]')
  expect(await stdoutOf({ command: 'echo "[$BUN_OPTIONS]"', envs: { BUN_OPTIONS: '--smol' } })).toBe('[--smol]')
})

test("a javascript context is not preloaded with execd's options", async () => {
  const id = await createContext(fx.d, 'javascript')
  const events = await runCode(
    fx.d,
    '[typeof globalThis.execdTestPreloaded, process.env.BUN_OPTIONS ?? "unset"].join(" ")',
    {
      id,
    },
  )
  expect(resultText(events)).toEqual(["'undefined unset'"])
  expect(preloadedPids()).toEqual([fx.d.proc.pid])
})

test("a user's own bun started by a command is not preloaded", async () => {
  // execd run again as Bun stands for the user's `bun`: it reads BUN_OPTIONS as any Bun does.
  const out = await stdoutOf({
    command: `BUN_BE_BUN=1 /proc/${fx.d.proc.pid}/exe -e 'console.log(typeof globalThis.execdTestPreloaded)'`,
  })
  expect(out).toBe('undefined')
  expect(preloadedPids()).toEqual([fx.d.proc.pid])
})
