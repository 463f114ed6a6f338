import { describe, expect, test } from 'bun:test'
import {
  CellTracker,
  completenessOf,
  executeRequest,
  isCompleteRequest,
  type JupyterMessage,
  resultBundle,
  stripAnsi,
} from './messages'

const msg = (
  type: string,
  parent: string | undefined,
  content: Record<string, unknown>,
  channel = 'iopub',
): JupyterMessage => ({
  header: { msg_id: crypto.randomUUID(), msg_type: type },
  parent_header: parent ? { msg_id: parent } : {},
  content,
  channel,
})

describe('CellTracker', () => {
  test('ignores messages answering another request, even their idle', () => {
    const t = new CellTracker('mine')
    expect(t.accept(msg('stream', 'other', { name: 'stdout', text: 'x' })).events).toEqual([])
    t.accept(msg('status', 'other', { execution_state: 'idle' }))
    expect(t.idle).toBe(false)
  })

  test('is done only after both idle and execute_reply', () => {
    const t = new CellTracker('m')
    t.accept(msg('status', 'm', { execution_state: 'idle' }))
    expect(t.done).toBe(false)
    t.accept(msg('execute_reply', 'm', { status: 'ok', execution_count: 3 }, 'shell'))
    expect(t.done).toBe(true)
    expect(t.finish().map(e => [e.type, e.execution_count])).toEqual([['execution_count', 3]])
  })

  test('an execute_reply on iopub (a cell sending it itself) is no reply: only shell answers', () => {
    const t = new CellTracker('m')
    t.accept(msg('status', 'm', { execution_state: 'idle' }))
    t.accept(msg('execute_reply', 'm', { status: 'ok', execution_count: 3 }))
    expect(t.replied).toBe(false)
    expect(t.done).toBe(false)
  })

  test('sends execution_count once, before the first result', () => {
    const t = new CellTracker('m')
    t.accept(msg('execute_input', 'm', { execution_count: 5, code: '' }))
    const a = t.accept(msg('display_data', 'm', { data: { 'text/plain': 'd' } })).events
    const b = t.accept(msg('execute_result', 'm', { execution_count: 5, data: { 'text/plain': 'r' } })).events
    expect(a.map(e => e.type)).toEqual(['execution_count', 'result'])
    expect(b.map(e => e.type)).toEqual(['result'])
    expect(t.finish()).toEqual([])
  })

  test('an error only in the execute_reply still becomes an error event', () => {
    const t = new CellTracker('m')
    const ev = t.accept(
      msg(
        'execute_reply',
        'm',
        { status: 'error', ename: 'E', evalue: 'v', traceback: ['\x1b[0;31mE\x1b[0m: v'] },
        'shell',
      ),
    ).events
    expect(ev.at(-1)!.error).toEqual({ ename: 'E', evalue: 'v', traceback: ['E: v'] })
  })

  test("a kernel's evalue that is not a string arrives as its JSON text", () => {
    // Kernels other than IPython send what their language throws; String() made an object
    // '[object Object]' and lost it.
    const t = new CellTracker('m')
    const ev = t.accept(msg('error', 'm', { ename: 'E', evalue: { code: 7, why: 'no' }, traceback: [] })).events
    expect(ev.at(-1)?.error).toEqual({ ename: 'E', evalue: '{"code":7,"why":"no"}', traceback: [] })
    const missing = new CellTracker('n').accept(msg('error', 'n', { ename: 'E', traceback: [] })).events
    expect(missing.at(-1)?.error?.evalue).toBe('')
  })

  test('an iopub error is not repeated from the reply', () => {
    const t = new CellTracker('m')
    t.accept(msg('error', 'm', { ename: 'E', evalue: 'v', traceback: [] }))
    expect(t.accept(msg('execute_reply', 'm', { status: 'error', ename: 'E', evalue: 'v' }, 'shell')).events).toEqual(
      [],
    )
  })

  test("the server's 'restarting' notice (no parent) means the kernel died", () => {
    const t = new CellTracker('m')
    expect(t.accept(msg('status', undefined, { execution_state: 'restarting' })).died).toBe('restarting')
  })
})

test('a bundle keeps text/plain and adds the alias text', () => {
  expect(resultBundle({ 'text/plain': '1', 'text/html': '<b>1</b>' })).toEqual({
    'text/plain': '1',
    'text/html': '<b>1</b>',
    text: '1',
  })
  expect(resultBundle({ 'image/png': 'iVBO' })).toEqual({ 'image/png': 'iVBO' })
})

test('an execute_request speaks protocol 5.3 on the shell channel', () => {
  const r = executeRequest('id1', 's1', 'x') as any
  expect(r.header).toMatchObject({ msg_id: 'id1', session: 's1', msg_type: 'execute_request', version: '5.3' })
  expect(r.channel).toBe('shell')
  expect(r.content).toMatchObject({
    code: 'x',
    silent: false,
    store_history: true,
    allow_stdin: false,
    stop_on_error: false,
  })
})

test('stripAnsi removes colour codes only', () => {
  expect(stripAnsi('\x1b[0;32m----> 3\x1b[0m f()')).toBe('----> 3 f()')
})

test('an is_complete_reply is read to go on (with its indent), run, or no word', () => {
  expect(completenessOf({ status: 'incomplete', indent: '    ' })).toEqual({ status: 'incomplete', indent: '    ' })
  expect(completenessOf({ status: 'incomplete', indent: 4 })).toEqual({ status: 'incomplete', indent: '' })
  expect(completenessOf({ status: 'complete' })).toEqual({ status: 'complete' })
  expect(completenessOf({ status: 'invalid' })).toEqual({ status: 'invalid' })
  for (const odd of [{ status: 'unknown' }, { status: 'later' }, {}, undefined])
    expect(completenessOf(odd)).toEqual({ status: 'unknown' })
  const req = isCompleteRequest('m1', 's1', 'def f(x):') as {
    header: { msg_type: string }
    content: object
    channel: string
  }
  expect([req.header.msg_type, req.content, req.channel]).toEqual([
    'is_complete_request',
    { code: 'def f(x):' },
    'shell',
  ])
})
