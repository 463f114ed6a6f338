/**
 * `POST /files/replace` over many files, through the compiled executable: the files are fsynced
 * a batch at a time before any of the batch is renamed (plugins/files/ops/replace-batch.ts), and
 * execd killed among the renames leaves each file its old or its new content whole, the ones
 * replaced a prefix of the request's order, and nothing staged after its next start. The
 * system calls are watched (and the kill delivered at the chosen one) by strace.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, postJson, startDaemon } from './harness'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-replace-batch-')))
const daemons: Daemon[] = []
afterAll(async () => {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
  rmSync(dir, { recursive: true, force: true })
})
const start = async () => {
  const d = await startDaemon()
  daemons.push(d)
  return d
}

/** `count` files in a new directory `name`, each `OLD` with matches all through it; the request's body. */
function filesToReplace(name: string, count: number): { where: string; paths: string[]; body: object } {
  const where = join(dir, name)
  mkdirSync(where)
  const paths = Array.from({ length: count }, (_, i) => join(where, `f${i}`))
  for (const p of paths) writeFileSync(p, OLD)
  return { where, paths, body: Object.fromEntries(paths.map(p => [p, { old: 'needle', new: 'thread' }])) }
}
const OLD = 'a needle in a haystack\n'.repeat(2000)
const NEW = OLD.replaceAll('needle', 'thread')

/** strace attached to the daemon with `args`, writing to `out`; resolves once its threads are traced. */
async function traced(d: Daemon, out: string, args: string[]) {
  const tracer = Bun.spawn(['strace', '-f', '-qq', ...args, '-o', out, '-p', String(d.proc.pid)], { stderr: 'pipe' })
  while (!readFileSync(`/proc/${d.proc.pid}/status`, 'utf8').match(/^TracerPid:\s+[1-9]/m)) await Bun.sleep(10)
  return tracer
}

const strace = Bun.which('strace')
if (!strace) console.warn('skipped: no strace to count the fsyncs of a replace and to kill execd among its renames')

describe.skipIf(!strace)('a replace in 200 files of one directory', () => {
  test('fsyncs each file before any rename of its batch, and the directory once a batch', async () => {
    const d = await start()
    const { paths, body } = filesToReplace('synced', 200)
    const out = join(dir, 'strace.out')
    const tracer = await traced(d, out, ['-e', 'trace=fsync,rename,renameat2'])
    const res = await postJson(d, '/files/replace', body)
    expect(res.status).toBe(200)
    tracer.kill('SIGINT')
    await tracer.exited
    const calls = readFileSync(out, 'utf8').split('\n')
    // Each file's and its directory's, one after the other, were 400.
    expect(calls.filter(l => / fsync\(/.test(l) && !l.includes('resumed')).length).toBe(200 + 4)
    // In the order strace wrote them (one file for every thread: their order is the kernel's).
    const order = calls
      .map(l => /( fsync)\(| (rename|renameat2)\((?:AT_FDCWD, )?"[^"]*\.execd-tmp-/.exec(l))
      .flatMap(m => (m ? [m[1] ? 'fsync' : 'rename'] : []))
    expect(order.slice(0, 64)).toEqual(Array(64).fill('fsync'))
    expect(order.filter(c => c === 'rename').length).toBe(200)
    expect(paths.every(p => readFileSync(p, 'utf8') === NEW)).toBe(true)
  }, 60_000)

  test('killed at its tenth rename: a prefix replaced, every file old or new whole, no temp file after the next start', async () => {
    const d = await start()
    const { where, paths, body } = filesToReplace('killed', 200)
    // SIGKILL on entering the 10th rename or renameat2 (the staging journal's directory is the first): the
    // kernel skips a system call whose task has a fatal signal pending, so it never happens.
    const out = join(dir, 'strace-kill.out')
    const tracer = await traced(d, out, [
      '-e',
      'trace=rename,renameat2',
      '-e',
      'inject=rename,renameat2:signal=SIGKILL:when=10',
    ])
    const res = await postJson(d, '/files/replace', body).catch(() => undefined)
    await d.proc.exited
    await tracer.exited
    expect([res, d.proc.signalCode]).toEqual([undefined, 'SIGKILL'])
    const contents = paths.map(p => readFileSync(p, 'utf8'))
    const replaced = contents.filter(c => c === NEW).length
    expect(contents.every(c => c === OLD || c === NEW)).toBe(true)
    expect(contents).toEqual([...Array(replaced).fill(NEW), ...Array(200 - replaced).fill(OLD)])
    // Counted per thread: the renames are renameat2 calls made from the event loop's thread
    // (plugins/files/place.ts), and a rename through the pool may come before them.
    expect(replaced).toBeGreaterThanOrEqual(9)
    expect(replaced).toBeLessThan(200)
    expect(readdirSync(where).some(n => n.includes('.execd-tmp-'))).toBe(true)
    const next = await start()
    // The first files request waits for the section to open, which sweeps what the killed one staged.
    expect((await next.fetch(`/files/info?path=${encodeURIComponent(paths[0]!)}`)).status).toBe(200)
    expect(readdirSync(where).filter(n => n.includes('.execd-tmp-'))).toEqual([])
    expect(readdirSync(where).length).toBe(200)
    expect(readdirSync(tmpdir()).filter(n => n.startsWith(`execd-staged-${d.proc.pid}-`))).toEqual([])
  }, 60_000)
})
