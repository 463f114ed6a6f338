/**
 * A cell that writes to its interpreter's protocol channel (fd 3) a bulk header announcing
 * more than follows: execd checks the payload as it comes, so the lie is seen at the driver's
 * next message, and the cell still ends (it used to wait for gigabytes that never came, the
 * context wedged until deleted).
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, rssMiB, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const havePython = Bun.which('python3') !== null

/** Runs `code` in context `id`; gives up (and fails) after 20 s rather than hang the suite. */
async function cell(d: Daemon, id: string, code: string): Promise<any[]> {
  const res = await postJson(d, '/code', { code, context: { id } }, { signal: AbortSignal.timeout(20_000) })
  return (await readSse(res)).map(f => f.data)
}

describe.skipIf(!havePython)('a python cell that lies to execd on fd 3 about a message’s length', () => {
  const fx = daemonAlone()

  const LIES: Record<string, string> = {
    'a 93 GiB output with no payload': `b'{"raw":99999999999,"type":"stdout"}\\n'`,
    'a 1 GiB result whose payload stops': `b'{"raw":1073741824,"type":"result"}\\n{"text/plain": "'`,
    'a string payload that never closes': `b'{"raw":1073741824,"type":"stderr"}\\n"abc'`,
  }
  for (const [name, lie] of Object.entries(LIES)) {
    test(`${name}: the cell ends, and the context runs the next one`, async () => {
      const { id } = await (await postJson(fx.d, '/code/context', { language: 'python' })).json()
      const events = await cell(fx.d, id, `import os, time\nos.write(3, ${lie})\ntime.sleep(0.2)\nprint('after')`)
      expect(events.at(-1)?.type).toBe('execution_complete')
      const next = await cell(fx.d, id, 'print(6 * 7)')
      expect(next.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['42\n'])
      expect(next.at(-1)?.type).toBe('execution_complete')
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }
})

describe.skipIf(!havePython)('a python cell that writes to fd 3 a line that is JSON but no event', () => {
  const fx = daemonAlone()

  const LINES: Record<string, string> = {
    'null (ended the cell with execd’s own TypeError)': 'null',
    'a stdout whose text is an object': '{"type":"stdout","text":{"a":1}}',
    'a result whose results are a string': '{"type":"result","results":"abc"}',
    'an error without its object': '{"type":"error","error":null}',
    'an error whose traceback is no list': '{"type":"error","error":{"ename":"E","evalue":"v","traceback":"t"}}',
  }
  for (const [name, line] of Object.entries(LINES)) {
    test(`${name}: ignored, the cell’s own output and end go on`, async () => {
      const { id } = await (await postJson(fx.d, '/code/context', { language: 'python' })).json()
      const write = `os.write(3, ${JSON.stringify(`${line}\n`)}.encode())`
      const events = await cell(fx.d, id, `import os, time\n${write}\ntime.sleep(0.2)\nprint('after')`)
      expect(events.filter(e => !['init', 'ping'].includes(e.type)).map(e => e.type)).toEqual([
        'stdout',
        'execution_count',
        'execution_complete',
      ])
      expect(events.find(e => e.type === 'stdout')?.text).toBe('after\n')
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }

  test('a result nested 200,000 deep (framing it overflowed the stack and cut the response): ignored', async () => {
    const { id } = await (await postJson(fx.d, '/code/context', { language: 'python' })).json()
    const write = `os.write(3, b'{"type":"result","results":{"a":' + b'[' * 200000 + b']' * 200000 + b'}}\\n')`
    const events = await cell(fx.d, id, `import os, time\n${write}\ntime.sleep(0.2)\nprint('after')`)
    expect(events.filter(e => !['init', 'ping'].includes(e.type)).map(e => e.type)).toEqual([
      'stdout',
      'execution_count',
      'execution_complete',
    ])
    const next = await cell(fx.d, id, 'print(6 * 7)')
    expect(next.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['42\n'])
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})

describe.skipIf(!havePython)('a python cell that writes the driver’s `done` to fd 3', () => {
  const fx = daemonAlone()

  const DONES: Record<string, string> = {
    'as the driver wrote it': '{"type": "done"}',
    'with a guessed key': '{"type": "done", "k": "1"}',
  }
  for (const [name, line] of Object.entries(DONES)) {
    test(`${name}: its run goes on to its own end, and every later run gets its own output`, async () => {
      const { id } = await (await postJson(fx.d, '/code/context', { language: 'python' })).json()
      const write = `os.write(3, ${JSON.stringify(`${line}\n`)}.encode())`
      const stdout = (events: any[]) => events.filter(e => e.type === 'stdout').map(e => e.text)
      const first = await cell(fx.d, id, `import os\n${write}\nprint('after the forged done')`)
      expect(stdout(first)).toEqual(['after the forged done\n'])
      expect(first.at(-1)?.type).toBe('execution_complete')
      expect(stdout(await cell(fx.d, id, "print('second')"))).toEqual(['second\n'])
      expect(stdout(await cell(fx.d, id, "print('third')"))).toEqual(['third\n'])
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }

  describe('a cell that writes a long line to its interpreter channel (fd 3)', () => {
    // The channel's reader appended each chunk to one string and searched it all again for a
    // newline: a 256 MiB line was quadratic (minutes of CPU) and all of it stayed in memory. The
    // fd is open to the cell's own code. Now each chunk is searched once and a line over 64 Mi
    // characters is dropped up to its newline; the cell goes on.
    // 512 MiB, and a bound of 320: the line's 64 Mi characters kept, the chunks after it not yet
    // collected, grew execd 130-165 MiB here and 219 in a CI run (256 MiB against a bound of 192
    // failed there), the same for 256 as for 512 MiB; a line kept whole is all 512 of it.
    test('python: 512 MiB without a newline, then one: the cell completes, execd memory bounded', async () => {
      const before = rssMiB(fx.d.proc.pid)
      const code = [
        'import os',
        'def w(b):',
        '    v = memoryview(b)',
        '    while v:',
        '        v = v[os.write(3, v):]',
        "chunk = b'x' * (1 << 20)",
        'for _ in range(512):',
        '    w(chunk)',
        "w(b'\\n')",
        "print('ok')",
      ].join('\n')
      const res = await postJson(fx.d, '/code', { code, context: { language: 'python' } })
      expect(res.status).toBe(200)
      const frames = await readSse(res)
      expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['ok\n'])
      expect(frames.at(-1)!.data.type).toBe('execution_complete')
      expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(320)
    }, 60_000)
  })
})
