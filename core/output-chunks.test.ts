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

test('a chunk of wide characters goes as its JSON, one cut inside a character too; a BOM at the start is dropped', async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 1 << 20 })
  const chunks = new OutputChunks('stdout')
  const text = 'é€😀\n'.repeat(3)
  const all = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])
  // Cut inside the BOM, after it, and inside the euro sign and the emoji of the first line.
  for (const [from, to] of [
    [0, 1],
    [1, 3],
    [3, 7],
    [7, 11],
    [11, all.length],
  ] as const)
    void chunks.into(queue, new Uint8Array(all.subarray(from, to)))
  void queue.output('stdout', chunks.end())
  const got = await drained(queue)
  expect(got.map(x => x.text).join('')).toBe(text)
  // The stream's start is decoded, its BOM dropped; every chunk after is framed from its bytes.
  // (its JSON's bytes looked at: decoded again, as an event's text is, it would be dropped too)
  const bom = Buffer.from([0xef, 0xbb, 0xbf])
  expect(got.some(x => x instanceof EncodedEvent && Buffer.concat(x.parts as Uint8Array[]).includes(bom))).toBe(false)
  expect(got.slice(1).every(x => x instanceof EncodedEvent)).toBe(true)
})

test('bytes that are not UTF-8 go as text, each invalid one U+FFFD, an unfinished character at the end too', async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 1 << 20 })
  const chunks = new OutputChunks('stdout')
  void chunks.into(queue, bytes('ok '))
  void chunks.into(queue, new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82]))
  void queue.output('stdout', chunks.end())
  const got = await drained(queue)
  expect(got.map(x => x.text).join('')).toBe('ok a\ufffdb\ufffd')
})

test("a large chunk goes as pieces of at most 64 KiB, cut between characters: each fits a batch and an eighth of a command's 1 MiB ring", async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 4 << 20 })
  const chunks = new OutputChunks('stdout')
  void chunks.into(queue, bytes('start\n'))
  // 256 KiB and more of lines with a 2-byte character in each: some 64 KiB cut falls inside one.
  const text = 'line é of the flood\n'.repeat(13_000)
  const chunk = bytes(text)
  expect(chunk.length).toBeGreaterThan(256 * 1024)
  void chunks.into(queue, chunk)
  void queue.output('stdout', chunks.end())
  const got = (await drained(queue)).slice(1)
  expect(got.map(x => x.text).join('')).toBe(text)
  expect(got.length).toBeGreaterThanOrEqual(5)
  for (const e of got) {
    expect(e).toBeInstanceOf(EncodedEvent)
    // its JSON: the piece, a backslash per line feed, the quotes
    expect((e as EncodedEvent).size).toBeLessThanOrEqual(64 * 1024 + (64 * 1024) / 20 + 2)
  }
})

test('a large chunk of bytes that are not UTF-8 (continuation bytes only) goes as 64 KiB pieces, not one event per byte', async () => {
  const queue = new CellQueue({ policy: 'block', maxBytes: 4 << 20 })
  const chunks = new OutputChunks('stdout')
  void chunks.into(queue, new Uint8Array(200 * 1024).fill(0x80))
  void queue.output('stdout', chunks.end())
  const got = await drained(queue)
  expect(got.length).toBeLessThanOrEqual(5)
  expect(got.map(x => x.text).join('')).toBe('\ufffd'.repeat(200 * 1024))
})
