import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../core/config'
import type { CellQueue } from '../../core/cell-queue'
import type { ExecEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { bash } from '.'
import { pairAcrossPieces } from '../../spec/kit/pieces-cell'

const contexts: RuntimeContext[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(contexts.splice(0).map(c => c.close()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(): Promise<RuntimeContext> {
  const cwd = mkdtempSync(join(tmpdir(), 'execd-bash-rt-'))
  dirs.push(cwd)
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd }
  const c = await bash.start({ language: 'bash', cwd, env, config: resolveConfig([]), log: createLogger('silent') })
  contexts.push(c)
  return c
}

/** A cell's events to its end; `onOutput` hears each stdout or stderr event, and the end. */
async function collect(events: AsyncIterable<ExecEvent>, onOutput?: () => void) {
  const all: ExecEvent[] = []
  try {
    for await (const e of events) {
      all.push(e)
      if (e.type === 'stdout' || e.type === 'stderr') onOutput?.()
    }
  } finally {
    onOutput?.()
  }
  const text = (type: string) =>
    all
      .filter(e => e.type === type)
      .map(e => e.text)
      .join('')
  return { all, stdout: text('stdout'), stderr: text('stderr'), error: all.find(e => e.type === 'error')?.error }
}

describe('bash runtime', () => {
  test('offers the bash language when bash is installed', async () => {
    const [info] = await bash.languages(resolveConfig([]))
    expect(info).toMatchObject({ language: 'bash', available: true })
  })

  test('variables, functions and cwd persist; output is passed through as written', async () => {
    const c = await start()
    await collect(c.run('n=2; twice() { echo $(( $1 * 2 )); }; mkdir sub && cd sub'))
    const r = await collect(c.run('twice $n; printf "no newline"; basename "$PWD"; echo warn >&2'))
    expect(r.stdout).toBe('4\nno newlinesub\n')
    expect(r.stderr).toBe('warn\n')
    expect(r.error).toBeUndefined()
  })

  test('a long cell is written in pieces as it was sent: a surrogate pair across their end stays one character', async () => {
    const c = await start()
    const text = 'ab\u00e9\ud83d\ude00"$x\\'.repeat(60_000)
    const code = pairAcrossPieces("s='", text, '\'\nprintf %s "$s" | sha256sum', '#')
    const r = await collect(c.run(code))
    expect(r.stdout).toBe(`${new Bun.CryptoHasher('sha256').update(text).digest('hex')}  -\n`)
  })

  test('a non-zero status of the last command is a CommandExecError event', async () => {
    const c = await start()
    const r = await collect(c.run('echo x; (exit 4)'))
    expect(r.error).toEqual({ ename: 'CommandExecError', evalue: '4', traceback: ['exit status 4'] })
  })

  test('interrupt stops the cell and keeps the state', async () => {
    const c = await start()
    await collect(c.run('kept=1'))
    const started = Promise.withResolvers<void>()
    const running = collect(c.run('echo go; sleep 30; echo never'), started.resolve)
    await started.promise
    await c.interrupt()
    const r = await running
    expect(r.stdout).toBe('go\n')
    expect(r.error?.evalue).toBe('130')
    expect((await collect(c.run('echo $kept'))).stdout).toBe('1\n')
    expect(c.alive).toBe(true)
  })

  test('interrupt stops a cell flooding its output, from the shell or a program, and keeps the state', async () => {
    const c = await start()
    await collect(c.run('kept=1'))
    for (const flood of ['i=0; while :; do echo "line $i"; i=$((i+1)); done', 'yes line']) {
      const started = Promise.withResolvers<void>()
      const running = collect(c.run(flood), started.resolve)
      await started.promise
      await c.interrupt()
      expect((await running).error?.evalue).toBe('130')
      expect(c.alive).toBe(true)
      expect((await collect(c.run('echo $kept'))).stdout).toBe('1\n')
    }
  })

  test('interrupt lands while the reader lags behind a flood; the shell and its state stay', async () => {
    // The run's end comes behind its output: with the reader taking none, the shell's pipe
    // stayed full, the end never came, and the interrupt killed the shell (state lost).
    const c = await start()
    await collect(c.run('kept=1'))
    const queue = () => (c as unknown as { cell?: CellQueue }).cell
    for (const waitHeld of [false, true]) {
      const cell = c.run('i=0; while :; do echo "line $i"; i=$((i+1)); done')[Symbol.asyncIterator]()
      expect((await cell.next()).value?.type).toBe('stdout')
      // Then the reader takes nothing more: at once, or once the queue holds the shell back.
      while (waitHeld && !queue()?.isHeld) await Bun.sleep(10)
      await c.interrupt()
      expect(c.alive).toBe(true)
      const rest: ExecEvent[] = []
      for (let r = await cell.next(); !r.done; r = await cell.next()) rest.push(r.value)
      expect(rest.find(e => e.type === 'error')?.error?.evalue).toBe('130')
      expect((await collect(c.run('echo $kept'))).stdout).toBe('1\n')
    }
  })

  test('a reader that leaves early interrupts the run; the shell takes the next cell', async () => {
    // Before, the shell's run was left suspended, holding the shell: the next cell waited forever.
    const c = await start()
    await collect(c.run('kept=1'))
    for await (const _ of c.run('echo first; sleep 30; echo never')) break
    expect((await collect(c.run('echo $kept'))).stdout).toBe('1\n')
    expect(c.alive).toBe(true)
  })

  test('death of the shell is reported and alive turns false', async () => {
    const c = await start()
    const r = await collect(c.run('echo last; kill -KILL $$'))
    expect(r.stdout).toBe('last\n')
    expect(r.error).toMatchObject({
      ename: 'DeadKernelError',
      evalue: expect.stringContaining('(signal: killed); its state is lost'),
      traceback: ['signal: killed'],
    })
    expect(c.alive).toBe(false)
    const again = await collect(c.run('echo hi'))
    expect(again.error?.evalue).toContain('state is lost')
  })

  // Clean chunks are framed from their bytes (context.ts), the rest decoded as one stream: a
  // character cut between chunks, or cut off by clean output after it, reads as it did decoded.
  test('output is the same text whichever way each chunk is framed', async () => {
    const c = await start()
    const code = [
      "yes 'a clean line' | head -c 3000000",
      "printf '\\xc3'; sleep 0.2; printf '\\xa9 joined\\n'",
      "printf '\\xc3'; sleep 0.2; printf 'cut off\\n'",
      'sleep 0.2; printf \'\\xef\\xbb\\xbfmid-stream BOM "q" \\\\ \\t\\n\'',
      "sleep 0.2; yes 'clean again' | head -c 2000000",
    ].join('; ')
    const r = await collect(c.run(code))
    const clean = (line: string, bytes: number) =>
      `${line}\n`.repeat(Math.ceil(bytes / (line.length + 1))).slice(0, bytes)
    expect(r.stdout).toBe(
      clean('a clean line', 3000000) +
        'é joined\n' +
        '\ufffdcut off\n' +
        '\ufeffmid-stream BOM "q" \\ \t\n' +
        clean('clean again', 2000000),
    )
    expect(r.error).toBeUndefined()
  })
})
