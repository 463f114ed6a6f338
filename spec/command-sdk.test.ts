/** The official TypeScript SDK drives commands and sessions against dist/execd, unmodified. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startDaemon, type Daemon } from './harness'
import { sdkFor, type ExecdStack } from './sdk'

let d: Daemon
let execd: ExecdStack
beforeAll(async () => {
  d = await startDaemon()
  execd = sdkFor(d, 20)
})
afterAll(async () => {
  await d?.stop()
})

test('SDK: a foreground command streams stdout and stderr and exits 0', async () => {
  const r = await execd.commands.run('echo hi; echo err >&2', { envs: { A: 'b' } })
  expect(r.logs.stdout.map(m => m.text)).toEqual(['hi'])
  expect(r.logs.stderr.map(m => m.text)).toEqual(['err'])
  expect(r.exitCode).toBe(0)
  expect(r.complete).toBeDefined()
  expect(r.id).toMatch(/^[0-9a-f]{32}$/)
})

test('SDK: a failing command gives its exit code and a CommandExecError', async () => {
  const r = await execd.commands.run('echo x; exit 5', { workingDirectory: '/tmp' })
  expect(r.exitCode).toBe(5)
  expect(r.error).toMatchObject({ name: 'CommandExecError', value: '5', traceback: ['exit status 5'] })
})

test('SDK: background command, status until finished, logs with cursor', async () => {
  const r = await execd.commands.run('echo bg; sleep 0.5; echo end', { background: true })
  const id = r.id!
  let status = await execd.commands.getCommandStatus(id)
  for (let i = 0; i < 100 && status.running; i++) {
    await Bun.sleep(100)
    status = await execd.commands.getCommandStatus(id)
  }
  expect(status).toMatchObject({ id, running: false, exitCode: 0 })
  expect(status.startedAt).toBeInstanceOf(Date)
  expect(status.finishedAt).toBeInstanceOf(Date)
  const logs = await execd.commands.getBackgroundCommandLogs(id, 0)
  expect(logs).toEqual({ content: 'bg\nend\n', cursor: 7 })
  expect(await execd.commands.getBackgroundCommandLogs(id, 3)).toEqual({ content: 'end\n', cursor: 7 })
})

test('SDK: interrupt stops a running command', async () => {
  let id = ''
  const run = execd.commands.run('sleep 300', {}, { onInit: init => void (id = init.id) })
  while (!id) await Bun.sleep(10)
  await execd.commands.interrupt(id)
  const r = await run
  expect(r.exitCode).toBe(-1)
})

test('SDK: sessions keep state between runs', async () => {
  const sid = await execd.commands.createSession({ workingDirectory: '/tmp' })
  await execd.commands.runInSession(sid, 'greet() { echo "hello $1"; }; cd /etc; secret=42')
  const r = await execd.commands.runInSession(sid, 'greet you; pwd; echo $secret')
  expect(r.logs.stdout.map(m => m.text)).toEqual(['hello you', '/etc', '42'])
  expect(r.exitCode).toBe(0)
  const failed = await execd.commands.runInSession(sid, 'false')
  expect(failed.exitCode).toBe(1)
  await execd.commands.deleteSession(sid)
  await expect(execd.commands.runInSession(sid, 'true')).rejects.toThrow()
})
