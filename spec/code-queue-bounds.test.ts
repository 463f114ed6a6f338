/**
 * What a client can leave queued in code contexts. An execution outlives its client: cells
 * posted behind a busy one were queued without end, each holding its code, by clients that
 * left at once (40 cells of 15 MiB grew execd from 65 to 715 MiB on main's build). A context
 * holds 256 executions queued or running, and all of them 128 Mi characters of code; past
 * either, a 503 before any stream.
 */
import { expect, test } from 'bun:test'
import { createContext } from './runtime-kit'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone(() => ['--code-interrupt-grace', '500'])

/** Posts a cell and leaves as soon as the answer's head arrives; its status, id and error body. */
async function postAndLeave(id: string, code: string): Promise<{ status: number; execution?: string; body?: any }> {
  const res = await fx.d.fetch('/code', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, context: { id } }),
  })
  if (res.status === 200) {
    await res.body?.cancel()
    return { status: 200, execution: res.headers.get('EXECD-EXECUTION-ID') ?? undefined }
  }
  return { status: res.status, body: await res.json() }
}

/** Waits until the execution has ended (its replay reaches execution_complete). */
async function ended(execution: string): Promise<void> {
  const res = await fx.d.fetch(`/code/executions/${execution}/events`)
  expect(res.status).toBe(200)
  const text = await res.text()
  expect(text).toContain('"execution_complete"')
}

test('a context holds 256 executions queued or running; the next is a 503, and room comes back as they end', async () => {
  const id = await createContext(fx.d, 'python')
  expect((await postAndLeave(id, 'import time\ntime.sleep(600)')).status).toBe(200)
  let last = ''
  for (let i = 1; i < 256; i++) {
    const posted = await postAndLeave(id, `${i}`)
    expect(posted.status).toBe(200)
    last = posted.execution!
  }
  const refused = await postAndLeave(id, '"one too many"')
  expect(refused.status).toBe(503)
  expect(refused.body.code).toBe('SERVICE_UNAVAILABLE')
  expect(refused.body.message).toContain('256 executions queued or running')
  expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
  await ended(last)
  const again = await postAndLeave(id, '"room again"')
  expect(again.status).toBe(200)
  await ended(again.execution!)
  expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
}, 120_000)

test('queued code is bounded in all: a 15 MiB cell past 128 Mi characters is a 503, nothing queued', async () => {
  const id = await createContext(fx.d, 'python')
  expect((await postAndLeave(id, 'import time\ntime.sleep(600)')).status).toBe(200)
  const big = `#${'x'.repeat(15 << 20)}\n1`
  let last = ''
  let refused: { status: number; body?: any } | undefined
  for (let i = 0; i < 12 && !refused; i++) {
    const posted = await postAndLeave(id, big)
    if (posted.status === 200) last = posted.execution!
    else refused = posted
  }
  expect(refused?.status).toBe(503)
  expect(refused?.body.code).toBe('SERVICE_UNAVAILABLE')
  expect(refused?.body.message).toContain('characters of code')
  expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
  await ended(last)
  const again = await postAndLeave(id, big)
  expect(again.status).toBe(200)
  await ended(again.execution!)
  expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
}, 120_000)
