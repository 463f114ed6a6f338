/**
 * The fuzz's oracle for contexts another case cleared (`DELETE /code/contexts?language=`): a
 * 404 on a race's context is excused while such a clear may have taken it. Seed 42002 reported
 * one that a clear still in flight had taken: sent before the race read the count, answered
 * after it judged, the count had not moved between the two.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type Daemon, childrenOf, startDaemon } from '../harness'
import type { HttpCase } from './cases'
import { send } from './send'
import { call, judgeContext } from './stream'
import { Created, type World } from './world'

let daemon: Daemon
beforeAll(async () => {
  daemon = await startDaemon({ args: ['--python-spare', '0', '--log-level', 'warn'] })
})
afterAll(() => daemon?.stop())

const clearSql: HttpCase = {
  kind: 'http',
  op: 'DELETE /code/contexts',
  method: 'DELETE',
  route: '/code/contexts',
  params: {},
  query: [['language', 'sql']],
  contentType: null,
  origin: null,
  headers: [],
  body: null,
  raw: null,
}

test('a context taken by a clear sent before the race read the count, and unanswered, is excused', async () => {
  const w = { daemon, clears: 0, clearing: 0, created: new Created() } as unknown as World
  const made = await call(w, 'POST /code/context {sql}', 'POST', '/code/context', { language: 'sql' }).done
  expect(made.status).toBe(200)
  const id = JSON.parse(made.text).id as string
  // Its sql child stopped: the clear waits for it to close (2 s, then a 500 ms kill), in flight
  // all the while, as a clear closing a busy interpreter was in the fuzz.
  const [child] = childrenOf(daemon.proc.pid)
  expect(child).toBeDefined()
  process.kill(child!.pid, 'SIGSTOP')
  let answered = false
  const clear = send(clearSql, w, { echo: 0, closed: 0 }, 10_000).then(a => ((answered = true), a))
  // The race's read, as the runtime case made it after its create's answer.
  const since = w.clears
  let gone = await call(w, 'GET /code/contexts/{id}', 'GET', `/code/contexts/${id}`).done
  for (let i = 0; i < 200 && gone.status === 200; i++) {
    await Bun.sleep(10)
    gone = await call(w, 'GET /code/contexts/{id}', 'GET', `/code/contexts/${id}`).done
  }
  expect(gone.status).toBe(404)
  // The clear is what took it, and had not answered: nothing else moved the count.
  expect(answered).toBe(false)
  expect(judgeContext(w, since, gone, [200])).toEqual([])
  expect((await clear).status).toBe(200)
  // Once nothing is in flight and the count has not moved since, a 404 is the daemon's.
  expect(judgeContext(w, w.clears, gone, [200])).not.toEqual([])
})
