/**
 * One CLI case run for real: `dist/execd` in a session of its own (so a hang is killed whole),
 * its words decoded from `\xHH` by the bash that executes it, in a sandbox directory with its
 * own TMPDIR, stdin fed or closed, stdout read or closed after a byte, a signal sent to execd
 * alone (as `kill` or `timeout` does). Then the invariants: an exit within the bound, at most
 * one line on stderr and exactly one when execd failed, no stack trace or "undefined" in it, the
 * token nowhere in the output, nothing left in TMPDIR or staged in the sandbox, no process of
 * the case still running.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from '../harness'
import type { Violation } from './check'
import { changesFiles, type CliCase, SLEEP } from './cli-cases'
import { marker, orphans, staged } from './leftovers'

export interface CliTarget {
  /** Where the cases' sandboxes and temp dirs are made. */
  base: string
  /** The world's daemon, for `--url` cases. */
  url: string
  token: string
  /** The daemon's root: remote paths land there, and its staged entries are checked. */
  root: string
}

export interface CliResult {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  ms: number
}

const BOUND_MS = 20_000
/** Exits that are the work's own, not execd failing: `exit 3`, a closed pipe, the signals sent, a --timeout. */
const WORKS_OWN = new Set([3, 124, 141, 130, 143])
let serial = 0

/** `\xHH` in a word is that byte; the rest is UTF-8. Every byte is passed as `\xHH` to printf %b. */
export function escaped(word: string): string {
  const bytes: number[] = []
  for (const part of word.split(/(\\x[0-9a-f]{2})/i)) {
    if (/^\\x[0-9a-f]{2}$/i.test(part)) bytes.push(parseInt(part.slice(2), 16))
    else bytes.push(...Buffer.from(part, 'utf8'))
  }
  return bytes.map(b => `\\x${b.toString(16).padStart(2, '0')}`).join('')
}

/** The case's argv after `execd`. */
export function argvOf(c: CliCase, t: CliTarget, sandbox: string, mark: string): string[] {
  const words = c.words.map(w => w.replaceAll(SLEEP, mark))
  const where = c.remote ? ['--url', t.url] : changesFiles(c.verb) ? ['--root', sandbox] : []
  return [...c.verb.split(' '), ...where, ...words]
}

/** A case that would otherwise wait for good (a long sleep, --watch) gets a signal. */
function effectiveSignal(c: CliCase): CliCase['signal'] {
  if (c.signal) return c.signal
  const long = c.words.some(w => w.includes(SLEEP)) || c.words.includes('--watch')
  return long ? { name: 'SIGTERM', afterMs: 1500 } : null
}

export async function runCli(c: CliCase, t: CliTarget): Promise<{ result: CliResult; violations: Violation[] }> {
  const n = serial++
  const sandbox = join(t.base, `case-${n}`)
  const tmp = join(t.base, `tmp-${n}`)
  mkdirSync(join(sandbox, 'sub'), { recursive: true })
  mkdirSync(tmp)
  writeFileSync(join(sandbox, 'a.txt'), 'inside the sandbox\n')
  writeFileSync(join(sandbox, 'sub', 'b.txt'), 'b\n')
  const mark = marker()
  const argv = argvOf(c, t, sandbox, mark)
  // The token execd must never print nor pass on: the daemon's with --url, one of its own here.
  const token = c.remote ? t.token : `fzcli${crypto.randomUUID().replaceAll('-', '')}`
  const script =
    'a=(); for x in "$@"; do printf -v y "%b" "$x"; a+=("$y"); done; ' +
    (c.stdin === 'closed' ? 'exec 0<&-; ' : '') +
    'exec "${a[@]}"'
  const t0 = performance.now()
  const proc = Bun.spawn(['setsid', 'bash', '-c', script, 'execd', escaped(BIN), ...argv.map(escaped)], {
    cwd: sandbox,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: sandbox,
      TMPDIR: tmp,
      EXECD_ACCESS_TOKEN: token,
      EXECD_PYTHON: process.env.EXECD_PYTHON ?? '/usr/bin/python3',
      EXECD_PYTHON_SPARE: '0',
    },
    stdin: c.stdin === 'small' || c.stdin === 'huge' ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const feeding = feed(proc.stdin as unknown as Bun.FileSink | undefined, c.stdin)
  const signal = effectiveSignal(c)
  const timer = signal
    ? setTimeout(() => {
        try {
          process.kill(proc.pid, signal.name)
        } catch {}
      }, signal.afterMs)
    : undefined
  const stdout = readOut(proc.stdout, c.headC1)
  const stderr = new Response(proc.stderr).text()
  let hung = false
  const bound = setTimeout(() => {
    hung = true
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {}
  }, BOUND_MS)
  await proc.exited
  clearTimeout(bound)
  clearTimeout(timer)
  await feeding
  const result: CliResult = {
    code: proc.exitCode,
    signal: proc.signalCode ? String(proc.signalCode) : null,
    stdout: await stdout,
    stderr: await stderr,
    ms: performance.now() - t0,
  }
  const out: Violation[] = []
  if (hung) out.push({ kind: 'hang', detail: `no exit within ${BOUND_MS} ms: killed` })
  out.push(...judgeOutput(result, token, signal !== null || c.headC1))
  out.push(...(await orphans('after execd exited', mark)))
  // A process of the case's group that outlives execd (setsid made execd its leader).
  let group = groupLeft(proc.pid)
  for (let i = 0; group.length && i < 30; i++) {
    await Bun.sleep(100)
    group = groupLeft(proc.pid)
  }
  if (group.length) {
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {}
    out.push({ kind: 'orphan', detail: `execd's process group still runs after it exited: ${group.join(', ')}` })
  }
  const left = leftIn(tmp)
  if (left.length) out.push({ kind: 'stray-temp', detail: `left in TMPDIR: ${left.slice(0, 3).join(', ')}` })
  const stagedLeft = [...staged(sandbox), ...(c.remote ? staged(t.root) : [])]
  if (stagedLeft.length)
    out.push({ kind: 'stray-temp', detail: `staged entries left: ${stagedLeft.slice(0, 3).join(', ')}` })
  rmSync(sandbox, { recursive: true, force: true })
  rmSync(tmp, { recursive: true, force: true })
  return { result, violations: out }
}

/** Failures known and left (printed, never failing a run): what they are and why. */
// None now: `exec bash 'exit N'` printed two lines (exit status N; the state is lost) until the seventeenth pass.
const KNOWN: { stderr: RegExp; why: string }[] = []

/** What execd itself said: at most one line, exactly one when it failed, no internals. */
export function judgeOutput(r: CliResult, token: string, interrupted: boolean): Violation[] {
  const out: Violation[] = []
  const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
  const failed = r.code !== 0 && r.code !== null && !WORKS_OWN.has(r.code)
  const known = KNOWN.find(k => k.stderr.test(r.stderr))
  if (known) out.push({ kind: 'known', detail: known.why })
  else if (lines.length > 1)
    out.push({
      kind: 'contract',
      detail: `stderr has ${lines.length} lines (exit ${r.code}): ${show(lines.slice(0, 3))}`,
    })
  else if (failed && lines.length === 0) out.push({ kind: 'contract', detail: `exit ${r.code} with nothing on stderr` })
  const bad = lines.find(l => /^\s+at |undefined|\[object |Error: \d|\.ts:\d|\$bunfs|^\w*Error\b/.test(l))
  if (bad) out.push({ kind: 'internals-leak', detail: `stderr: ${show([bad])}` })
  if (r.signal && !interrupted) out.push({ kind: 'crash', detail: `execd died of ${r.signal}` })
  for (const [name, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const)
    if (text.includes(token) || text.includes(token.slice(0, token.length >> 1)))
      out.push({ kind: 'env-leak', detail: `the token is on ${name}` })
  return out
}

const show = (lines: string[]) => lines.map(l => JSON.stringify(l.length > 200 ? `${l.slice(0, 200)}…` : l)).join(' | ')

async function feed(sink: Bun.FileSink | undefined, how: CliCase['stdin']): Promise<void> {
  if (!sink) return
  // A write to a reader that left (execd exited, or never reads stdin) rejects: that is the case.
  const put = async (data: string | Buffer) => {
    await Promise.resolve(sink.write(data)).catch(() => {})
    await Promise.resolve(sink.flush()).catch(() => {})
  }
  try {
    // A comment in every language read from stdin, and a line of data for `fs put -`.
    if (how === 'small') await put('# inside\n')
    // 24 MiB in 1 MiB writes: comment lines, so code read from stdin is valid and does nothing.
    else for (let i = 0; i < 24; i++) await put(Buffer.from(`#${'x'.repeat(62)}\n`.repeat(16384)))
    await Promise.resolve(sink.end()).catch(() => {})
  } catch {}
}

async function readOut(stream: ReadableStream<Uint8Array>, headC1: boolean): Promise<string> {
  const reader = stream.getReader()
  const chunks: Buffer[] = []
  let kept = 0
  try {
    for (;;) {
      const next = await reader.read()
      if (next.done) break
      if (kept < 1 << 20) chunks.push(Buffer.from(next.value))
      kept += next.value.length
      if (headC1) {
        await reader.cancel()
        break
      }
    }
  } catch {}
  return Buffer.concat(chunks).toString('latin1')
}

/** Files (and directories other than the per-user temp roots `execd-<uid>`) left under `dir`. */
function leftIn(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string, top: boolean) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
        const before = out.length
        walk(p, false)
        if (out.length === before && !(top && /^execd-\d+$/.test(name))) out.push(`${p}/`)
      } else out.push(p)
    }
  }
  try {
    walk(dir, true)
  } catch {}
  return out
}

/** Processes still in execd's process group (its pid is the group's id). */
function groupLeft(pgid: number): string[] {
  const out: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
      // A zombie is its new parent's to reap (execd is gone): only the living count.
      if (Number(fields[2]) === pgid && fields[0] !== 'Z')
        out.push(`${entry} ${fields[0]} ${text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'))}`)
    } catch {}
  }
  return out
}
