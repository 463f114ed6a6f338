/** Finished commands are kept within limits, and execd's temp files never pile up. */
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, waitFor } from './harness'
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

test('as its stream ends, a command has its final status and log, and the oldest beyond the limit is gone', async () => {
  // Asked at once, with nothing in between: the store's retention runs after the answer is
  // written (plugins/command/run.ts), and must still be done before the next request is read.
  const ids: string[] = []
  for (let i = 0; i < 30; i++) {
    const code = i % 2 === 0 ? 0 : 3
    const frames = await readSse(await postJson(fx.d, '/command', { command: `echo out-${i}; exit ${code}` }))
    const id: string = frames[0]?.data.text
    ids.push(id)
    const [status, log, dropped] = await Promise.all([
      fx.d.fetch(`/command/status/${id}`).then(r => r.json()),
      fx.d.fetch(`/command/${id}/logs`).then(r => r.text()),
      i >= 3 ? fx.d.fetch(`/command/status/${ids[i - 3]}`).then(r => r.status) : 404,
    ])
    expect({ running: status.running, exit_code: status.exit_code, log, dropped }).toEqual({
      running: false,
      exit_code: code,
      log: `out-${i}\n`,
      dropped: 404,
    })
    expect(status.finished_at).toBeString()
    // The pruned log's unlink is on the thread pool (plugins/command/store.ts): gone soon, not at once.
    if (i >= 2) await waitFor('three logs kept', () => logFiles().length === 3)
    expect(logFiles().length).toBeLessThanOrEqual(3)
  }
})

test('sessions leave no files behind once deleted, and shutdown removes everything', async () => {
  const { session_id } = await (await postJson(fx.d, '/session', {})).json()
  await readSse(await postJson(fx.d, `/session/${session_id}/run`, { command: 'echo x' }))
  await fx.d.fetch(`/session/${session_id}`, { method: 'DELETE' })
  expect(filesIn('execd-sessions-')).toEqual([])
  expect(await fx.d.stop()).toBe(0)
  expect(readdirSync(fx.tmp)).toEqual([])
})
