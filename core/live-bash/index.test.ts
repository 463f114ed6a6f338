import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LiveBash, type BashRunEnd } from '.'
import { liveShells } from '../../spec/kit/live-shells'
import { groupAlive } from '../process-groups'

const start = liveShells()

/** Runs `code` to its end; `onOutput` hears each chunk of output, and the end. */
async function collect(b: LiveBash, code: string, opts?: { cwd?: string }, onOutput?: () => void) {
  const out = { stdout: '', stderr: '' }
  const it = b.run(code, opts)
  try {
    for (;;) {
      const r = await it.next()
      if (r.done) return { ...out, end: r.value as BashRunEnd }
      out[r.value.stream] += new TextDecoder().decode(r.value.data)
      onOutput?.()
    }
  } finally {
    onOutput?.()
  }
}

describe('LiveBash', () => {
  test('state persists between runs: variables, functions, aliases, cwd', async () => {
    const b = start()
    const dir = mkdtempSync(join(tmpdir(), 'lb-'))
    await collect(b, `x=41; f() { echo "f:$1"; }; alias hi='echo hello'; cd ${dir}`)
    const r = await collect(b, 'echo $((x+1)); f a; hi; pwd')
    expect(r.stdout).toBe(`42\nf:a\nhello\n${dir}\n`)
    expect(r.end).toEqual({ kind: 'exit', code: 0, interrupted: false })
    rmSync(dir, { recursive: true })
  })

  test('stderr is separate, exit status and output without a trailing newline', async () => {
    const b = start()
    const r = await collect(b, 'printf out; printf err >&2; false')
    expect(r).toEqual({ stdout: 'out', stderr: 'err', end: { kind: 'exit', code: 1, interrupted: false } })
  })

  test('heredocs, reading stdin and background jobs do not break the run end', async () => {
    const b = start()
    const r = await collect(b, 'cat <<\'EOF\'\nline $HOME\nEOF\nread -r v; echo "v=$v"; sleep 30 &\necho done')
    expect(r.stdout).toBe('line $HOME\nv=\ndone\n')
    const again = await collect(b, 'kill %1; echo ok')
    expect(again.stdout).toBe('ok\n')
  })

  test('a run that prints what it can learn of the end marker does not end early or shift later runs', async () => {
    const b = start()
    // The code file's name ($BASH_SOURCE) carries the shell's nonce; a marker built from it
    // once ended the run here, and every later run then reported its predecessor's output.
    const forge =
      'n=${BASH_SOURCE##*execd-bash-}; n=${n%.sh}; ' +
      "printf '__execd_%s__:7\\n' $n; printf '__execd_%s__' $n >&2; sleep 0.3; echo late"
    const first = await collect(b, forge)
    expect(first.stdout).toEndWith('late\n')
    expect(first.end).toEqual({ kind: 'exit', code: 0, interrupted: false })
    const second = await collect(b, 'echo second')
    expect(second.stdout).toBe('second\n')
  })

  test('exit ends the shell and later runs say so', async () => {
    const b = start()
    const r = await collect(b, 'echo bye; exit 3')
    expect(r.stdout).toBe('bye\n')
    expect(r.end.kind).toBe('died')
    expect(b.alive).toBe(false)
    const next = await collect(b, 'echo hi')
    expect(next.end).toEqual({ kind: 'died', reason: expect.stringContaining('exit status 3') })
  })

  test('a wrapper that cannot start says why: its stderr before the shell was ready', async () => {
    const b = start({
      argv: ['sh', '-c', 'echo "wrapper: Can\'t mkdir /mnt/x:" >&2; echo "Read-only file system" >&2; exit 1'],
      env: { PATH: process.env.PATH },
    })
    const r = await collect(b, ':')
    expect(r.end).toEqual({ kind: 'died', reason: expect.stringContaining('exit status 1') })
    expect(b.startWords).toBe("wrapper: Can't mkdir /mnt/x: Read-only file system")
  })

  test('a shell that started keeps no start words, and the stderr of its runs is not taken for them', async () => {
    const b = start()
    await collect(b, 'echo late >&2; exit 2')
    expect(b.startWords).toBe('')
  })

  test('a shell that closes its own stdout is ended, not waited for', async () => {
    const b = start()
    const r = await collect(b, 'echo x; exec >&-')
    expect(r.stdout).toBe('x\n')
    expect(r.end.kind).toBe('died')
    expect(b.alive).toBe(false)
  })

  test('interrupt stops the run and keeps the shell', async () => {
    const b = start()
    await collect(b, 'y=kept')
    const started = Promise.withResolvers<void>()
    const it = collect(b, 'echo start; sleep 30; echo never', undefined, started.resolve)
    await started.promise
    await b.interrupt()
    const r = await it
    expect(r.stdout).toBe('start\n')
    expect(r.end).toMatchObject({ kind: 'exit', interrupted: true })
    expect((await collect(b, 'echo $y')).stdout).toBe('kept\n')
  })

  test('an interrupt while the shell still starts ends the run asked before it unstarted, not later ones', async () => {
    const b = start()
    const asked = collect(b, 'echo ran; y=set')
    await b.interrupt()
    const r = await asked
    expect(r.stdout).toBe('')
    expect(r.end).toEqual({ kind: 'exit', code: 130, interrupted: true })
    expect((await collect(b, 'echo "next ${y:-unset}"')).stdout).toBe('next unset\n')
  })

  test('a program ignoring SIGINT is killed, the shell survives', async () => {
    const b = start()
    const started = Promise.withResolvers<void>()
    const it = collect(b, "trap '' INT; echo trapped; sleep 30", undefined, started.resolve)
    await started.promise
    await b.interrupt(300)
    await it
    expect(b.alive).toBe(true)
    expect((await collect(b, 'echo alive')).stdout).toBe('alive\n')
  })

  test('a run whose reader pauses past the stall look ends as it did, the shell kept', async () => {
    // The shell ended the run and reads its next line while its marker waits in execd's queue:
    // the stall look took that for a shell that will never end a run, and closed it.
    const b = start()
    const it = b.run('printf a; sleep 0.2; printf b')
    const first = await it.next()
    expect(first.done).toBe(false)
    await Bun.sleep(2500)
    let rest = ''
    let r
    while (!(r = await it.next()).done) rest += new TextDecoder().decode(r.value.data)
    expect(rest).toBe('b')
    expect(r.value).toEqual({ kind: 'exit', code: 0, interrupted: false })
    expect((await collect(b, 'echo alive')).stdout).toBe('alive\n')
  })

  test('an interrupt as the stall look comes ends the run, not the shell', async () => {
    // A timeout of 1 s met the first look (1 s into the run): 3 runs in 10 ended as stalled.
    const b = start()
    for (const ms of [998, 1000, 1002]) {
      const stop = new AbortController()
      const timer = setTimeout(() => stop.abort(), ms)
      const it = b.run('sleep 30; echo never', { signal: stop.signal })
      let r
      while (!(r = await it.next()).done);
      clearTimeout(timer)
      expect(r.value).toMatchObject({ kind: 'exit', interrupted: true })
      expect((await collect(b, 'echo alive')).stdout).toBe('alive\n')
    }
  })

  test('close kills the process group', async () => {
    const b = start()
    await collect(b, 'sleep 30 &')
    await b.close()
    expect(groupAlive(b.pid)).toBe(false)
  })

  test('a shell that cannot start leaves none of its pipes open', () => {
    // Its output pipes are made before the spawn (core/output-pipes.ts); a spawn that fails
    // closes all four ends.
    const before = ownPipes()
    expect(() => start({ cwd: tmpdir(), argv: ['/nonexistent/execd-bash'] })).toThrow()
    expect(ownPipes()).toEqual(before)
  })

  test('a shell that exited with a job holding its output: its pipes stay while the job runs, close with it', async () => {
    const b = start()
    const r = await collect(b, 'readlink /proc/self/fd/1; sleep 30 & exit 0')
    expect(r.end.kind).toBe('died')
    const its = r.stdout.trim()
    expect(its).toMatch(/^pipe:/)
    // The job is the shell's until it is closed: a write of its after the shell left is not
    // ended by a SIGPIPE (spec/session-ended-kept).
    expect(ownPipes()).toContain(its)
    await b.close()
    for (let i = 0; i < 200 && ownPipes().includes(its); i++) await Bun.sleep(10)
    expect(ownPipes()).not.toContain(its)
  })
})

/** This process's open pipes, by what they point at. */
function ownPipes(): string[] {
  const seen: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const to = readlinkSync(`/proc/self/fd/${fd}`)
      if (to.startsWith('pipe:')) seen.push(to)
    } catch {} // closed while listed
  }
  return seen.sort()
}
