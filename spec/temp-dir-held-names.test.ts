/**
 * A command's log and a session's code file are reached through execd's dir held open
 * (core/held-dir.ts), never found again by name: once a cleaner removed execd's dir from a
 * shared TMPDIR (`rm -rf /tmp/*`), another user may put a dir of theirs at the name, known from
 * the listing. Each case plays the cleaner and the other user (uid 65534) from the test itself,
 * and makes the swap land between execd's write and the read it guards without a race: the
 * log's read is a later request; the session's shell is stopped (SIGSTOP) until the swap is done;
 * a javascript context loads happy-dom from its driver's dir on a later cell's first `document`
 * (the driver's own files are opened as the child starts: no request falls between).
 */
import { expect, test } from 'bun:test'
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { childrenOf, postJson, readSse, stdoutJoined, waitFor } from './harness'
import { createContext, resultText, runCode, stdoutText } from './runtime-kit'
import { daemonInSharedTmp } from './kit/daemon-dir'

const NOBODY = 65534
const asRoot = process.getuid?.() === 0

const fx = daemonInSharedTmp('held-names')

/** The daemon's one dir of `prefix` in its TMPDIR. */
const ownDir = (prefix: string) => {
  const names = readdirSync(fx.tmp).filter(n => n.startsWith(`${prefix}-${fx.d.proc.pid}-`))
  expect(names).toHaveLength(1)
  return join(fx.tmp, names[0]!)
}

/** Plays the cleaner (execd's dir moved out of the way) and uid 65534, whose dir takes the name. */
function takeName(dir: string, files: Record<string, string>): void {
  renameSync(dir, `${dir}.cleaned`)
  mkdirSync(dir, { mode: 0o700 })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  Bun.spawnSync(['chown', '-R', `${NOBODY}:${NOBODY}`, dir])
}

test.skipIf(!asRoot)(
  'a command’s log is read from execd’s dir, not from a file another user put at its name',
  async () => {
    const frames = await readSse(await postJson(fx.d, '/command', { command: 'echo ours' }))
    const id = frames[0]?.data.text as string
    expect(await (await fx.d.fetch(`/command/${id}/logs`)).text()).toBe('ours\n')
    const dir = ownDir('execd-commands')
    takeName(dir, { [`${id}.output`]: 'theirs: run this\n' })
    // Old build: `theirs: run this`, their file opened as root and handed to the client as the log.
    const res = await fx.d.fetch(`/command/${id}/logs`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
    expect(readFileSync(join(dir, `${id}.output`), 'utf8')).toBe('theirs: run this\n')
    // A later command's log is written in a dir of execd's again, theirs taken away first.
    const next = await readSse(await postJson(fx.d, '/command', { command: 'echo later' }))
    expect(await (await fx.d.fetch(`/command/${next[0]?.data.text}/logs`)).text()).toBe('later\n')
  },
)

test.skipIf(!asRoot)(
  'a session’s shell sources the code execd wrote, not a file another user put at its name',
  async () => {
    const { session_id: sid } = await (await postJson(fx.d, '/session', {})).json()
    expect(stdoutJoined(await readSse(await postJson(fx.d, `/session/${sid}/run`, { command: 'echo ready' })))).toBe(
      'ready',
    )
    const dir = ownDir('execd-sessions')
    const shells = childrenOf(fx.d.proc.pid).filter(p => p.cmd.startsWith('bash'))
    expect(shells).toHaveLength(1)
    const shell = shells[0]!.pid
    const codeFile = () => readdirSync(dir).find(n => /^execd-bash-\w+\.sh$/.test(n))
    process.kill(shell, 'SIGSTOP')
    try {
      const running = postJson(fx.d, `/session/${sid}/run`, { command: 'echo ours' })
      // execd has written the run's code and sent its line; the shell has read neither yet.
      await waitFor('the run’s code written', () => {
        const name = codeFile()
        return !!name && readFileSync(join(dir, name), 'utf8').includes('echo ours')
      })
      takeName(dir, { [codeFile()!]: 'echo theirs\n' })
      process.kill(shell, 'SIGCONT')
      // Old build: `theirs`, sourced by name from the dir at execd's name.
      expect(stdoutJoined(await readSse(await running))).toBe('ours')
    } finally {
      process.kill(shell, 'SIGCONT')
    }
    expect(readFileSync(join(dir, codeFile()!), 'utf8')).toBe('echo theirs\n')
    // The session goes on in a dir of execd's, made again (theirs taken away first).
    expect(stdoutJoined(await readSse(await postJson(fx.d, `/session/${sid}/run`, { command: 'echo again' })))).toBe(
      'again',
    )
  },
)

test.skipIf(!asRoot)(
  'a javascript context loads the DOM execd wrote, not a module another user put at its name',
  async () => {
    const id = await createContext(fx.d, 'javascript')
    expect(resultText(await runCode(fx.d, '1 + 1', { id }))).toEqual(['2'])
    const dir = ownDir('execd-js')
    const theirs = 'console.log("theirs ran"); export class Window { document = { createElement: () => "theirs" } }\n'
    takeName(dir, { 'happy-dom.js': theirs })
    // Old build: `theirs ran` and the result 'theirs', their module required by name, as root.
    const events = await runCode(fx.d, 'const p = document.createElement("p"); p.textContent = "ours"; p.outerHTML', {
      id,
    })
    expect(stdoutText(events)).toBe('')
    expect(resultText(events)).toEqual(["'<p>ours</p>'"])
    expect(readFileSync(join(dir, 'happy-dom.js'), 'utf8')).toBe(theirs)
  },
)
