/**
 * Help written into a non-blocking pipe that is full (another writer of the pipeline set
 * O_NONBLOCK on it, and its reader has not read yet): every write fails with EAGAIN until the
 * reader takes some. printHelp (cmd/help-wrap.ts) slept 1 ms and tried again, for as long as
 * the reader took — hundreds of wake-ups a second for nothing. Now it waits as a blocking write
 * would, for room: the help arrives whole once the reader reads, with status 0, or 141 when the
 * reader leaves instead, and Ctrl-C still ends it.
 */
import { afterAll, expect, test } from 'bun:test'
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeFifo } from '../core/fifo'
import { BIN, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-help-full-pipe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A FIFO with both ends open non-blocking and filled until a write fails with EAGAIN. */
function fullPipe(name: string): { reader: number; writer: number; filled: number } {
  const path = join(dir, name)
  if (!makeFifo(path)) throw new Error('mkfifo failed')
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)
  const page = Buffer.alloc(4096, 'x')
  let filled = 0
  try {
    for (;;) filled += writeSync(writer, page)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
  }
  return { reader, writer, filled }
}

/** Everything in the pipe until its writers are gone. */
async function drain(reader: number): Promise<Buffer> {
  const parts: Buffer[] = []
  const buf = Buffer.alloc(65536)
  for (;;) {
    try {
      const n = readSync(reader, buf)
      if (n === 0) return Buffer.concat(parts)
      parts.push(Buffer.from(buf.subarray(0, n)))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      await Bun.sleep(10)
    }
  }
}

const mainThread = (pid: number, field: string): string => readFileSync(`/proc/${pid}/task/${pid}/${field}`, 'latin1')
const switches = (pid: number): number =>
  Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(mainThread(pid, 'status'))?.[1] ?? NaN)

/** `execd <args>` with its stdout the full pipe's writer, once it waits for room to write. */
async function helpIntoFullPipe(args: string[], name: string) {
  const pipe = fullPipe(name)
  const p = Bun.spawn([BIN, ...args], { stdin: 'ignore', stdout: pipe.writer, stderr: 'pipe' })
  closeSync(pipe.writer)
  // Its help made and a write refused: the main thread waits (asleep) in a call, and has
  // written nothing the pipe holds beyond what filled it.
  await waitFor('help to wait for room', () => {
    const state = /^State:\s+(\S)/m.exec(mainThread(p.pid, 'status'))?.[1]
    return state === 'S' && p.exitCode === null && switches(p.pid) > 0 && /^\d+ /.test(mainThread(p.pid, 'syscall'))
  })
  await Bun.sleep(500)
  return { ...pipe, p }
}

test('help into a full non-blocking pipe waits without waking, then arrives whole with status 0', async () => {
  const { reader, filled, p } = await helpIntoFullPipe(['--help'], 'waits')
  try {
    const before = switches(p.pid)
    await Bun.sleep(2000)
    // A sleep of 1 ms between tries woke it 300–700 times a second here; waiting for room, never.
    expect(switches(p.pid) - before).toBeLessThan(10)
    const got = await drain(reader)
    expect(await p.exited).toBe(0)
    expect(got.length).toBeGreaterThan(filled)
    const help = got.subarray(filled).toString()
    expect(help).toStartWith('execd\n\nUsage:\n')
    expect(help).toContain('For more info, run any command with the `--help` flag')
    expect(await new Response(p.stderr).text()).toBe('')
  } finally {
    p.kill('SIGKILL')
    closeSync(reader)
  }
}, 60_000)

test('help into a full non-blocking pipe whose reader leaves: 141, no word', async () => {
  const { reader, p } = await helpIntoFullPipe(['exec', '--help'], 'leaves')
  closeSync(reader)
  expect(await p.exited).toBe(141)
  expect(await new Response(p.stderr).text()).toBe('')
}, 60_000)

test('help into a full non-blocking pipe: SIGINT ends it, 130', async () => {
  const { reader, p } = await helpIntoFullPipe(['fs', '--help'], 'interrupted')
  try {
    p.kill('SIGINT')
    expect(await p.exited).toBe(130)
  } finally {
    closeSync(reader)
  }
}, 60_000)
