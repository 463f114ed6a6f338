/**
 * Where a short command's main-thread CPU goes, execd beside row 3e's least HTTP server
 * (lib/spawn-server.ts, the same spawn behind `Bun.serve`, the same client): `perf record -e
 * cpu-clock -g` of each server's main thread over `POST /command {"command":"true"}` read to
 * the end, after both are warm, sides taking turns. Per command, µs of samples: the kernel by
 * system call (the call the sample's stack entered by; a switch or an interrupt outside one
 * apart), the runtime's own code (Bun carries no symbols: its C++, the interpreter, the
 * collector, one line), JIT-compiled JavaScript, libc. Both servers run the same Bun, so its
 * native line compares like with like. The counts are cpu-clock samples (4 kHz): they move with
 * the machine's load, the split within a turn less. Needs perf and root. Not run by `make bench`.
 *
 *   bun run bench/command-perf-split.ts [commands=1000] [warm=1500] [turns=2]
 */
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { leastClient, startLeastServer } from './lib/least-server'
import { makeTempDir, runThenClean, spawnTracked } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [commands, warm, turns] = [arg(0, 1000), arg(1, 1500), arg(2, 2)]
const HZ = 4000

type Client = Pick<Execd, 'pid' | 'post'>

async function command(c: Client): Promise<void> {
  const res = await c.post('/command', { command: 'true' })
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  await readEvents(res, commandEnded)
}

/** One sample's stack, leaf first: [symbol, object] per frame as `perf script -F ip,sym,dso` prints it. */
type Stack = [string, string][]

function stacksOf(text: string): Stack[] {
  const out: Stack[] = []
  let cur: Stack = []
  for (const line of text.split('\n')) {
    const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line)
    if (m) cur.push([m[1]!, m[2]!])
    else if (line.trim() === '' && cur.length > 0) out.push(cur.splice(0))
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** The bucket of one sample: `kernel <call>`, `runtime`, `jit`, `libc`, or the object's name. */
function bucketOf(stack: Stack): string {
  const [, leafObject] = stack[0]!
  if (leafObject.includes('kernel')) {
    const call = stack.find(([sym]) => /^__(x64|do)_sys_/.test(sym))?.[0].replace(/^__(x64|do)_sys_/, '')
    if (call) return `kernel ${call}`
    const fault = stack.some(([sym]) => sym.includes('page_fault'))
    return fault ? 'kernel page fault' : 'kernel switch/interrupt'
  }
  if (leafObject.startsWith('/tmp/perf-') || leafObject.includes('JIT')) return 'jit'
  if (/libc[.-]/.test(leafObject)) return 'libc'
  if (leafObject.endsWith('/execd') || leafObject.endsWith('/bun') || leafObject.endsWith('bun.exe')) return 'runtime'
  return leafObject.split('/').pop() ?? leafObject
}

/** µs of main-thread samples per command by bucket, over `commands` commands to `client`. */
async function split(client: Client, dir: string, name: string): Promise<Map<string, number>> {
  const data = join(dir, `${name}.data`)
  const perf = spawnTracked(
    ['perf', 'record', '-e', 'cpu-clock', '-F', String(HZ), '-g', '-t', String(client.pid), '-o', data],
    {
      stdout: 'ignore',
      stderr: 'ignore',
    },
  )
  await Bun.sleep(300) // perf attached
  for (let i = 0; i < commands; i++) await command(client)
  perf.kill('SIGINT')
  await perf.exited
  const script = Bun.spawnSync(['perf', 'script', '-i', data, '-F', 'ip,sym,dso'], { stdout: 'pipe', stderr: 'ignore' })
  const counts = new Map<string, number>()
  for (const stack of stacksOf(script.stdout.toString())) {
    const b = bucketOf(stack)
    counts.set(b, (counts.get(b) ?? 0) + 1)
  }
  const perCommand = (n: number) => (n * 1e6) / HZ / commands
  return new Map([...counts].map(([k, n]) => [k, perCommand(n)]))
}

await runThenClean(async () => {
  const dir = makeTempDir('perf-split')
  const d = await startExecd()
  const least = await leastClient(startLeastServer(), d.headers)
  await requireCommands(d)
  for (let i = 0; i < warm; i++) await Promise.all([command(d), command(least)])
  const sums = { execd: new Map<string, number>(), server: new Map<string, number>() }
  for (let t = 0; t < turns; t++) {
    for (const [side, client] of (t % 2
      ? [
          ['server', least],
          ['execd', d],
        ]
      : [
          ['execd', d],
          ['server', least],
        ]) as [keyof typeof sums, Client][]) {
      for (const [k, us] of await split(client, dir, `${side}-${t}`))
        sums[side].set(k, (sums[side].get(k) ?? 0) + us / turns)
    }
  }
  const load = (await Bun.file('/proc/loadavg').text()).split(' ')[0]
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
  const keys = [...new Set([...sums.execd.keys(), ...sums.server.keys()])].sort(
    (a, b) =>
      (sums.execd.get(b) ?? 0) - (sums.server.get(b) ?? 0) - ((sums.execd.get(a) ?? 0) - (sums.server.get(a) ?? 0)),
  )
  console.log(`main thread, µs per command (${commands} commands × ${turns} turns after ${warm} warm; load ${load})`)
  console.log(`${'bucket'.padEnd(30)} ${'execd'.padStart(8)} ${'server'.padStart(8)} ${'execd − server'.padStart(15)}`)
  for (const k of keys) {
    const [a, b] = [sums.execd.get(k) ?? 0, sums.server.get(k) ?? 0]
    if (a < 1 && b < 1) continue
    console.log(
      `${k.padEnd(30)} ${a.toFixed(0).padStart(8)} ${b.toFixed(0).padStart(8)} ${(a - b).toFixed(0).padStart(15)}`,
    )
  }
  const [ta, tb] = [total(sums.execd), total(sums.server)]
  console.log(
    `${'total'.padEnd(30)} ${ta.toFixed(0).padStart(8)} ${tb.toFixed(0).padStart(8)} ${(ta - tb).toFixed(0).padStart(15)}`,
  )
})
