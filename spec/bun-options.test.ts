/**
 * BUN_OPTIONS in execd's environment is Bun's command line for execd itself (the compiled
 * executable reads it): it is withheld from every child, as the token is. Handed down, a preload
 * meant for the daemon ran in every javascript context (execd run again as Bun) and in every
 * `bun` a command started. A request's `envs` still hands it to a command that asks.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, type Daemon } from './harness'
import { createContext, resultText, runCode } from './runtime-kit'

const PRELOAD = join(import.meta.dir, 'kit', 'bun-options-preload.js')
const OPTIONS = `--preload ${PRELOAD}`

let d: Daemon
let dir: string
let noted: string

const stdoutOf = async (body: Record<string, unknown>) =>
  (await readSse(await postJson(d, '/command', body)))
    .filter(f => f.data.type === 'stdout')
    .map(f => f.data.text)
    .join('\n')

const preloadedPids = () => readFileSync(noted, 'utf8').split('\n').filter(Boolean).map(Number)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'execd-bun-options-'))
  noted = join(dir, 'preloaded')
  d = await startDaemon({ env: { BUN_OPTIONS: OPTIONS, EXECD_TEST_PRELOADED: noted } })
})

afterAll(async () => {
  await d?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test("execd itself runs with the operator's BUN_OPTIONS", () => {
  expect(preloadedPids()).toEqual([d.proc.pid])
})

test('a command does not get BUN_OPTIONS; one that asks for it in envs does', async () => {
  expect(await stdoutOf({ command: 'echo "[${BUN_OPTIONS-unset}]"' })).toBe('[unset]')
  expect(await stdoutOf({ command: 'echo "[$BUN_OPTIONS]"', envs: { BUN_OPTIONS: '--smol' } })).toBe('[--smol]')
})

test("a javascript context is not preloaded with execd's options", async () => {
  const id = await createContext(d, 'javascript')
  const events = await runCode(
    d,
    '[typeof globalThis.execdTestPreloaded, process.env.BUN_OPTIONS ?? "unset"].join(" ")',
    {
      id,
    },
  )
  expect(resultText(events)).toEqual(["'undefined unset'"])
  expect(preloadedPids()).toEqual([d.proc.pid])
})

test("a user's own bun started by a command is not preloaded", async () => {
  // execd run again as Bun stands for the user's `bun`: it reads BUN_OPTIONS as any Bun does.
  const out = await stdoutOf({
    command: `BUN_BE_BUN=1 /proc/${d.proc.pid}/exe -e 'console.log(typeof globalThis.execdTestPreloaded)'`,
  })
  expect(out).toBe('undefined')
  expect(preloadedPids()).toEqual([d.proc.pid])
})
