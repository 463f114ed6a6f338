import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createApp } from '../../core/app'
import { resolveConfig, SERVER_OPTIONS } from '../../core/config'
import { createLogger } from '../../core/log'
import type { ExecEvent } from '../../core/events'
import { COMMAND_RUNNER } from './contract'
import type { SseItem } from '../../core/sse'
import { command } from '.'

let app: Awaited<ReturnType<typeof createApp>>
beforeAll(async () => {
  const config = resolveConfig([...SERVER_OPTIONS, ...(command.options ?? [])], {})
  app = await createApp({ plugins: [command], runtimes: [], config, log: createLogger('silent') })
})
afterAll(() => app.close())

const eventOf = (item: ExecEvent | SseItem): ExecEvent =>
  'event' in item && typeof item.event === 'object' ? (item as SseItem).event : (item as ExecEvent)

const call = (path: string, init?: RequestInit) => app.app.handle(new Request(`http://localhost${path}`, init))

test('the command runner service streams init first and the terminal event last', async () => {
  const runner = app.ctx.registry.require(COMMAND_RUNNER)
  const events: ExecEvent[] = []
  for await (const item of await runner.run({ command: 'echo hi' })) events.push(eventOf(item))
  expect(events[0]).toMatchObject({ type: 'init' })
  expect(events.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['hi'])
  expect(events.at(-1)!.type).toBe('execution_complete')
})

test('POST /command answers with an event stream', async () => {
  const res = await call('/command', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"command":"true"}',
  })
  expect(res.headers.get('content-type')).toBe('text/event-stream')
  expect(await res.text()).toContain('"type":"execution_complete"')
})

test('DELETE /command without id → MISSING_QUERY; unknown → CONTEXT_NOT_FOUND', async () => {
  const missing = await call('/command', { method: 'DELETE' })
  expect([missing.status, (await missing.json()).code]).toEqual([400, 'MISSING_QUERY'])
  const unknown = await call('/command?id=x', { method: 'DELETE' })
  expect([unknown.status, (await unknown.json()).code]).toEqual([404, 'CONTEXT_NOT_FOUND'])
})

test('a negative log cursor is a 400', async () => {
  const runner = app.ctx.registry.require(COMMAND_RUNNER)
  let id = ''
  for await (const item of await runner.run({ command: 'true' })) {
    const e = eventOf(item)
    if (e.type === 'init') id = e.text!
  }
  expect((await call(`/command/${id}/logs?cursor=-1`)).status).toBe(400)
})

test('a command without output has no log file yet an empty /logs with its cursor', async () => {
  const runner = app.ctx.registry.require(COMMAND_RUNNER)
  let id = ''
  for await (const item of await runner.run({ command: 'true' })) {
    const e = eventOf(item)
    if (e.type === 'init') id = e.text!
  }
  for (const cursor of [0, 5]) {
    const res = await call(`/command/${id}/logs?cursor=${cursor}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(res.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe(String(cursor))
    expect(await res.text()).toBe('')
  }
  const status = await call(`/command/status/${id}`)
  expect(await status.json()).toMatchObject({ running: false, exit_code: 0 })
})

test("the shell is found on execd's PATH, not the command's, and is still $0 = bash", async () => {
  const runner = app.ctx.registry.require(COMMAND_RUNNER)
  const events: ExecEvent[] = []
  // The reference's exec.Command looks bash up on its own PATH too; the command keeps its PATH.
  const run = await runner.run({ command: 'echo "$0 $PATH"', envs: { PATH: '/nonexistent' } })
  for await (const item of run) events.push(eventOf(item))
  expect(events.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['bash /nonexistent'])
  expect(events.at(-1)!.type).toBe('execution_complete')
})
