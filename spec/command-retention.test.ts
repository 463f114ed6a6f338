/** Finished commands are kept within limits, and execd's temp files never pile up. */
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('retention', tmp => ({ args: ['--command-retention-count', '3'], env: { TMPDIR: tmp } }))

/** Files in execd's temp dirs of `prefix`, the dirs' owner sockets (locks) aside. */
const filesIn = (prefix: string) =>
  readdirSync(fx.tmp)
    .filter(n => n.startsWith(prefix))
    .flatMap(n => readdirSync(join(fx.tmp, n)))
    .filter(n => n !== '.owner.sock')
const logFiles = () => filesIn('execd-commands-')

test('only the newest finished commands keep their status and log', async () => {
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const frames = await readSse(await postJson(fx.d, '/command', { command: `echo ${i}` }))
    ids.push(frames[0]?.data.text)
  }
  const codes = await Promise.all(ids.map(async id => (await fx.d.fetch(`/command/status/${id}`)).status))
  expect(codes).toEqual([404, 404, 404, 200, 200, 200])
  expect(await (await fx.d.fetch(`/command/${ids[5]}/logs`)).text()).toBe('5\n')
  expect(logFiles().length).toBe(3)
})

test('sessions leave no files behind once deleted, and shutdown removes everything', async () => {
  const { session_id } = await (await postJson(fx.d, '/session', {})).json()
  await readSse(await postJson(fx.d, `/session/${session_id}/run`, { command: 'echo x' }))
  await fx.d.fetch(`/session/${session_id}`, { method: 'DELETE' })
  expect(filesIn('execd-sessions-')).toEqual([])
  expect(await fx.d.stop()).toBe(0)
  expect(readdirSync(fx.tmp)).toEqual([])
})
