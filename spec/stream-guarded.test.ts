/**
 * Every answer that holds a slot while it is sent is looked at by the stall rule
 * (core/send-stall.ts) once a look period after it started: TCP_INFO through the C library's
 * getsockopt. Main's merge of stop 51 left getsockopt out of the calls core/connection-fd.ts
 * loads, and the first look threw (`getsockopt is not a function`), which ended execd and all it
 * ran: any command, session run or cell streamed over TCP for longer than the look period (1 s
 * by default). A stream and a download here outlive many looks while their client reads; each
 * is answered whole and the daemon still answers after. Counted, never timed: the waits only
 * let the rule look.
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, stdoutJoined, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

/** A look every STALL_MS / 4 (core/send-stall.ts): 500 ms here. */
const STALL_MS = 2000
const LOOKS = 4

const fx = daemonWithDir('stream-guarded', () => ({ env: { EXECD_PERIODS: `stall:${STALL_MS}` } }))

const alive = async () => (await fx.d.fetch('/ping')).status === 200

test('a command streamed while the stall rule looks at it many times ends whole; execd lives on', async () => {
  const go = join(fx.tmp, 'go')
  const res = await postJson(fx.d, '/command', {
    command: `echo started; while [ ! -e '${go}' ]; do sleep 0.05; done; echo done`,
  })
  expect(res.status).toBe(200)
  const frames = readSse(res)
  await Bun.sleep(LOOKS * (STALL_MS / 4))
  writeFileSync(go, '')
  const text = stdoutJoined(await frames)
  // Main's build: the stream is cut after `started` and nothing answers the ping.
  expect(text).toBe('started\ndone')
  expect(await alive()).toBe(true)
  expect(fx.d.logs()).not.toContain('uncaught error')
})

test('a download read slowly over many looks arrives whole', async () => {
  const file = join(fx.tmp, 'big')
  const size = 8 << 20
  writeFileSync(file, Buffer.alloc(size, 'x'))
  const res = await fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`)
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let got = 0
  const first = await reader.read()
  got += first.value?.length ?? 0
  // Unread for a look or more (the send queue holds bytes, acknowledged bytes do not grow: the
  // clock runs, well short of its period), then read to the end.
  await Bun.sleep(STALL_MS / 4 + 100)
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    got += value.length
  }
  expect(got).toBe(size)
  await waitFor('execd to answer', alive)
  expect(fx.d.logs()).not.toContain('uncaught error')
})
