/**
 * Downloads raced against renames over the downloaded name (spec/files-download-swap.test.ts,
 * spec/isolated-files.test.ts): a helper process puts, in turn, a file of another size, a
 * symlink out of what the route allows, a directory or a FIFO at the name, while downloads ask
 * for it; each answer is checked against its own headers and against the two files' bytes.
 */
import { expect } from 'bun:test'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../harness'

/** Far below any idle timeout: a download that waits this long is held by something. */
const ANSWER_MS = 10_000
const WORKERS = 4

// Renames each of the prepared entries over `target` in turn, then the file A, until told to
// stop (stdin closes). rename(2) is atomic: at every instant `target` is one whole entry.
const SWAPPER = `
import ctypes, os, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
d, outside, sizes, kinds = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:5]], sys.argv[5:]
target = os.path.join(d, 'target')
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
def make(kind, at):
    if kind == 'A': open(at, 'wb').write(b'A' * sizes[0])
    elif kind == 'B': open(at, 'wb').write(b'B' * sizes[1])
    elif kind == 'link': os.symlink(outside, at)
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
        if n == 1: open(os.path.join(d, '.swapping'), 'w').close()
print(n)
`
export const python = ['/usr/bin/python3', 'python3'].map(p => Bun.which(p)).find(Boolean)

const MiB = 1024 * 1024
/** The two files' bytes: small ones are read into memory, large ones sent from the descriptor. */
export const SMALL = { A: Buffer.alloc(5000, 'A'), B: Buffer.alloc(123, 'B') }
export const LARGE = { A: Buffer.alloc(5 * MiB, 'A'), B: Buffer.alloc(6 * MiB + 7, 'B') }
export type Files = typeof SMALL

export interface Tally {
  whole: number
  errors: Record<string, number>
  wrong: string[]
}

export interface Race {
  /** GET of the download route for `path` (the daemon's fetch, token included). */
  download(path: string, init: RequestInit): Promise<Response>
  /** A fresh directory to race in (created here), and the file a swapped-in symlink points to. */
  dir: string
  outside: string
  files: Files
  /** Of A, B, link, dir, fifo: what is renamed over the name, in turn. */
  kinds: string[]
  range?: string
  count: number
}

/** One download; what was wrong with the answer, if anything. */
async function check(race: Race, tally: Tally): Promise<void> {
  const res = await race.download(join(race.dir, 'target'), {
    headers: race.range ? { range: race.range } : {},
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
  const whole = first === 'A' ? race.files.A : first === 'B' ? race.files.B : undefined
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

/** Downloads `count` times while the swapper runs; the tally, and how many swaps were made. */
export async function raceDownloads(race: Race): Promise<{ tally: Tally; swaps: number }> {
  mkdirSync(race.dir)
  writeFileSync(join(race.dir, 'target'), race.files.A)
  const sizes = [race.files.A.length, race.files.B.length].map(String)
  const swapper = Bun.spawn([python as string, '-c', SWAPPER, race.dir, race.outside, ...sizes, ...race.kinds], {
    stdin: 'pipe',
    stdout: 'pipe',
  })
  // Downloads start once the name has changed at least once: a loaded machine started the
  // interpreter after 150 downloads had all been answered.
  await waitFor('the swapper to start', () => existsSync(join(race.dir, '.swapping')) || swapper.exitCode !== null)
  const tally: Tally = { whole: 0, errors: {}, wrong: [] }
  let next = 0
  const worker = async () => {
    while (next++ < race.count) await check(race, tally)
  }
  try {
    await Promise.all(Array.from({ length: WORKERS }, worker))
  } finally {
    swapper.stdin.end()
    await swapper.exited
  }
  const swaps = Number(await new Response(swapper.stdout).text())
  console.log(`swap ${race.kinds.join('/')}${race.range ? ' range' : ''}: ${swaps} swaps, ${JSON.stringify(tally)}`)
  expect(swapper.exitCode).toBe(0)
  return { tally, swaps }
}
