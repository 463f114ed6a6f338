/**
 * Two daemons in one process, each with its own `--root`: every section that resolves a working
 * directory confines it to its own app's root. Until stop 51 the root of commands, sessions,
 * terminals, code contexts and isolated workspaces was one module-level value that `serve` set
 * (core/workdir.ts), so an app built in process with a root confined its files to it and let its
 * commands run anywhere (in the other app's root here).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../core/app'
import { createLogger } from '../core/log'
import { configFrom } from '../cmd/options'
import { plugins, runtimes } from '../plugins'
import { runCli } from './harness'

type App = Awaited<ReturnType<typeof createApp>>
const base = realpathSync(mkdtempSync(join(tmpdir(), 'root-apart-')))
const roots = [join(base, 'a'), join(base, 'b')]
const apps: App[] = []

beforeAll(async () => {
  for (const root of roots) {
    mkdirSync(join(root, 'sub'), { recursive: true })
    apps.push(await createApp({ plugins, runtimes, config: configFrom({ root }), log: createLogger('silent') }))
  }
})
afterAll(async () => {
  await Promise.all(apps.map(a => a.close()))
  rmSync(base, { recursive: true, force: true })
})

const post = (app: App, path: string, body: unknown) =>
  app.app.handle(
    new Request(`http://localhost${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )

/** What each section answers for a working directory in the other app's root. */
const ASKED: [string, (cwd: string) => unknown][] = [
  ['/command', cwd => ({ command: 'true', cwd })],
  ['/session', cwd => ({ cwd })],
  ['/pty', cwd => ({ cwd })],
  ['/code/context', cwd => ({ language: 'bash', cwd })],
]

describe('two apps in one process, each with its own --root', () => {
  for (const [path, body] of ASKED)
    test(`${path}: a working directory in the other app's root is a 400 outside the root`, async () => {
      for (const [i, app] of apps.entries()) {
        const other = join(roots[1 - i]!, 'sub')
        const res = await post(app, path, body(other))
        const answer = (await res.json()) as { code: string; message: string }
        expect([res.status, answer.message]).toEqual([
          400,
          expect.stringContaining(`path is outside the root ${roots[i]}: ${other}`),
        ])
      }
    })

  test("a relative working directory resolves in its own app's root", async () => {
    for (const [i, app] of apps.entries()) {
      const res = await post(app, '/command', { command: 'pwd', cwd: 'sub' })
      expect(await res.text()).toContain(JSON.stringify(join(roots[i]!, 'sub')))
    }
  })
})

/**
 * `execd exec` opens the same sections with the root of its configuration (EXECD_ROOT: it has no
 * --root flag), as `execd fs` always did: before stop 51 fs was confined and exec ran anywhere.
 */
test('under EXECD_ROOT, execd exec confines its working directory as execd fs confines its paths', async () => {
  const other = join(roots[1]!, 'sub')
  const env = { EXECD_ROOT: roots[0]! }
  for (const args of [
    ['fs', 'ls', other],
    ['exec', '--shell', 'pwd', '--cwd', other],
  ]) {
    const run = await runCli(args, { env })
    expect([args[0], run.code === 0, run.stdout, run.stderr]).toEqual([
      args[0],
      false,
      '',
      expect.stringContaining(`path is outside the root ${roots[0]}: ${other}`),
    ])
  }
})
