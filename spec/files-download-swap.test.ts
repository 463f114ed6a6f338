/**
 * A download's name swapped under it, through the compiled executable: while a helper process
 * renames other entries over the downloaded name as fast as it can (a file of another size, a
 * symlink, a directory, a FIFO), hundreds of downloads ask for that name. Every answer must be
 * one whole file with headers that describe the bytes sent (Content-Length, Content-Range), or a
 * clear JSON error; a FIFO is never opened for reading (that would hold the request, and with it
 * a thread, until a writer came), and a symlink swapped in is not followed out of `--root`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon } from './harness'

const DOWNLOADS = 300
const WORKERS = 4
/** Far below any idle timeout: a download that waits this long is held by something. */
const ANSWER_MS = 10_000

// Renames each of the prepared entries over `target` in turn, then the file A, until told to
// stop (stdin closes). rename(2) is atomic: at every instant `target` is one whole entry.
const SWAPPER = `
import ctypes, os, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
d, sizes, kinds = sys.argv[1], [int(x) for x in sys.argv[2:4]], sys.argv[4:]
target = os.path.join(d, 'target')
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
def make(kind, at):
    if kind == 'A': open(at, 'wb').write(b'A' * sizes[0])
    elif kind == 'B': open(at, 'wb').write(b'B' * sizes[1])
    elif kind == 'link': os.symlink(os.path.abspath(os.path.join(d, '..', '..', 'outside.txt')), at)
    elif kind == 'dir': os.mkdir(at)
    elif kind == 'fifo': os.mkfifo(at)
def is_dir(p): return os.path.isdir(p) and not os.path.islink(p)
n = 0
while not stop.is_set():
    for kind in kinds:
        at = os.path.join(d, '.next-' + kind)
        make(kind, at)
        if kind == 'dir' or is_dir(target):
            # rename(2) cannot put a directory over a file or the reverse: exchange, then drop the old one.
            if libc.renameat2(-100, os.fsencode(at), -100, os.fsencode(target), 2) != 0:
                raise OSError(ctypes.get_errno(), 'renameat2')
            os.rmdir(at) if is_dir(at) else os.unlink(at)
        else:
            os.rename(at, target)
        n += 1
print(n)
`
const python = ['/usr/bin/python3', 'python3'].map(p => Bun.which(p)).find(Boolean)

const base = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-download-swap-')))
const root = join(base, 'root')
let d: Daemon
beforeAll(async () => {
  mkdirSync(root)
  writeFileSync(join(base, 'outside.txt'), 'OUTSIDE-SECRET')
  d = await startDaemon({ args: ['--root', root] })
})
afterAll(async () => {
  await d?.stop()
  rmSync(base, { recursive: true, force: true })
})

const MiB = 1024 * 1024
/** The two files' bytes: small ones are read into memory, large ones sent from the descriptor. */
const SMALL = { A: Buffer.alloc(5000, 'A'), B: Buffer.alloc(123, 'B') }
const LARGE = { A: Buffer.alloc(5 * MiB, 'A'), B: Buffer.alloc(6 * MiB + 7, 'B') }
type Files = typeof SMALL

interface Tally {
  whole: number
  errors: Record<string, number>
  wrong: string[]
}

/** One download of `path`; what was wrong with the answer, if anything. */
async function check(path: string, files: Files, range: string | undefined, tally: Tally): Promise<void> {
  const res = await d.fetch(`/files/download?path=${encodeURIComponent(path)}`, {
    headers: range ? { range } : {},
    signal: AbortSignal.timeout(ANSWER_MS),
  })
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status >= 400) {
    const error = JSON.parse(body.toString()) as { code: string; message: string }
    tally.errors[`${res.status} ${error.code}`] = (tally.errors[`${res.status} ${error.code}`] ?? 0) + 1
    return
  }
  const length = Number(res.headers.get('content-length'))
  if (length !== body.length) tally.wrong.push(`Content-Length ${length}, body ${body.length}`)
  const first = String.fromCharCode(body[0] ?? 0)
  const whole = first === 'A' ? files.A : first === 'B' ? files.B : undefined
  if (!whole) return void tally.wrong.push(`a body of neither file: ${body.subarray(0, 40).toString()}`)
  if (res.status === 200) {
    if (!body.equals(whole)) tally.wrong.push(`a 200 of ${body.length} bytes, not one whole file`)
  } else if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '')
    if (!m) return void tally.wrong.push(`206 with Content-Range ${res.headers.get('content-range')}`)
    const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])]
    if (size !== whole.length || end - start + 1 !== body.length || !body.equals(whole.subarray(start, end + 1)))
      tally.wrong.push(`206 ${m[0]} of the ${whole.length}-byte file with a body of ${body.length}`)
  } else tally.wrong.push(`status ${res.status}`)
  tally.whole++
}

/** Downloads `count` times while the swapper runs over `kinds`; the tally, and how many swaps were made. */
async function race(name: string, files: Files, kinds: string[], range: string | undefined, count: number) {
  const dir = join(root, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'target'), files.A)
  const sizes = [files.A.length, files.B.length].map(String)
  const swapper = Bun.spawn([python as string, '-c', SWAPPER, dir, ...sizes, ...kinds], {
    stdin: 'pipe',
    stdout: 'pipe',
  })
  const tally: Tally = { whole: 0, errors: {}, wrong: [] }
  let next = 0
  const worker = async () => {
    while (next++ < count) await check(join(dir, 'target'), files, range, tally)
  }
  try {
    await Promise.all(Array.from({ length: WORKERS }, worker))
  } finally {
    swapper.stdin.end()
    await swapper.exited
  }
  const swaps = Number(await new Response(swapper.stdout).text())
  console.log(`swap ${name}: ${swaps} swaps, ${JSON.stringify(tally)}`)
  expect(swapper.exitCode).toBe(0)
  return { tally, swaps }
}

describe.skipIf(!python)('a download whose name is swapped while it is opened', () => {
  const pairs: Record<string, string[]> = {
    'two files of different sizes': ['A', 'B'],
    'a file and a symlink out of the root': ['A', 'link'],
    'a file and a directory': ['A', 'dir'],
    'a file and a FIFO': ['A', 'fifo'],
  }
  for (const [what, kinds] of Object.entries(pairs)) {
    for (const range of [undefined, 'bytes=100-']) {
      test(`${what}${range ? ' (Range)' : ''}: every answer is one whole file as its headers say, or a JSON error`, async () => {
        const { tally, swaps } = await race(
          `${kinds.join('-')}${range ? '-range' : ''}`,
          SMALL,
          kinds,
          range,
          DOWNLOADS,
        )
        expect(tally.wrong).toEqual([])
        expect(tally.whole).toBeGreaterThan(0)
        // Not vacuous: the name changed under the downloads.
        expect(swaps).toBeGreaterThan(10)
      }, 60_000)
    }
  }
  test('large files (sent from the descriptor) of different sizes: every answer is one whole file', async () => {
    const { tally, swaps } = await race('large', LARGE, ['A', 'B'], undefined, 40)
    expect(tally.wrong).toEqual([])
    expect(tally.whole).toBe(40)
    expect(swaps).toBeGreaterThan(2)
  }, 120_000)
})
