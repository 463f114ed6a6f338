import { expect, test } from 'bun:test'
import { CellQueue } from './cell-queue'
import { EncodedEvent, type ExecEvent } from './events'
import { OutputChunks } from './output-chunks'

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s))

async function drained(queue: CellQueue): Promise<ExecEvent[]> {
  queue.end()
  const got: ExecEvent[] = []
  for await (const e of queue) got.push(e)
  return got
}

test('a clean chunk goes as its JSON and is freed; its text is the chunk', async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 1 << 20 })
  const chunks = new OutputChunks('stdout')
  // The stream's first chunk is decoded (a BOM there is dropped), the next clean one framed.
  void chunks.into(queue, bytes('start\n'))
  const flood = bytes("a 'line'?\nno: plain\n")
  void chunks.into(queue, flood)
  expect(flood.byteLength).toBe(0)
  const [first, second] = await drained(queue)
  expect(first!.text).toBe('start\n')
  expect(second).toBeInstanceOf(EncodedEvent)
  expect(second!.text).toBe("a 'line'?\nno: plain\n")
})

test('a character cut between chunks is decoded whole, and a chunk with escapes goes as text', async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 1 << 20 })
  const chunks = new OutputChunks('stderr')
  const e = Buffer.from('é')
  void chunks.into(queue, bytes('x'))
  void chunks.into(queue, new Uint8Array([0x61, e[0]!]))
  // The decoder holds half a character: this clean chunk must follow it through the decoder.
  void chunks.into(queue, new Uint8Array([e[1]!, 0x62]))
  void chunks.into(queue, bytes('tab\there "q"\n'))
  void queue.output('stderr', chunks.end())
  const got = await drained(queue)
  expect(got.map(x => x.text).join('')).toBe('xaéb' + 'tab\there "q"\n')
  expect(got.every(x => x.type === 'stderr')).toBe(true)
})
