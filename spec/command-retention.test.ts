/** Finished commands are kept within limits, and execd's temp files never pile up. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, type Daemon } from './harness'

let d: Daemon
let tmp: string
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'execd-spec-retention-'))
  d = await startDaemon({ args: ['--command-retention-count', '3'], env: { TMPDIR: tmp } })
})
afterAll(async () => {
  await d?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

/** Files in execd's temp dirs of `prefix`, the dirs' owner sockets (locks) aside. */
const filesIn = (prefix: string) =>
  readdirSync(tmp)
    .filter(n => n.startsWith(prefix))
    .flatMap(n => readdirSync(join(tmp, n)))
    .filter(n => n !== '.owner.sock')
const logFiles = () => filesIn('execd-commands-')

test('only the newest finished commands keep their status and log', async () => {
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const frames = await readSse(await postJson(d, '/command', { command: `echo ${i}` }))
    ids.push(frames[0]?.data.text)
  }
  const codes = await Promise.all(ids.map(async id => (await d.fetch(`/command/status/${id}`)).status))
  expect(codes).toEqual([404, 404, 404, 200, 200, 200])
  expect(await (await d.fetch(`/command/${ids[5]}/logs`)).text()).toBe('5\n')
  expect(logFiles().length).toBe(3)
})

test('sessions leave no files behind once deleted, and shutdown removes everything', async () => {
  const { session_id } = await (await postJson(d, '/session', {})).json()
  await readSse(await postJson(d, `/session/${session_id}/run`, { command: 'echo x' }))
  await d.fetch(`/session/${session_id}`, { method: 'DELETE' })
  expect(filesIn('execd-sessions-')).toEqual([])
  expect(await d.stop()).toBe(0)
  expect(readdirSync(tmp)).toEqual([])
})
