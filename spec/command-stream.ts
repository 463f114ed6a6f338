/**
 * Follows an SSE response: the execution id once `init` arrived (and `ready`, if given, saw its
 * frame), and all frames at the end.
 */
import { readSse, type SseFrame } from './harness'

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
