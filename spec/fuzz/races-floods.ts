/**
 * A command whose output comes in bursts (core/read-gather.ts waits a millisecond after a short
 * read once a stream floods): bursts of a MiB or more on stdout and stderr, with pauses between
 * them and a trickle of short lines after, read while another command floods beside it. Every
 * byte must come once and in order, each stream its own, and the stream must end in one
 * terminal event with the command's exit code.
 */
import type { Violation } from './check'
import { call, judge } from './stream'
import { all } from './races-kit'
import type { RaceCase, RaceName } from './races'
import type { World } from './world'

const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'

/** Line `i` of burst `b` of `stream`: numbered, so a loss or a reorder names its line. */
const line = (stream: string, b: number, i: number, width: number) =>
  `${stream}${String(b).padStart(3, '0')}:${String(i).padStart(6, '0')} ${'x'.repeat(width)}`

/** The stream's texts: one a line, terminator removed (the contract's split). */
function expected(stream: string, bursts: number, lines: number, width: number, trickle: number): string[] {
  const out: string[] = []
  for (let b = 0; b < bursts; b++) for (let i = 0; i < lines; i++) out.push(line(stream, b, i, width))
  for (let t = 0; t < trickle; t++) out.push(`${stream}-t${t}`)
  return out
}

/** A program writing `bursts` bursts to stdout and stderr, a pause between them, then a trickle. */
function program(bursts: number, lines: number, width: number, pauseMs: number, trickle: number, code: number) {
  return [
    'import os, sys, time',
    'def line(s, b, i): return "%s%03d:%06d %s\\n" % (s, b, i, "x" * ' + width + ')',
    `for b in range(${bursts}):`,
    `    for s, fd in (("o", 1), ("e", 2)):`,
    `        data = "".join(line(s, b, i) for i in range(${lines})).encode()`,
    '        v = memoryview(data)',
    '        while len(v): v = v[os.write(fd, v):]',
    `    time.sleep(${pauseMs / 1000})`,
    `for t in range(${trickle}):`,
    '    os.write(1, ("o-t%d\\n" % t).encode()); os.write(2, ("e-t%d\\n" % t).encode()); time.sleep(0.002)',
    `sys.exit(${code})`,
  ].join('\n')
}

async function floodBursts(c: RaceCase, w: World): Promise<Violation[]> {
  const bursts = 2 + c.n
  const width = [10, 100, 1000, 5000][c.delayMs % 4]!
  const lines = Math.ceil((1 << 20) / (width + 12)) + (c.delayMs % 97)
  const pause = [0, 1, 3, 20][(c.delayMs >> 2) % 4]!
  const trickle = 5 + (c.delayMs % 11)
  const code = c.n % 2 ? 3 : 0
  const script = program(bursts, lines, width, pause, trickle, code)
  const command = `${PYTHON} -c '${script.replaceAll("'", `'"'"'`)}'`
  const label = `POST /command of ${bursts} bursts of ${lines} lines of ${width}, ${pause} ms apart`
  const runs = [call(w, label, 'POST', '/command', { command }, 60_000)]
  // A plain flood beside it, so the two share the reads' turns.
  if (c.n > 2)
    runs.push(
      call(
        w,
        'POST /command flood beside it',
        'POST',
        '/command',
        { command: 'head -c 8000000 /dev/zero | tr "\\0" y' },
        60_000,
      ),
    )
  const [r, beside] = await all(runs)
  const out = judge(r!, [200])
  if (beside) out.push(...judge(beside, [200]))
  if (r!.status !== 200 || out.length) return out
  for (const [type, stream] of [
    ['stdout', 'o'],
    ['stderr', 'e'],
  ] as const) {
    const got = r!.frames.filter(f => f.type === type).map(f => String(f.text))
    const want = expected(stream, bursts, lines, width, trickle)
    let at = 0
    while (at < got.length && got[at] === want[at]) at++
    if (at === want.length && got.length === want.length) continue
    out.push({
      kind: 'contract',
      detail: `${label}: ${type} is ${got.length} lines, not ${want.length}; line ${at} is ${JSON.stringify(got[at]?.slice(0, 24))}, not ${JSON.stringify(want[at]?.slice(0, 24))}`,
    })
  }
  const end = r!.frames.at(-1)
  const exit = end?.type === 'execution_complete' ? end : r!.frames.find(f => f.type === 'error')
  const said = JSON.stringify(exit ?? {})
  if (code === 0 ? end?.type !== 'execution_complete' : !said.includes(`"evalue":"${code}"`))
    out.push({ kind: 'contract', detail: `${label}: exit ${code}, and the stream ended with ${said.slice(0, 200)}` })
  if (beside) {
    const ys = beside.frames.filter(f => f.type === 'stdout').reduce((n, f) => n + String(f.text).length, 0)
    if (ys !== 8_000_000) out.push({ kind: 'contract', detail: `the flood beside it: ${ys} of 8000000 bytes` })
  }
  return out
}

export const FLOOD_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  'command-flood-bursts': floodBursts,
}
