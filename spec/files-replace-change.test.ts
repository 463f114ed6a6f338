/**
 * `POST /files/replace` on a file another process appends to meanwhile. A replace reads the file,
 * writes the new content beside it and renames it over: a line appended after the read and
 * before the rename went with the old inode. Now the rename looks at the file again, and one that
 * changed since it was read stays as it is, the answer saying so; nothing appended is lost.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-replace-change-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Appends `appended <n>` lines to `file`, each open-write-close, until `stop` exists; prints n. */
const APPENDER = `
import os, sys, time
file, stop = sys.argv[1], sys.argv[2]
n = 0
while not os.path.exists(stop):
    with open(file, 'a') as f:
        f.write('appended %d\\n' % n)
    n += 1
    time.sleep(0.001)
print(n)
`

test('a file appended to while it is replaced keeps every appended line', async () => {
  const file = join(dir, 'log.txt')
  const stop = join(dir, 'stop')
  // 18 MB: its read and fsync take long enough that appends land between read and rename.
  writeFileSync(file, 'old line\n'.repeat(2_000_000))
  const appender = Bun.spawn(['python3', '-c', APPENDER, file, stop], { stdout: 'pipe' })
  const answers: { status: number; message?: string }[] = []
  try {
    // Before, each of these lost the lines appended meanwhile (8 of 4,263 in one replace).
    for (let i = 0; i < 6; i++) {
      const [old, now] = i % 2 ? ['new', 'old'] : ['old', 'new']
      const res = await postJson(fx.d, '/files/replace', { [file]: { old, new: now } })
      answers.push({ status: res.status, message: res.ok ? undefined : (await res.json()).message })
    }
  } finally {
    writeFileSync(stop, '')
  }
  const count = Number((await new Response(appender.stdout).text()).trim())
  expect(await appender.exited).toBe(0)
  expect(count).toBeGreaterThan(0)
  for (const a of answers) {
    if (a.status !== 200) {
      expect(a.status).toBe(400)
      expect(a.message).toContain('changed while it was rewritten')
    }
  }
  const lines = readFileSync(file, 'utf8').split('\n')
  const appended = lines.filter(l => l.startsWith('appended ')).map(l => Number(l.slice(9)))
  expect(appended).toEqual(Array.from({ length: count }, (_, i) => i))
  expect(lines.filter(l => l.endsWith(' line'))).toHaveLength(2_000_000)
  // Left alone, the same replace is done, the appended lines kept.
  const res = await postJson(fx.d, '/files/replace', { [file]: { old: 'appended', new: 'added' } })
  expect(res.status).toBe(200)
  expect(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(l => l.startsWith('added ')),
  ).toHaveLength(count)
  expect(readdirSync(dir).filter(n => n.includes('.execd-tmp-'))).toEqual([])
}, 120_000)
