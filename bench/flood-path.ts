/**
 * The JavaScript of row 4a's flood per MiB, in process and without a system call, stage by
 * stage: the command's chunks (1 KiB lines, 64 KiB reads cut across lines as a pipe cuts them)
 * split into lines (core/lines.ts `pushRanges`); then also journaled line by line, as
 * plugins/command/run.ts did before round 15, and taken by a following reader (core/journal.ts);
 * then also framed into 64 KiB batches as core/sse-writer.ts frames such lines
 * (core/sse-batch.ts `addLine`), each batch handed to a write that does nothing. `runs` is the
 * split, then what run.ts and the writer do now: each chunk's clean lines journaled as one run
 * of frames (Journal.tryAppendRun), read as OutputFrames and written from the journal's ring (a large run that
 * starts a batch, core/sse-batch.ts) or copied into the batch whole. What the daemon adds around this (its reads, log writes
 * and sends, the promises between them) is not here. Stages take turns, round after round;
 * figures are this thread's CPU per MiB (`process.cpuUsage`), median (min–max), each stage
 * including the ones before it. Not run by `make bench`.
 *
 *   bun run bench/flood-path.ts [rounds=15] [MiB per round=128]
 */
import { Journal, type ReadyIterator } from '../core/journal'
import { ByteLineSplitter, type OutputLine } from '../core/lines'
import { FrameBatch } from '../core/sse-batch'
import { OutputBytes, outputLineHead, outputLineTail } from '../core/events'
import { OutputFrames } from '../core/output-frames'
import type { SseItem } from '../core/sse'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 15)
const mib = Number(process.argv[3] ?? 128)
const CHUNK = 64 * 1024

const stream = Buffer.from(`${'0'.repeat(1023)}\n`.repeat((2 * CHUNK) / 1024 + 1))
/** The i-th read: 64 KiB starting at a different place in a line each time. */
const chunkAt = (i: number) => stream.subarray((i * 4000) % 1024, ((i * 4000) % 1024) + CHUNK)

const STAGES = ['split', '+journal', '+frame', 'runs'] as const

function flood(stage: number): number {
  const journal = new Journal({ maxEvents: 4096, maxBytes: 1024 * 1024 })
  const runs = stage === 3
  const reader = journal.read(0, { frames: runs }) as ReadyIterator<SseItem | OutputBytes | OutputFrames>
  const splitter = new ByteLineSplitter()
  let batch = new FrameBatch([])
  let framed = 0
  const t0 = process.cpuUsage()
  for (let i = 0; i < (mib * 1024 * 1024) / CHUNK; i++) {
    const { source, lines } = splitter.pushRanges(chunkAt(i))
    if (stage === 0) continue
    if (runs) {
      for (let at = 0; at < lines.length;) {
        const next =
          typeof lines[at] === 'number'
            ? journal.tryAppendRun('stdout', source, lines, at)
            : journal.tryAppendLine('stdout', lines[at] as OutputLine) && at + 1
        if (next === at || next === 0) throw new Error('the journal waited: the reader is behind')
        at = next
      }
    }
    for (let at = 0; !runs && at < lines.length;) {
      const line = lines[at]!
      // a clean line in the chunk is its range; the one the last chunk's tail began is bytes
      const id =
        typeof line === 'number'
          ? journal.tryAppendRange('stdout', source, line, lines[at + 1] as number)
          : journal.tryAppendLine('stdout', line)
      if (id === 0) throw new Error('the journal waited: the reader is behind')
      at += typeof line === 'number' ? 2 : 1
    }
    for (let now = reader.ready(); now && !now.done; now = reader.ready()) {
      const x = now.value
      if (x instanceof OutputFrames) batch.addFrames(x.source, x.start, x.end)
      else if (stage === 1 || !(x instanceof OutputBytes)) continue
      else batch.addLine(x.id, outputLineHead(x.type), x.source, x.start, x.end, outputLineTail(x.timestamp))
      if (stage >= 2 && batch.full) {
        framed += batch.writeTo(chunk => chunk.length)
        batch = new FrameBatch([])
      }
    }
  }
  const used = process.cpuUsage(t0)
  if (stage >= 2 && framed < mib * 1024 * 1024) throw new Error(`only ${framed} bytes framed`)
  return (used.user + used.system) / 1000 / mib
}

const ms: number[][] = STAGES.map(() => [])
for (let s = 0; s < STAGES.length; s++) flood(s) // warm-up: the JIT tiers up
for (let r = 0; r < rounds; r++)
  for (let s = 0; s < STAGES.length; s++) ms[(s + r) % STAGES.length]!.push(flood((s + r) % STAGES.length))
const show = (xs: number[]) =>
  `${percentile(xs, 0.5).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`
const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
console.log(`${rounds} rounds of ${mib} MiB per stage, CPU ms per MiB, median (min–max); load ${load}`)
for (let s = 0; s < STAGES.length; s++) console.log(`${STAGES[s]!.padEnd(9)} ${show(ms[s]!)}`)
