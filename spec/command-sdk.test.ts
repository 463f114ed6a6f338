/** The official TypeScript SDK drives commands and sessions against dist/execd, unmodified. */
import type { ServerStreamEvent } from '@alibaba-group/opensandbox'
import type { CommandsAdapter } from '@alibaba-group/opensandbox/internal'
import { beforeAll, expect, test } from 'bun:test'
import { sdkFailure, sdkFor, type ExecdStack } from './sdk'
import { daemonAlone } from './kit/daemon-dir'

let execd: ExecdStack
const fx = daemonAlone()
beforeAll(() => {
  execd = sdkFor(fx.d, 20)
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

test('SDK runStream: the events as its parser yields them — init, ping, output, one terminal event, each with a timestamp', async () => {
  const events: ServerStreamEvent[] = []
  for await (const ev of execd.commands.runStream('echo out; echo err >&2; exit 3')) events.push(ev)
  expect(events.map(e => e.type)).toEqual(['init', 'ping', 'stdout', 'stderr', 'error'])
  expect(events[0]!.text).toMatch(/^[0-9a-f]{32}$/)
  expect(events[1]!.text).toBe('pong')
  expect(events.slice(2, 4).map(e => e.text)).toEqual(['out', 'err'])
  expect(events[4]!.error).toEqual({ ename: 'CommandExecError', evalue: '3', traceback: ['exit status 3'] })
  for (const e of events) expect(e.timestamp).toBeGreaterThan(1_700_000_000_000)
})

test('SDK run: handlers are called in order; a background run calls init and complete only', async () => {
  const seen: string[] = []
  const handlers = {
    onInit: (i: { id: string }) => void seen.push(`init ${i.id.length}`),
    onStdout: (m: { text: string }) => void seen.push(`out ${m.text}`),
    onStderr: (m: { text: string }) => void seen.push(`err ${m.text}`),
    onExecutionComplete: (c: { executionTimeMs: number }) => void seen.push(`complete ${typeof c.executionTimeMs}`),
    onError: (e: { value: string }) => void seen.push(`error ${e.value}`),
  }
  const r = await execd.commands.run('echo a; echo b >&2', {}, handlers)
  expect(seen).toEqual(['init 32', 'out a', 'err b', 'complete number'])
  expect(r.exitCode).toBe(0)
  seen.length = 0
  const bg = await execd.commands.run('echo later', { background: true }, handlers)
  expect(seen).toEqual(['init 32', 'complete number'])
  // A background run's exit code is not inferred: the status gives it.
  expect(bg.exitCode).toBeUndefined()
})

test('SDK run options: timeoutSeconds kills with exit -1, uid alone takes its group, envs reach the command', async () => {
  const slow = await execd.commands.run('sleep 30', { timeoutSeconds: 0.5 })
  expect(slow.exitCode).toBe(-1)
  expect(slow.error?.traceback.join()).toContain('timeout after 500 ms')
  const as = await execd.commands.run('id -u; id -g; echo "$GREETING"', { uid: 65534, envs: { GREETING: 'hi\nthere' } })
  expect(as.logs.stdout.map(m => m.text)).toEqual(['65534', '65534', 'hi', 'there'])
  // gid without uid never leaves the SDK.
  await expect(execd.commands.run('id', { gid: 5 })).rejects.toThrow('uid is required when gid is provided')
})

test('SDK session runs: cwd and timeout of one run, state kept after a timeout, interrupt by the run id', async () => {
  const sid = await execd.commands.createSession()
  await execd.commands.runInSession(sid, 'export KEPT=yes')
  const events: ServerStreamEvent[] = []
  // A public method of the adapter the stack builds, not of its ExecdCommands interface.
  const adapter = execd.commands as CommandsAdapter
  for await (const ev of adapter.runInSessionStream(sid, 'pwd; sleep 30', {
    workingDirectory: '/etc',
    timeoutSeconds: 0.5,
  })) {
    events.push(ev)
  }
  expect(events.map(e => e.type)).toEqual(['init', 'ping', 'stdout', 'error'])
  expect(events[0]!.text).toBe(sid)
  expect(events[2]!.text).toBe('/etc')
  expect(events[3]!.error).toMatchObject({ evalue: '-1' })
  expect((await execd.commands.runInSession(sid, 'echo $KEPT')).logs.stdout.map(m => m.text)).toEqual(['yes'])

  let id = ''
  const run = execd.commands.runInSession(sid, 'sleep 30', {}, { onInit: i => void (id = i.id) })
  while (!id) await Bun.sleep(10)
  expect(id).toBe(sid)
  await execd.commands.interrupt(id)
  expect((await run).exitCode).toBe(-1)
  await execd.commands.deleteSession(sid)
})

test('SDK failures: a SandboxApiException with the status, the code and the message execd gave', async () => {
  const badCwd = await sdkFailure(() => execd.commands.run('true', { workingDirectory: '/no/such/dir' }))
  expect(badCwd).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
  expect(badCwd.message).toContain('/no/such/dir')
  expect(await sdkFailure(() => execd.commands.getCommandStatus('nope'))).toMatchObject({
    status: 404,
    code: 'CONTEXT_NOT_FOUND',
    message: 'command not found: nope',
  })
  expect(await sdkFailure(() => execd.commands.getBackgroundCommandLogs('nope'))).toMatchObject({ status: 404 })
  expect(await sdkFailure(() => execd.commands.interrupt('nope'))).toMatchObject({
    status: 404,
    code: 'CONTEXT_NOT_FOUND',
  })
  const { id } = await execd.commands.run('echo x', { background: true })
  expect(await sdkFailure(() => execd.commands.getBackgroundCommandLogs(id!, -1))).toMatchObject({ status: 400 })
  expect(await sdkFailure(() => execd.commands.runInSession('nope', 'true'))).toMatchObject({
    status: 404,
    code: 'CONTEXT_NOT_FOUND',
    message: 'session nope not found',
  })
  expect(await sdkFailure(() => execd.commands.deleteSession('nope'))).toMatchObject({ status: 404 })
  // A session whose shell exited says so.
  const sid = await execd.commands.createSession()
  expect((await execd.commands.runInSession(sid, 'exit 7')).exitCode).toBe(7)
  const ended = await sdkFailure(() => execd.commands.runInSession(sid, 'true'))
  expect(ended).toMatchObject({ status: 404, code: 'CONTEXT_NOT_FOUND' })
  expect(ended.message).toContain('has ended (exit status 7)')
})
