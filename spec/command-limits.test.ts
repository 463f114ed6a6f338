/**
 * Caps and idle expiry (CONTRACT §1 "Limits"): sessions, running background commands and
 * open streams each have a maximum, answered with 503 `SERVICE_UNAVAILABLE` naming the limit
 * before anything starts; a session nobody uses is ended after --session-idle ms.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { follow } from './command-stream'
import { postJson, readSse, startDaemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const refusal = async (res: Response) => ({ status: res.status, body: await res.json() })

describe('caps', () => {
  const fx = daemonAlone(() => ['--max-sessions', '2', '--max-background-commands', '1', '--max-streams', '2'])

  test('a third session is refused with 503 naming --max-sessions; deleting one frees a slot', async () => {
    const ids: string[] = []
    for (let i = 0; i < 2; i++) ids.push((await (await postJson(fx.d, '/session', {})).json()).session_id)
    const third = await refusal(await postJson(fx.d, '/session', {}))
    expect(third.status).toBe(503)
    expect(third.body.code).toBe('SERVICE_UNAVAILABLE')
    expect(third.body.message).toContain('--max-sessions')
    await fx.d.fetch(`/session/${ids[0]}`, { method: 'DELETE' })
    const again = await postJson(fx.d, '/session', {})
    expect(again.status).toBe(200)
    ids[0] = (await again.json()).session_id
    for (const id of ids) await fx.d.fetch(`/session/${id}`, { method: 'DELETE' })
  })

  test('a second running background command is refused with 503 and nothing runs', async () => {
    const first = await readSse(await postJson(fx.d, '/command', { command: 'sleep 30', background: true }))
    const id = first[0]?.data.text
    const marker = `/tmp/execd-limits-${crypto.randomUUID()}`
    const second = await refusal(await postJson(fx.d, '/command', { command: `touch ${marker}`, background: true }))
    expect(second.status).toBe(503)
    expect(second.body.message).toContain('--max-background-commands')
    await Bun.sleep(100)
    expect(() => readFileSync(marker)).toThrow()
    // Foreground commands are not background ones: they still run.
    expect((await readSse(await postJson(fx.d, '/command', { command: 'echo fg' }))).at(-1)!.data.type).toBe(
      'execution_complete',
    )
    await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })
    const third = await readSse(await postJson(fx.d, '/command', { command: 'true', background: true }))
    expect(third[0]?.data.type).toBe('init')
  })

  test('streams beyond --max-streams are refused with 503 before the command starts', async () => {
    const open = [
      await follow(await postJson(fx.d, '/command', { command: 'sleep 2' })),
      await follow(await postJson(fx.d, '/command', { command: 'sleep 2' })),
    ]
    const marker = `/tmp/execd-limits-${crypto.randomUUID()}`
    const refused = await refusal(await postJson(fx.d, '/command', { command: `touch ${marker}` }))
    expect(refused.status).toBe(503)
    expect(refused.body.message).toContain('--max-streams')
    expect(() => readFileSync(marker)).toThrow()
    // Replays count too.
    expect((await fx.d.fetch(`/command/${open[0]?.id}/events`)).status).toBe(503)
    for (const o of open) await o.stream
    // Ended streams give their slots back.
    expect((await readSse(await postJson(fx.d, '/command', { command: 'echo ok' }))).at(-1)!.data.type).toBe(
      'execution_complete',
    )
  })
})

test('an idle session expires: its bash is gone and its id answers 404; a running one does not', async () => {
  const d = await startDaemon({ args: ['--session-idle', '1000'] })
  try {
    const idle = (await (await postJson(d, '/session', {})).json()).session_id
    const busy = (await (await postJson(d, '/session', {})).json()).session_id
    const echoed = await readSse(await postJson(d, `/session/${idle}/run`, { command: 'echo $$' }))
    const pid = Number(echoed.find(f => f.data.type === 'stdout')!.data.text)
    // Runs for longer than the idle limit: running is not idle.
    const run = await readSse(await postJson(d, `/session/${busy}/run`, { command: 'sleep 2.5; echo done' }))
    expect(run.at(-1)!.data.type).toBe('execution_complete')
    expect((await postJson(d, `/session/${busy}/run`, { command: 'echo alive' })).status).toBe(200)
    // The other one had nothing to do for those 2.5 s.
    const gone = await postJson(d, `/session/${idle}/run`, { command: 'true' })
    expect(gone.status).toBe(404)
    for (let i = 0; i < 40 && alive(pid); i++) await Bun.sleep(25)
    expect(alive(pid)).toBe(false)
  } finally {
    await d.stop()
  }
})

/** A process that still runs (a zombie waiting for its reaper has stopped running). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

test('foreground commands whose clients left still count: past --max-commands a new one is refused with 503', async () => {
  const d = await startDaemon({ args: ['--max-commands', '1'] })
  try {
    const gone = new AbortController()
    const first = await follow(await postJson(d, '/command', { command: 'sleep 2' }, { signal: gone.signal }))
    gone.abort() // the client leaves; the command goes on
    const marker = `/tmp/execd-limits-${crypto.randomUUID()}`
    const refused = await refusal(await postJson(d, '/command', { command: `touch ${marker}` }))
    expect(refused.status).toBe(503)
    expect(refused.body.message).toContain('--max-commands')
    expect(() => readFileSync(marker)).toThrow()
    // Once it finished its slot is free again.
    for (let i = 0; i < 200 && (await (await d.fetch(`/command/status/${first.id}`)).json()).running; i++)
      await Bun.sleep(50)
    expect((await readSse(await postJson(d, '/command', { command: 'echo ok' }))).at(-1)!.data.type).toBe(
      'execution_complete',
    )
  } finally {
    await d.stop()
  }
})
