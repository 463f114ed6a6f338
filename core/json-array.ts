/**
 * A JSON array answer serialized a batch at a time as the client reads it. One
 * `JSON.stringify` of a listing's 99,000 entries (44 MB) held the event loop 0.7 s, and of a
 * search of a tree 5,000 deep (52 MB of long paths) 2.9 s: every other request waited. Pulled
 * batch by batch, the loop runs between batches and the text never exists whole.
 */
import { json } from './errors'

/** Items per batch: a batch of the longest paths (4 KiB) is about 1 MB of text. */
const BATCH = 256

/**
 * A JSON array of what `render` makes of `items`, a batch at a time as the client reads: the
 * values of a batch exist only while it is sent (a listing's FileInfos are made by it). The
 * first batch is rendered before the answer starts, so a failure there is still an error
 * answer; a later one breaks the body off. `done` runs once, when it is sent, failed or
 * abandoned.
 */
export async function jsonArrayOf<T>(
  items: readonly T[],
  render: (batch: readonly T[]) => Promise<unknown[]>,
  done: () => Promise<void>,
): Promise<Response> {
  let first: unknown[]
  try {
    first = await render(items.slice(0, BATCH))
  } catch (err) {
    await done()
    throw err
  }
  if (items.length <= BATCH) {
    await done()
    return json(first)
  }
  let next = BATCH
  const pull = async () => {
    if (next >= items.length) return undefined
    const batch = items.slice(next, next + BATCH)
    next += BATCH
    return render(batch)
  }
  return arrayStream(first, pull, done)
}

/** `[` + `head` + every batch `pull` gives until undefined + `]`, pulled as the client reads. */
function arrayStream(head: unknown[], pull: () => Promise<unknown[] | undefined>, done: () => Promise<void>): Response {
  const encoder = new TextEncoder()
  let empty = true
  let finished = false
  const finish = async () => {
    if (finished) return
    finished = true
    await done()
  }
  /** The values as array elements, a comma first unless none came before. */
  const piece = (values: unknown[]): string => {
    if (values.length === 0) return ''
    const text = (empty ? '' : ',') + JSON.stringify(values).slice(1, -1)
    empty = false
    return text
  }
  let opening: string | undefined = `[${piece(head)}`
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          let text = opening ?? ''
          opening = undefined
          // A batch may render to nothing (its entries gone): enqueue or close before returning.
          while (text === '') {
            const values = await pull()
            if (values === undefined) {
              controller.enqueue(encoder.encode(']'))
              controller.close()
              await finish()
              return
            }
            text = piece(values)
          }
          controller.enqueue(encoder.encode(text))
        } catch (err) {
          controller.error(err)
          await finish()
        }
      },
      cancel: finish,
    },
    { highWaterMark: 0 },
  )
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' } })
}
