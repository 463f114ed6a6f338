/** A finished command's log read while its file comes and goes: one descriptor, never an error naming a temp path. */
import { expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('logs-gone', tmp => ({ env: { TMPDIR: tmp } }))

test('logs of a finished command whose file is renamed away and back: whole or empty, never an error', async () => {
  const frames = await readSse(await postJson(fx.d, '/command', { command: 'seq 1 20000' }))
  const id = frames[0]?.data.text as string
  const whole = await (await fx.d.fetch(`/command/${id}/logs`)).text()
  expect(whole.length).toBe(108_894)
  const dir = readdirSync(fx.tmp).find(n => n.startsWith('execd-commands-'))
  const log = join(fx.tmp, String(dir), `${id}.output`)
  expect(existsSync(log)).toBe(true)
  // Renamed away and back microseconds apart: at any instant the name is there or not, at random.
  const [at, away] = [JSON.stringify(log), JSON.stringify(`${log}.x`)]
  const swap = `const { renameSync } = require('node:fs'); for (;;) { renameSync(${at}, ${away}); renameSync(${away}, ${at}) }`
  const swapper = Bun.spawn([process.execPath, '-e', swap], { stderr: 'ignore' })
  const answers = new Map<string, number>()
  try {
    while (existsSync(log)) await Bun.sleep(1)
    for (let i = 0; i < 400; i++) {
      const res = await fx.d.fetch(`/command/${id}/logs`)
      const text = await res.text()
      const kind = `${res.status} ${text === whole ? 'whole' : text === '' ? 'empty' : `other: ${text.slice(0, 200)}`}`
      answers.set(kind, (answers.get(kind) ?? 0) + 1)
    }
  } finally {
    swapper.kill()
    await swapper.exited
  }
  expect([...answers.keys()].filter(k => k !== '200 whole' && k !== '200 empty')).toEqual([])
  expect(answers.get('200 whole')).toBeGreaterThan(0)
})
