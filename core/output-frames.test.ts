import { afterAll, describe, expect, setSystemTime, test } from 'bun:test'
import { OutputBytes, outputLineHead, outputLineTail } from './events'
import { Journal } from './journal'
import { ByteLineSplitter } from './lines'
import { OutputFrames } from './output-frames'
import { frame, sseResponse, type SseItem } from './sse'
import { FrameBatch } from './sse-batch'
import { Streams } from './streams'

const streams = new Streams(0)

/**
 * Runs of frames (Journal.tryAppendRun, read with `frames`) against the lines one by one as
 * they were journaled before (tryAppendRange, read line by line): the same bytes on the wire,
 * the same drops, waits and replays, for random and adversarial output cut at random points.
 */

afterAll(() => setSystemTime())

let seed = 7
const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n

/** Pieces output is made of: clean text, what JSON escapes, CR/LF, UTF-8 whole, cut and invalid. */
const ALPHABET = [
  [0x61],
  [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67],
  [10],
  [10],
  [13],
  [13, 10],
  [0x22],
  [0x5c],
  [9],
  [0],
  [0x7f],
  [0xc3, 0xa9],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xff],
  [0xef, 0xbb, 0xbf],
]

function randomOutput(pieces: number, clean = false): Uint8Array {
  const bytes: number[] = []
  for (let k = 0; k < pieces; k++) {
    if (clean || rand(3) > 0) {
      // a clean line of random length, most of a flood
      for (let n = rand(40); n > 0; n--) {
        const b = 0x20 + rand(0x5f)
        bytes.push(b === 0x22 || b === 0x5c ? 0x41 : b)
      }
      bytes.push(10)
    } else bytes.push(...ALPHABET[rand(ALPHABET.length)]!)
  }
  return new Uint8Array(bytes)
}

function chunksOf(all: Uint8Array, most: number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let at = 0; at < all.length;) {
    const next = Math.min(all.length, at + 1 + rand(most))
    chunks.push(all.slice(at, next))
    at = next
  }
  return chunks
}

type Mode = 'lines' | 'runs'

/**
 * Appends the chunks as plugins/command/run.ts does (`runs`) or did (`lines`), with a clock that
 * moves between chunks; `blocked` is told when the next line would wait, and must make room.
 */
function feed(
  j: Journal,
  chunks: Uint8Array[],
  mode: Mode,
  maxLine: number,
  blocked: () => void = () => {
    throw new Error('waited with no reader')
  },
): void {
  const splitter = new ByteLineSplitter(maxLine)
  const add = (source: Uint8Array, lines: (Uint8Array | string | number)[]) => {
    for (let i = 0; i < lines.length;) {
      const line = lines[i]!
      let next = i
      if (typeof line !== 'number') next = j.tryAppendLine('stdout', line) ? i + 1 : i
      else if (mode === 'runs') next = j.tryAppendRun('stdout', source, lines, i)
      else next = j.tryAppendRange('stdout', source, line, lines[i + 1] as number) ? i + 2 : i
      if (next === i) blocked()
      i = next
    }
  }
  chunks.forEach((chunk, n) => {
    setSystemTime(new Date(1_700_000_000_000 + n * 3))
    const { source, lines } = splitter.pushRanges(chunk)
    add(source, lines)
  })
  add(new Uint8Array(0), splitter.end())
  j.end()
}

/** Frames an item as core/sse-writer.ts does (addTo), and each event as its own JSON would. */
function frameInto(batch: FrameBatch, x: SseItem | OutputBytes | OutputFrames): void {
  if (x instanceof OutputFrames) batch.addFrames(x.source, x.start, x.end)
  else if (x instanceof OutputBytes)
    batch.addLine(x.id, outputLineHead(x.type), x.source, x.start, x.end, outputLineTail(x.timestamp))
  else batch.add([frame(x.event, x.id)])
}

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1')

async function body(j: Journal, after: number, frames: boolean): Promise<string> {
  const res = await sseResponse(streams, j.read(after, { paces: false, frames }), { pingMs: 0 })
  return Buffer.from(await res.arrayBuffer()).toString('latin1')
}

describe('runs of frames', () => {
  test('the wire bytes, drops and replays of lines one by one, for random output cut anywhere', async () => {
    for (let round = 0; round < 400; round++) {
      const all = randomOutput(1 + rand(120), round % 5 === 0)
      const maxLine = rand(3) ? 1 + rand(50) : 64 * 1024
      const cut = chunksOf(all, rand(2) ? 8 : 300)
      const limits =
        rand(4) === 0
          ? {}
          : { maxEvents: 2 + rand(60), maxBytes: rand(2) ? 200 + rand(4000) : 64 * 1024 + rand(64 * 1024) }
      const old = new Journal(limits)
      const now = new Journal(limits)
      feed(old, cut, 'lines', maxLine)
      feed(now, cut, 'runs', maxLine)
      expect([now.firstRetainedId, now.lastId, now.retainedBytes]).toEqual([
        old.firstRetainedId,
        old.lastId,
        old.retainedBytes,
      ])
      const want = await body(old, 0, false)
      expect(await body(now, 0, true)).toBe(want)
      expect(await body(now, 0, false)).toBe(want)
      // each event as its JSON: the bytes path never differs from JSON.stringify
      const items: string[] = []
      for await (const x of old.read(0, { paces: false })) items.push(frame(x.event, x.id))
      expect(want).toBe(items.join(''))
      // a replay from any id (a resume with Last-Event-ID), inside a run or not
      const after = rand(old.lastId + 2)
      expect(await body(now, after, true)).toBe(await body(old, after, false))
    }
  }, 60_000)

  test('a pacing reader taking some events at a time: the same waits, events and bytes', () => {
    for (let round = 0; round < 300; round++) {
      const all = randomOutput(1 + rand(300), round % 3 === 0)
      const maxLine = rand(2) ? 1 + rand(50) : 64 * 1024
      const cut = chunksOf(all, rand(2) ? 16 : 400)
      const limits = { maxEvents: 2 + rand(40), maxBytes: rand(2) ? 300 + rand(3000) : 16 * 1024 + rand(64 * 1024) }
      const reads: number[] = []
      for (let k = 0; k < 4000; k++) reads.push(1 + rand(6))
      const run = (mode: Mode, frames: boolean) => {
        const j = new Journal(limits)
        const reader = j.read(0, { frames })
        const batch = new FrameBatch([])
        let turn = 0
        const waits: number[] = []
        const take = (n: number) => {
          for (let k = 0; k < n; k++) {
            const now = reader.ready()
            if (!now || now.done) return
            frameInto(batch, now.value)
          }
        }
        // frames reader: everything ready at each wait (a run is one item); else a few events
        const blocked = () => {
          waits.push(j.lastId, j.firstRetainedId, j.retainedBytes)
          if (frames) take(Infinity)
          else take(reads[turn++ % reads.length]!)
        }
        feed(j, cut, mode, maxLine, blocked)
        take(Infinity)
        return { waits, bytes: text(batch.take()) }
      }
      const old = run('lines', false)
      expect(run('runs', false)).toEqual(old)
      const drained = run('lines', true)
      expect(run('runs', true)).toEqual(drained)
      expect(drained.bytes).toBe(old.bytes)
    }
  }, 60_000)

  test('a flood through the ring: wraps, reuse and a reader behind keep every byte', () => {
    // 1 KiB-ish clean lines in 64 KiB reads, the journal's default limits, as in row 4a
    const line = (n: number) => `${String(n).padStart(8, '0')}${'x'.repeat(rand(2000))}\n`
    let out = ''
    for (let n = 0; out.length < 3 * 1024 * 1024; n++) out += line(n)
    const all = new TextEncoder().encode(out)
    const cut: Uint8Array[] = []
    for (let at = 0; at < all.length; at += 65536 - rand(9000)) cut.push(all.slice(at, at + 65536 - rand(9000)))
    const run = (mode: Mode) => {
      const j = new Journal({ maxEvents: 4096, maxBytes: 1024 * 1024 })
      const reader = j.read(0, { frames: mode === 'runs' })
      const batch = new FrameBatch([])
      let waits = 0
      const blocked = () => {
        waits++
        for (let now = reader.ready(); now && !now.done; now = reader.ready()) frameInto(batch, now.value)
      }
      feed(j, cut, mode, 64 * 1024, blocked)
      blocked()
      return { waits, bytes: text(batch.take()) }
    }
    const old = run('lines')
    expect(old.waits).toBeGreaterThan(2)
    expect(run('runs')).toEqual(old)
  })

  test('a line that would wait drops nothing, though lines before it in the run went in', () => {
    const j = new Journal({ maxEvents: 100, maxBytes: 400 })
    const reader = j.read(0)
    const enc = (s: string) => new ByteLineSplitter().pushRanges(new TextEncoder().encode(s))
    const abc = enc('a\nb\nc\n')
    expect(j.tryAppendRun('stdout', abc.source, abc.lines, 0)).toBe(6)
    expect(reader.ready()!.value.id).toBe(1)
    // "d" fits as it is; the long line needs 1 and 2 gone, and 2 is not read yet
    const more = enc(`d\n${'x'.repeat(100)}\n`)
    expect(j.tryAppendRun('stdout', more.source, more.lines, 0)).toBe(2)
    expect([j.firstRetainedId, j.lastId]).toEqual([1, 4])
  })

  test('a run handed to a reader keeps its bytes until the reader asks for more, whatever is appended', () => {
    // a watcher (not pacing): the producer goes on and drops the run; its ring room must wait
    const j = new Journal({ maxEvents: 4096, maxBytes: 64 * 1024 })
    const reader = j.read(0, { paces: false, frames: true })
    const chunk = (n: number) =>
      new ByteLineSplitter().pushRanges(new TextEncoder().encode(`${String(n).repeat(90)}\n`.repeat(40)))
    const first = chunk(1)
    j.tryAppendRun('stdout', first.source, first.lines, 0)
    const held = reader.ready()!.value as OutputFrames
    const was = text(held.source.slice(held.start, held.end))
    for (let n = 2; n < 100; n++) {
      const c = chunk(n % 10)
      expect(j.tryAppendRun('stdout', c.source, c.lines, 0)).toBe(c.lines.length)
    }
    expect(j.firstRetainedId).toBeGreaterThan(held.id)
    expect(text(held.source.slice(held.start, held.end))).toBe(was)
  })

  test('ids counted across 9, 99 and 999 within a run and between runs frame as their JSON does', () => {
    setSystemTime(new Date(1_700_000_000_000))
    const j = new Journal()
    const { source, lines } = new ByteLineSplitter().pushRanges(new TextEncoder().encode('z\n'.repeat(2500)))
    for (let at = 0; at < lines.length;) at = j.tryAppendRun('stdout', source, lines, at)
    const batch = new FrameBatch([])
    const reader = j.read(0, { frames: true })
    for (let now = reader.ready(); now && !now.done; now = reader.ready()) frameInto(batch, now.value)
    let want = ''
    for (let id = 1; id <= 2500; id++) want += frame({ type: 'stdout', text: 'z', timestamp: 1_700_000_000_000 }, id)
    expect(text(batch.take())).toBe(want)
  })

  test('a run that fills a batch and starts it is written from the ring, not copied; a small one is copied', () => {
    const j = new Journal()
    const reader = j.read(0, { frames: true })
    const append = (s: string) => {
      const { source, lines } = new ByteLineSplitter().pushRanges(new TextEncoder().encode(s))
      expect(j.tryAppendRun('stdout', source, lines, 0)).toBe(lines.length)
    }
    const sent = (batch: FrameBatch) => {
      const chunks: Uint8Array[] = []
      batch.writeTo(c => chunks.push(c.slice()) && chunks.length)
      return chunks
    }
    append(`${'x'.repeat(1023)}\n`.repeat(64))
    const run = reader.ready()!.value as OutputFrames
    const batch = new FrameBatch([])
    frameInto(batch, run)
    expect(batch.full).toBe(true)
    expect(batch.runBytes).toBe(run.end - run.start)
    let lent: Uint8Array | undefined
    batch.writeTo(c => (lent = c))
    // the ring's own bytes, where the run lies
    expect(lent!.buffer).toBe(run.source.buffer)
    expect(lent!.byteOffset - run.source.byteOffset).toBe(run.start)
    expect(lent!.length).toBe(run.end - run.start)
    // a small run is copied, and what follows it goes in the same write
    append('a\nbb\n')
    const small = reader.ready()!.value as OutputFrames
    const mixed = new FrameBatch([])
    frameInto(mixed, small)
    expect(mixed.full).toBe(false)
    mixed.add(['id: 9\ndata: {}\n\n'])
    const [only, ...none] = sent(mixed)
    expect(none).toEqual([])
    expect(text(only!)).toBe(`${text(small.source.subarray(small.start, small.end))}id: 9\ndata: {}\n\n`)
  })

  test("runs back to back in the ring go out as one write of the ring's bytes, joined; what follows unlends them", () => {
    const j = new Journal()
    const reader = j.read(0, { frames: true })
    const append = (s: string) => {
      const { source, lines } = new ByteLineSplitter().pushRanges(new TextEncoder().encode(s))
      expect(j.tryAppendRun('stdout', source, lines, 0)).toBe(lines.length)
    }
    // three reads of 20 KiB of 1 KiB lines: runs under a batch each, framed one after another
    for (let n = 0; n < 3; n++) append(`${String(n).repeat(1023)}\n`.repeat(20))
    const runs = [1, 2, 3].map(() => reader.ready()!.value as OutputFrames)
    const joined = new FrameBatch([], true)
    for (const run of runs) frameInto(joined, run)
    expect(joined.full).toBe(false)
    const sent: Uint8Array[] = []
    joined.writeTo(c => sent.push(c))
    expect(sent.length).toBe(1)
    // the ring's own bytes, from the first run's start to the last one's end
    expect(sent[0]!.buffer).toBe(runs[0]!.source.buffer)
    expect(sent[0]!.byteOffset - runs[0]!.source.byteOffset).toBe(runs[0]!.start)
    expect(sent[0]!.length).toBe(runs[2]!.end - runs[0]!.start)
    const want = runs.map(r => text(r.source.subarray(r.start, r.end))).join('')
    expect(text(sent[0]!)).toBe(want)
    // anything else after them (a status, a line) copies them into the batch: still one write
    const mixed = new FrameBatch([], true)
    for (const run of runs) frameInto(mixed, run)
    mixed.add(['id: 99\ndata: {}\n\n'])
    const out: Uint8Array[] = []
    mixed.writeTo(c => out.push(c.slice()))
    expect(out.map(text)).toEqual([`${want}id: 99\ndata: {}\n\n`])
    // a batch not written in the tick it is filled (joins off) lends only a run that fills it
    const apart = new FrameBatch([])
    for (const run of runs) frameInto(apart, run)
    expect(text(apart.take())).toBe(want)
  })

  test('a run is taken whole by a frames reader, line by line by any other', () => {
    setSystemTime(new Date(1_700_000_000_000))
    const j = new Journal()
    const chunk = new TextEncoder().encode('a\nbb\nccc\n')
    const { source, lines } = new ByteLineSplitter().pushRanges(chunk)
    expect(j.tryAppendRun('stderr', source, lines, 0)).toBe(6)
    const whole = j.read(0, { frames: true }).ready()!.value
    expect(whole).toBeInstanceOf(OutputFrames)
    const f = whole as OutputFrames
    expect(f.id).toBe(3)
    const ts = 1_700_000_000_000
    expect(text(f.source.subarray(f.start, f.end))).toBe(
      ['a', 'bb', 'ccc']
        .map((t, i) => `id: ${i + 1}\ndata: {"type":"stderr","text":"${t}","timestamp":${ts}}\n\n`)
        .join(''),
    )
    const one = j.read(1)
    expect(one.ready()!.value.event).toEqual({ type: 'stderr', text: 'bb', timestamp: ts })
    expect(one.ready()!.value.event).toEqual({ type: 'stderr', text: 'ccc', timestamp: ts })
    expect(one.ready()).toBeUndefined()
  })
})
