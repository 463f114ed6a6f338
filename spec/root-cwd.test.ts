/** `--root` confines the working directories the API resolves: commands, sessions, code contexts, terminals. */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, startDaemon } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { PtyClient } from './pty-client'

// base/a/b/root: `../../x` from the root is base/a/x, which must never appear.
const fx = daemonWithDirAtLoad('rootcwd', () => {
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(outside)
  symlinkSync(outside, join(root, 'escape'))
  // Started from elsewhere: a relative cwd must not land in execd's own working directory.
  return ['--root', root]
})
const base = fx.tmp
const root = join(base, 'a', 'b', 'root')
const outside = join(base, 'outside')

const HOSTILE = ['../../x', join(base, 'abs-x'), 'escape/x', 'sub/../../../x']
const createdOutside = () =>
  [join(base, 'a', 'x'), join(base, 'abs-x'), join(outside, 'x'), join(base, 'x')].filter(p => existsSync(p))

async function expectOutsideRefused(path: string, body: (cwd: string) => unknown) {
  for (const cwd of HOSTILE) {
    const res = await postJson(fx.d, path, body(cwd))
    const answer = (await res.json()) as { code: string; message: string }
    expect([cwd, res.status, answer.message]).toEqual([cwd, 400, expect.stringContaining('outside the root')])
  }
  expect(createdOutside()).toEqual([])
}

/** stdout of a command/session run's SSE stream. */
const stdoutOf = async (res: Response) =>
  (await readSse(res))
    .map(f => f.data)
    .filter((e: any) => e?.type === 'stdout')
    .map((e: any) => e.text)
    .join('')

describe('--root and working directories', () => {
  test('command: outside cwds are 400; a relative cwd is under the root', async () => {
    await expectOutsideRefused('/command', cwd => ({ command: 'true', cwd }))
    expect(await stdoutOf(await postJson(fx.d, '/command', { command: 'pwd', cwd: 'sub' }))).toBe(join(root, 'sub'))
  })

  test('session: outside cwds are 400 and nothing is created; a relative cwd is created under the root', async () => {
    await expectOutsideRefused('/session', cwd => ({ cwd }))
    const res = await postJson(fx.d, '/session', { cwd: 'made-by-session' })
    expect(res.status).toBe(200)
    const { session_id } = (await res.json()) as { session_id: string }
    expect(existsSync(join(root, 'made-by-session'))).toBe(true)
    const run = await postJson(fx.d, `/session/${session_id}/run`, { command: 'pwd' })
    expect(await stdoutOf(run)).toBe(join(root, 'made-by-session'))
    const runOutside = await postJson(fx.d, `/session/${session_id}/run`, { command: 'pwd', cwd: '../../..' })
    expect(runOutside.status).toBe(400)
  })

  test('code context: outside cwds are 400 and nothing is created; a relative cwd is created under the root', async () => {
    await expectOutsideRefused('/code/context', cwd => ({ language: 'bash', cwd }))
    const res = await postJson(fx.d, '/code/context', { language: 'bash', cwd: 'made-by-context' })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { cwd: string }).cwd).toBe('made-by-context')
    expect(existsSync(join(root, 'made-by-context'))).toBe(true)
  })

  test('pty: outside cwds are 400; a relative cwd is under the root', async () => {
    await expectOutsideRefused('/pty', cwd => ({ cwd }))
    const res = await postJson(fx.d, '/pty', { cwd: 'sub', command: 'pwd > where.txt' })
    expect(res.status).toBe(201)
    const { session_id } = (await res.json()) as { session_id: string }
    const client = await PtyClient.connect(fx.d, session_id)
    await client.until('exit', () => client.json('exit').length > 0)
    client.close()
    expect(readFileSync(join(root, 'sub', 'where.txt'), 'utf8').trim()).toBe(join(root, 'sub'))
  })
})

test("a refused cwd is named as written, never with $VAR's value (the daemon's environment)", async () => {
  const mark = `mark-${crypto.randomUUID()}`
  const e = await startDaemon({ args: ['--root', root], env: { EXECD_TEST_MARK: mark } })
  try {
    const cases: [string, unknown][] = [
      ['/session', { cwd: '../$EXECD_TEST_MARK' }],
      ['/command', { command: 'true', cwd: '../${EXECD_TEST_MARK}' }],
      ['/command', { command: 'true', cwd: 'sub/$EXECD_TEST_MARK' }],
      ['/code/context', { language: 'bash', cwd: '../$EXECD_TEST_MARK' }],
    ]
    for (const [path, body] of cases) {
      const res = await postJson(e, path, body)
      const text = await res.text()
      expect([path, res.status]).toEqual([path, 400])
      expect(text).not.toContain(mark)
    }
  } finally {
    await e.stop()
  }
})

test('every working directory expands ~, $VAR and ${VAR} alike; an undefined variable is a 400 naming it', async () => {
  const mark = `mark-${crypto.randomUUID()}`
  const e = await startDaemon({ args: ['--root', root], env: { EXECD_TEST_DIR: 'sub', EXECD_TEST_MARK: mark } })
  try {
    // Defined: each kind of route reaches root/sub (terminals included, which expanded nothing before).
    const sid = ((await (await postJson(e, '/session', { cwd: '$EXECD_TEST_DIR' })).json()) as { session_id: string })
      .session_id
    expect(await stdoutOf(await postJson(e, `/session/${sid}/run`, { command: 'pwd', cwd: '${EXECD_TEST_DIR}' }))).toBe(
      join(root, 'sub'),
    )
    expect(await stdoutOf(await postJson(e, '/command', { command: 'pwd', cwd: '${EXECD_TEST_DIR}' }))).toBe(
      join(root, 'sub'),
    )
    const pty = await postJson(e, '/pty', { cwd: '$EXECD_TEST_DIR', command: 'pwd > where-expanded.txt' })
    expect(pty.status).toBe(201)
    const client = await PtyClient.connect(e, ((await pty.json()) as { session_id: string }).session_id)
    await client.until('exit', () => client.json('exit').length > 0)
    client.close()
    expect(readFileSync(join(root, 'sub', 'where-expanded.txt'), 'utf8').trim()).toBe(join(root, 'sub'))
    // Undefined: a 400 that names the variable and none of the daemon's values.
    const cases: [string, unknown][] = [
      ['/session', { cwd: 'sub/$EXECD_UNDEFINED_X' }],
      [`/session/${sid}/run`, { command: 'pwd', cwd: 'sub/$EXECD_UNDEFINED_X' }],
      ['/command', { command: 'true', cwd: 'sub/${EXECD_UNDEFINED_X}' }],
      ['/code/context', { language: 'bash', cwd: 'sub/$EXECD_UNDEFINED_X' }],
      ['/pty', { cwd: 'sub/$EXECD_UNDEFINED_X' }],
    ]
    for (const [path, body] of cases) {
      const res = await postJson(e, path, body)
      const text = await res.text()
      expect([path, res.status, text]).toEqual([path, 400, expect.stringContaining('EXECD_UNDEFINED_X')])
      expect(text).not.toContain(mark)
    }
  } finally {
    await e.stop()
  }
})
