/**
 * Reading a command's SSE stream in the spec tests: following one, collecting one, what it said.
 */
import { expect } from 'bun:test'
import { postJson, readSse, type Daemon, type SseFrame } from './harness'

/**
 * Follows an SSE response: the execution id once `init` arrived (and `ready`, if given, saw its
 * frame), and all frames at the end.
 */
export async function follow(
  res: Response,
  ready?: (f: SseFrame) => boolean,
): Promise<{ id: string; stream: Promise<SseFrame[]> }> {
  if (res.status !== 200) throw new Error(`expected a stream, got ${res.status}: ${await res.text()}`)
  let gotInit!: (id: string) => void
  const init = new Promise<string>(r => (gotInit = r))
  let id = ''
  const stream = readSse(res, f => {
    if (f.data.type === 'init') id = f.data.text
    if (id && (!ready || ready(f))) gotInit(id)
    return false
  })
  return {
    id: await Promise.race([init, stream.then(() => Promise.reject(new Error('stream ended before init')))]),
    stream,
  }
}

/** A command's whole stream (a 200, or the test fails here). */
export async function commandFrames(d: Daemon, body: Record<string, unknown>): Promise<SseFrame[]> {
  const res = await postJson(d, '/command', body)
  expect(res.status).toBe(200)
  return readSse(res)
}

/** The texts of the stream's events of one type, in order. */
export const texts = (frames: SseFrame[], type = 'stdout'): string[] =>
  frames.filter(f => f.data.type === type).map(f => f.data.text)

/** The stream's terminal event. */
export const lastEvent = (frames: SseFrame[]) => frames[frames.length - 1]?.data
