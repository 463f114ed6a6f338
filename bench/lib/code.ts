/** Client side of the code section (CONTRACT §3), shared by rows 1 and 2. */
import { type Execd, Skip, requireRoute } from './execd'
import { codeEnded, readEvents, type StreamEvent } from './sse'

export const requireCode = (d: Execd) => requireRoute(d, 'GET', '/code/contexts')

/** Creates a context; a language this build lacks (400/501) becomes a Skip for that line. */
export async function createContext(d: Execd, language: string): Promise<string> {
  const res = await d.post('/code/context', { language })
  const text = await res.text()
  if (res.status === 400 || res.status === 501 || res.status === 404) {
    const message = (() => {
      try {
        return String((JSON.parse(text) as { message?: string }).message ?? text)
      } catch {
        return text
      }
    })()
    throw new Skip(`${language} runtime not built (${res.status}: ${message.split(';')[0]?.slice(0, 100)})`)
  }
  if (res.status !== 200) throw new Error(`POST /code/context ${language}: ${res.status} ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

export async function deleteContext(d: Execd, id: string): Promise<void> {
  await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' }).then(r => r.arrayBuffer())
}

/** The visible output of an event: a result's text/plain, or stdout text. */
export function outputOf(e: StreamEvent): string | undefined {
  if (e.type === 'result') return String((e.results as Record<string, unknown> | undefined)?.['text/plain'] ?? '')
  if (e.type === 'stdout') return e.text
  return undefined
}

/** A client of a server other than execd that speaks POST /code (row 1's relay floor). */
export const relayClient = (url: string): Pick<Execd, 'post'> => ({
  post: (path, body) =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
})

/**
 * Runs code in a context via `POST /code` and reads the stream up to `stopAt`; returns the
 * events and the arrival time of the stopping event. Throws on an `error` event.
 */
export async function runCode(
  d: Pick<Execd, 'post'>,
  id: string,
  language: string,
  code: string,
  stopAt: (e: StreamEvent) => boolean = codeEnded,
): Promise<{ events: StreamEvent[]; at: number }> {
  const res = await d.post('/code', { code, context: { id, language } })
  if (res.status !== 200) throw new Error(`POST /code ${language}: ${res.status} ${await res.text()}`)
  const out = await readEvents(res, e => e.type === 'error' || stopAt(e))
  const err = out.events.find(e => e.type === 'error')
  if (err) throw new Error(`${language} ${JSON.stringify(code)}: ${JSON.stringify(err.error)}`)
  return out
}

/** A warm javascript context with x = 1, or null when this build has no javascript runtime. */
export async function javascriptContext(d: Execd): Promise<string | null> {
  try {
    const id = await createContext(d, 'javascript')
    await runCode(d, id, 'javascript', 'var x = 1')
    return id
  } catch (e) {
    if (e instanceof Skip) return null
    throw e
  }
}
