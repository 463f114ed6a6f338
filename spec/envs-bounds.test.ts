/**
 * A request's environment has one set of rules on every route that takes one (core/exec-strings.ts
 * `envsProblem`): the thirty-second attacker's pass gave an isolated session 5 MB of `envs`, which
 * its shell kept exported, after which every program there failed with "Argument list too long".
 * No timing: statuses, codes and a run's output compared.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, runCli } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { refused } from './kit/refused'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

const fx = daemonWithDir('envs-bounds')

const stdout = async (res: Response) =>
  (await readSse(res)).filter(f => f.data.type === 'stdout').map(f => f.data.text as string)

describe("POST /command: names execve takes are a program's own business", () => {
  // Kept, as the reference (Go's exec.Cmd) takes them: `env` sets such names and a program reads
  // them; bash's exported functions (`export -f`) travel as BASH_FUNC_name%%.
  test('a dot, a space and an exported function reach the command', async () => {
    const envs = { 'a.b': 'dot', 'A B': 'space', 'BASH_FUNC_hi%%': '() { echo hi-from-env; }' }
    const res = await postJson(fx.d, '/command', {
      command: `env | grep -E '^(a\\.b|A B)=' | sort; hi`,
      envs,
    })
    expect(res.status).toBe(200)
    expect(await stdout(res)).toEqual(['A B=space', 'a.b=dot', 'hi-from-env'])
  })
})

describe.skipIf(!Bun.which('bwrap'))('isolated runs: the exports a session keeps are bounded', () => {
  const session = async () => {
    const workspace = join(fx.tmp, `ws-${Math.random().toString(36).slice(2)}`)
    mkdirSync(workspace)
    const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: workspace } })
    expect(created.status).toBe(201)
    return ((await created.json()) as { session_id: string }).session_id
  }
  const run = (id: string, body: Record<string, unknown>) => postJson(fx.d, `/v1/isolated/session/${id}/run`, body)

  test('one value of 3 MB is a 400 naming it, and the shell still starts programs', async () => {
    // Was a 200 whose `export` the shell took; from then on `/bin/true` got E2BIG (exit 126).
    const id = await session()
    try {
      const r = await refused(await run(id, { code: 'echo ok', envs: { BIG: 'x'.repeat(3_000_000) } }))
      expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(r.message).toContain('environment variable BIG is longer than one entry may be')
      expect(await stdout(await run(id, { code: '/bin/true && echo "[${BIG-unset}]"' }))).toEqual(['[unset]'])
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
  })

  test('exports that add up past the bound over several runs: the run that would pass it is a 400', async () => {
    // Seven entries of 120,000 bytes a run (each under the one-entry bound): three runs held
    // 2.5 MB exported and the shell could start nothing.
    const id = await session()
    const batch = (tag: string) => Object.fromEntries([...Array(7)].map((_, i) => [`${tag}${i}`, 'x'.repeat(120_000)]))
    try {
      expect(await stdout(await run(id, { code: 'echo one', envs: batch('A') }))).toEqual(['one'])
      const r = await refused(await run(id, { code: 'echo two', envs: batch('B') }))
      expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(r.message).toContain("the session's exported environment would hold")
      // Giving the same names again replaces them: no growth, taken.
      expect(await stdout(await run(id, { code: 'echo again', envs: batch('A') }))).toEqual(['again'])
      expect(await stdout(await run(id, { code: '/bin/true && echo ${#A6} ${B0-unset}' }))).toEqual(['120000 unset'])
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
  })

  test('more entries than a session keeps: a 400, and a child bash still starts at once', async () => {
    // 16,000 one-letter exports were taken; every `bash -c` of the session then started in
    // seconds (80,000 fit the byte bound: a minute each).
    const id = await session()
    const many = Object.fromEntries([...Array(4097)].map((_, i) => [`V${i}`, 'v']))
    try {
      const r = await refused(await run(id, { code: 'true', envs: many }))
      expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(r.message).toContain('would hold 4097 entries, more than 4096')
      delete many.V4096
      expect(await stdout(await run(id, { code: 'bash -c "echo \\$V4095"', envs: many }))).toEqual(['v'])
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
  })

  test('a command and an isolated run word a bad entry the same way', async () => {
    const id = await session()
    try {
      for (const envs of [{ A: 'x\u0000y' }, { '=x': '1' }, { BIG: 'y'.repeat(200_000) }]) {
        const viaCommand = await refused(await postJson(fx.d, '/command', { command: 'true', envs }))
        const viaRun = await refused(await run(id, { code: 'true', envs }))
        expect(viaRun).toEqual(viaCommand)
      }
      // What only a shell's export needs: a name it can say.
      const dot = await refused(await run(id, { code: 'true', envs: { 'a.b': '1' } }))
      expect(dot).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(dot.message).toContain('not a variable name a shell can export: "a.b"')
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
  })
})

describe.skipIf(!Bun.which('bwrap'))("execd exec --isolated --env: the route's rule, a typo before any session", () => {
  // Was exit 1 after a session had been made and the run refused by the daemon.
  test('a name the shell cannot export: exit 2 naming it; a plain name runs', async () => {
    const ws = join(fx.tmp, 'cli-ws')
    mkdirSync(ws, { recursive: true })
    const bad = await runCli(['exec', '--isolated', ws, '--env', 'a.b=1', 'echo hi'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--env: not a variable name a shell can export: "a.b"')
    const good = await runCli(['exec', '--isolated', ws, '--env', 'ab=1', 'echo hi $ab'])
    expect({ code: good.code, stdout: good.stdout }).toEqual({ code: 0, stdout: 'hi 1\n' })
  })
})
