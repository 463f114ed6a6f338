import { expect, test } from 'bun:test'
import { makeEvent, type ExecEvent } from './events'
import { closeAllStreams, openStreamCount, sseResponse } from './sse'

const frames = (body: string) =>
  body
    .split('\n\n')
    .filter(Boolean)
    .map(block => JSON.parse(block.slice(block.indexOf('data: ') + 6)))

test('events are framed with ids counting from 1 and the stream ends with the source', async () => {
  async function* source() {
    yield makeEvent('init', { text: 'x' })
    yield makeEvent('stdout', { text: 'a' })
    yield makeEvent('execution_complete', {})
  }
  const body = await (await sseResponse(source(), { pingMs: 0 })).text()
  expect(body.startsWith('id: 1\ndata: ')).toBe(true)
  expect(frames(body).map(e => e.type)).toEqual(['init', 'stdout', 'execution_complete'])
})

test('shutdown ends an open stream with an error event, also after many events', async () => {
  let release!: () => void
  const stuck = new Promise<void>(r => (release = r))
  async function* source(): AsyncGenerator<ExecEvent> {
    yield makeEvent('init', { text: 'x' })
    for (let i = 0; i < 2000; i++) yield makeEvent('stdout', { text: String(i) })
    await stuck
  }
  const res = await sseResponse(source(), { pingMs: 0 })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let body = ''
  while (!body.includes('"text":"1999"')) body += decoder.decode((await reader.read()).value)
  closeAllStreams()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    body += decoder.decode(value)
  }
  release()
  const events = frames(body)
  expect(events.at(-1).type).toBe('error')
  expect(events.at(-1).error.ename).toBe('ServerShutdown')
  expect(openStreamCount()).toBe(0)
})

test('an idle stream sends a keepalive ping without an id, then carries on', async () => {
  async function* source() {
    yield makeEvent('init', { text: 'x' })
    await Bun.sleep(60)
    yield makeEvent('execution_complete', {})
  }
  const body = await (await sseResponse(source(), { pingMs: 10 })).text()
  const types = frames(body).map(e => e.type)
  expect(types[0]).toBe('init')
  expect(types).toContain('ping')
  expect(types.at(-1)).toBe('execution_complete')
  expect(body).toContain('\n\ndata: {"type":"ping"')
})
