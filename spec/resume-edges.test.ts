/**
 * Replays (`GET /command/{id}/events`, `GET /code/executions/{id}/events`) asked for an event id
 * the execution never sent: a 400 naming the last one it did, never a 200 stream that ends
 * without its terminal event or waits for events that may never come.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { follow } from './command-stream'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { refused } from './kit/refused'

const fx = daemonWithDir('resume')

/** A finished command's id and the ids of its stream. */
async function finishedCommand(): Promise<{ id: string; ids: string[] }> {
  const { id, stream } = await follow(await postJson(fx.d, '/command', { command: 'echo one; echo two' }))
  return { id, ids: (await stream).map(f => f.id!) }
}

/** A finished javascript execution's id and the ids of its stream. */
async function finishedCell(): Promise<{ id: string; ids: string[] }> {
  const res = await postJson(fx.d, '/code', { code: 'console.log("a"); 1 + 1', context: { language: 'javascript' } })
  const id = res.headers.get('EXECD-EXECUTION-ID')!
  return { id, ids: (await readSse(res)).map(f => f.id!) }
}

const routes = [
  { name: 'command', path: (id: string) => `/command/${id}/events`, make: finishedCommand },
  { name: 'code', path: (id: string) => `/code/executions/${id}/events`, make: finishedCell },
]

describe.each(routes)('replaying a $name', ({ path, make }) => {
  test('from an id past the last event sent is a 400 naming the last one, by header and by ?after=', async () => {
    const { id, ids } = await make()
    const last = ids.at(-1)!
    for (const beyond of [Number(last) + 1, 1000]) {
      const byHeader = await refused(await fx.d.fetch(path(id), { headers: { 'Last-Event-ID': String(beyond) } }))
      expect(byHeader).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(byHeader.message).toContain(`Last-Event-ID ${beyond}`)
      expect(byHeader.message).toContain(`the last is ${last}`)
      const byQuery = await refused(await fx.d.fetch(`${path(id)}?after=${beyond}`))
      expect(byQuery).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(byQuery.message).toContain(`after=${beyond}`)
    }
    // The last id itself is one the client may hold: nothing more to send, and a clean end.
    const atEnd = await fx.d.fetch(path(id), { headers: { 'Last-Event-ID': last } })
    expect(atEnd.status).toBe(200)
    expect(await readSse(atEnd)).toEqual([])
  })

  test('from an id that is no event id (not a whole number, negative, past 2^53) is a 400', async () => {
    const { id } = await make()
    for (const bad of ['1.5', '-3', 'abc', '0x10', '1e3', '99999999999999999999', 'x'.repeat(4000)]) {
      const byHeader = await refused(await fx.d.fetch(path(id), { headers: { 'Last-Event-ID': bad } }))
      expect([bad, byHeader.status, byHeader.code]).toEqual([bad, 400, 'INVALID_REQUEST_BODY'])
      expect(byHeader.message).toContain('Last-Event-ID')
      expect(byHeader.message.length).toBeLessThan(400)
      const byQuery = await refused(await fx.d.fetch(`${path(id)}?after=${encodeURIComponent(bad)}`))
      expect([bad, byQuery.status, byQuery.code]).toEqual([bad, 400, 'INVALID_REQUEST_BODY'])
    }
  })

  test('with an empty id or 0 replays from the start (an EventSource that has seen no id sends none)', async () => {
    const { id, ids } = await make()
    for (const none of ['', ' ', '0']) {
      const res = await fx.d.fetch(path(id), { headers: { 'Last-Event-ID': none } })
      expect([none, res.status]).toEqual([none, 200])
      expect((await readSse(res)).map(f => f.id)).toEqual(ids)
    }
    expect((await readSse(await fx.d.fetch(`${path(id)}?after=`))).map(f => f.id)).toEqual(ids)
  })
})

describe('replaying a running execution from an id it has not sent yet', () => {
  /** A replay from event 50 of work that waits for `flag`: a 400 naming its last id, given while it still runs. */
  const expectRefusedPast = async (events: string, flag: string) => {
    try {
      const answer = await refused(await fx.d.fetch(events, { headers: { 'Last-Event-ID': '50' } }))
      expect(existsSync(flag)).toBe(false)
      expect(answer).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(answer.message).toMatch(/Last-Event-ID 50 .*the last is \d+/)
    } finally {
      writeFileSync(flag, '')
    }
  }

  // The work ends on its own after ~5 s, or at once when the flag appears: a build that waited
  // for the id to come answered then, with a stream holding nothing.
  test('a command: a 400 at once, and the command goes on to its end', async () => {
    const flag = join(fx.tmp, 'command-flag')
    const { id, stream } = await follow(
      await postJson(fx.d, '/command', {
        command: `for i in $(seq 100); do [ -e ${flag} ] && break; sleep 0.05; done; echo done`,
      }),
    )
    await expectRefusedPast(`/command/${id}/events`, flag)
    const frames = await stream
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['done'])
    expect(frames.at(-1)!.data.type).toBe('execution_complete')
  })

  test('a code execution: a 400 at once, and the cell goes on to its end', async () => {
    const flag = join(fx.tmp, 'cell-flag')
    const res = await postJson(fx.d, '/code', {
      code: `const fs = require('fs'); for (let i = 0; i < 100 && !fs.existsSync(${JSON.stringify(flag)}); i++) await Bun.sleep(50); 'done'`,
      context: { language: 'javascript' },
    })
    const executionId = res.headers.get('EXECD-EXECUTION-ID')!
    const frames = readSse(res)
    await expectRefusedPast(`/code/executions/${executionId}/events`, flag)
    const all = await frames
    expect(all.find(f => f.data.type === 'result')?.data.results['text/plain']).toBe("'done'")
    expect(all.at(-1)!.data.type).toBe('execution_complete')
  })
})

describe('replaying a command whose journal was let go (retention keeps 16)', () => {
  test('from the event before the last: the terminal event alone, no gap reported', async () => {
    const { id, ids } = await finishedCommand()
    // 16 more finished commands release the first one's journal (its status and log stay).
    for (let i = 0; i < 16; i++) await finishedCommand()
    const last = ids.at(-1)!
    const before = await readSse(
      await fx.d.fetch(`/command/${id}/events`, { headers: { 'Last-Event-ID': String(Number(last) - 1) } }),
    )
    expect(before.map(f => [f.id, f.data.type])).toEqual([[last, 'execution_complete']])
    const gap = await readSse(await fx.d.fetch(`/command/${id}/events`, { headers: { 'Last-Event-ID': '1' } }))
    expect(gap.map(f => f.data.type)).toEqual(['status', 'execution_complete'])
    expect(gap[0]!.data).toMatchObject({ text: 'events_dropped', dropped: { from: 2, to: Number(last) - 1 } })
    const beyond = await refused(
      await fx.d.fetch(`/command/${id}/events`, { headers: { 'Last-Event-ID': String(Number(last) + 1) } }),
    )
    expect(beyond).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
    expect(beyond.message).toContain(`the last is ${last}`)
  })
})
