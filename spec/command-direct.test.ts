/**
 * POST /command has two ways in: the front door answers a body its schema accepts as it is
 * (core/plugin.ts DirectRoute), Elysia's route everything else. A property Elysia strips
 * (`extra`) sends the same command the Elysia way: both must give the same status, headers
 * and frames (modulo timestamps, ids and durations), for every kind of command.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { type Answer, steadyHeaders } from './kit/steady-answer'

const fx = daemonWithDir('command-direct')

/** What differs between two runs of one command, whichever way it came, made constant. */
const normalize = (body: string) =>
  body
    .replace(/"timestamp":\d+/g, '"timestamp":0')
    .replace(/"execution_time":\d+,?/g, '') // 0 ms is left out of the event
    .replace(/[0-9a-f]{32}/g, '(id)')

async function answer(body: unknown): Promise<Answer> {
  const res = await postJson(fx.d, '/command', body)
  const headers = steadyHeaders(res)
  return { status: res.status, headers, body: normalize(await res.text()) }
}

/** The same command through the direct path, then through Elysia's route. */
async function bothWays(body: Record<string, unknown>) {
  const direct = await answer(body)
  const routed = await answer({ ...body, extra: true })
  return { direct, routed }
}

const COMMANDS: [string, Record<string, unknown>, string][] = [
  ['true', { command: 'true' }, '"type":"execution_complete"'],
  ['stdout', { command: 'echo out' }, '"text":"out"'],
  ['stderr', { command: 'echo err >&2' }, '"type":"stderr"'],
  ['a failing exit', { command: 'exit 3' }, '"evalue":"3"'],
  ['a signal', { command: 'kill -9 $$' }, '"type":"error"'],
  ['a timeout', { command: 'sleep 30', timeout: 200 }, 'timeout after 200 ms'],
  ['a working directory', { command: 'pwd', cwd: '/tmp' }, '"text":"/tmp"'],
  ['explicit foreground', { command: 'echo fg', background: false }, '"text":"fg"'],
  ['background', { command: 'true', background: true }, '"type":"execution_complete"'],
  ['output that needs escaping', { command: `printf 'q"\\\\ \\303\\251 \\001\\n'` }, '"type":"stdout"'],
  ['output past the hold', { command: 'for i in 1 2 3; do echo $i; sleep 0.05; done' }, '"text":"3"'],
  ['a partial last line', { command: 'printf a; printf b >&2' }, '"text":"b"'],
  // Direct since stop 57: a Record's members were taken for unnamed ones.
  ['an environment', { command: 'echo "$A-$B"', envs: { A: 'x', B: 'y z' } }, '"text":"x-y z"'],
]

describe('POST /command: the direct path answers as the Elysia route', () => {
  for (const [what, body, expected] of COMMANDS) {
    test(what, async () => {
      const { direct, routed } = await bothWays(body)
      expect(direct.status).toBe(200)
      expect(direct.headers['content-type']).toBe('text/event-stream')
      expect(direct.body).toContain(expected)
      expect(direct).toEqual(routed)
    })
  }

  test('bodies Elysia refuses or alters get its answer with or without a query', async () => {
    for (const body of [
      { command: '' },
      { command: 1 },
      {},
      { command: 'true', timeout: -1 },
      { command: 'true', timeout: '5' },
      { command: 'true', uid: 1.5 },
      { command: 'true', gid: 0 },
      { command: 'true', cwd: join(fx.tmp, 'missing') },
      { command: 'true', envs: { A: 1 } },
      { command: 'echo $A', envs: { A: 'x' } },
      { command: 'true', envs: { '': 'x' } },
      { command: 'true', envs: { 'A=B': 'x' } },
      { command: 'true', envs: { A: 'x\u0000' } },
      '{"command":"true","envs":{"__proto__":"x"}}',
      '{"command":"true","__proto__":{"x":1}}',
      '[]',
      'null',
    ]) {
      const direct = await postJson(fx.d, '/command', body)
      const routed = await postJson(fx.d, '/command?x=1', body)
      expect(direct.status).toBe(routed.status)
      expect(normalize(await direct.text())).toBe(normalize(await routed.text()))
    }
  })
})
