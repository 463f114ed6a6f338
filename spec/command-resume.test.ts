/**
 * Resumable command streams (CONTRACT §2): replay from Last-Event-ID / ?after=, explicit gaps.
 * Ids a command never sent (and ones that are no id) are spec/resume-edges.test.ts's.
 */
import { expect, test } from 'bun:test'
import { follow } from './command-stream'
import { postJson, readSse, type SseFrame } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()

const stdout = (frames: SseFrame[]) => frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)

test('a client that lost its connection resumes with Last-Event-ID: no event lost or duplicated', async () => {
  const res = await postJson(fx.d, '/command', { command: 'for i in $(seq 1 30); do echo $i; sleep 0.02; done' })
  const before = await readSse(res, f => f.id === '8') // then the connection is dropped
  const id = before[0]?.data.text
  const after = await readSse(await fx.d.fetch(`/command/${id}/events`, { headers: { 'Last-Event-ID': '8' } }))
  const ids = [...before, ...after].map(f => Number(f.id))
  expect(ids).toEqual(ids.map((_, i) => i + 1))
  expect(stdout([...before, ...after])).toEqual(Array.from({ length: 30 }, (_, i) => String(i + 1)))
  expect(after[after.length - 1]?.data.type).toBe('execution_complete')
})

test('?after= replays a finished command with the same ids', async () => {
  const { id, stream } = await follow(await postJson(fx.d, '/command', { command: 'echo one; echo two' }))
  const live = await stream
  const replay = await readSse(await fx.d.fetch(`/command/${id}/events?after=0`))
  expect(replay.map(f => [f.id, f.data.type, f.data.text])).toEqual(live.map(f => [f.id, f.data.type, f.data.text]))
  const tail = await readSse(await fx.d.fetch(`/command/${id}/events?after=${live.length - 1}`))
  expect(tail.map(f => f.data.type)).toEqual(['execution_complete'])
})

test('asking for events beyond the bound says so with an events_dropped status event', async () => {
  const frames = await readSse(await postJson(fx.d, '/command', { command: 'seq 1 10000', background: true }))
  const id = frames[0]?.data.text
  for (let i = 0; i < 100 && (await (await fx.d.fetch(`/command/status/${id}`)).json()).running; i++)
    await Bun.sleep(50)
  const replay = await readSse(await fx.d.fetch(`/command/${id}/events`))
  expect(replay[0]?.data).toMatchObject({ type: 'status', text: 'events_dropped', dropped: { from: 1 } })
  const rest = replay.slice(1)
  const ids = rest.map(f => Number(f.id))
  const [firstId = NaN] = ids
  expect(ids).toEqual(ids.map((_, i) => firstId + i))
  expect(replay[0]?.data.dropped.to).toBe(firstId - 1)
  // The gap's id is its last: a client resuming from it is not told of the same gap again.
  expect(replay[0]?.id).toBe(String(firstId - 1))
  expect(stdout(rest).at(-1)).toBe('10000')
  expect(rest.at(-1)!.data.type).toBe('execution_complete')
  // the log still has every byte
  const log = await (await fx.d.fetch(`/command/${id}/logs`)).text()
  expect(log.split('\n').length).toBe(10001)
})

test("a replay from any id, inside a read's many lines or not, is the live stream from there on, byte for byte", async () => {
  // seq's lines come many to a read (journaled as runs of frames); one line JSON escapes, CRLF
  const command = `seq 1 2000; printf 'q"uote\\ttab\\r\\nlast'; echo; seq 2001 2600`
  const live = await (await postJson(fx.d, '/command', { command })).text()
  const id = /"text":"([0-9a-f]{32})"/.exec(live)![1]
  expect(live).toContain('"text":"q\\"uote\\ttab"')
  const last = Number([...live.matchAll(/^id: (\d+)$/gm)].at(-1)![1])
  expect(last).toBe(2 + 2000 + 2 + 600 + 1)
  for (const after of [0, 1, 2, 3, 700, 1999, 2002, 2003, 2004, 2300, last - 1]) {
    const from = after === 0 ? 0 : live.indexOf(`id: ${after + 1}\n`)
    const replay = await (await fx.d.fetch(`/command/${id}/events?after=${after}`)).text()
    expect(replay).toBe(live.slice(from))
    if (after % 2 === 1) {
      const resumed = await fx.d.fetch(`/command/${id}/events`, { headers: { 'Last-Event-ID': String(after) } })
      expect(await resumed.text()).toBe(live.slice(from))
    }
  }
})
