/**
 * Is a spawn cheaper than `Bun.spawn` open to a Bun program? A warm process spawns
 * `bash -c true` and waits for it, in rounds that take turns between:
 *
 *   bun-ignore   Bun.spawn, stdio ignored, `await exited` (row 3c's floor)
 *   bun-owned    Bun.spawn as execd makes it: stdout and stderr piped and read to their end,
 *                own session (`detached`), the owner marker in the environment (row 3d)
 *   ffi-ignore   glibc's posix_spawn through bun:ffi (a CLONE_VM|CLONE_VFORK clone inside),
 *                stdio /dev/null, then a blocking waitpid
 *   ffi-owned    the same as bun-owned by hand: POSIX_SPAWN_SETSID, two pipes dup2'd onto 1 and 2,
 *                their read ends read to EOF with blocking read(2), then waitpid
 *
 * Each spawn is timed inside this process (no HTTP, no pipe back to a client), and the process's
 * own CPU (user + system, getrusage) per spawn beside it. The ffi sides block the event loop in
 * read/waitpid: that is the floor of the system calls, not a design — a daemon would have to
 * hand the pipes and a pidfd to its loop (below). A bench only, wired into nothing.
 *
 *   bun run bench/spawn-ffi.ts [rounds=6] [spawns per round=300]
 */
import { dlopen, FFIType, ptr, type Pointer } from 'bun:ffi'
import { libcFile } from '../core/libc'

const rounds = Number(process.argv[2] ?? 6)
const perRound = Number(process.argv[3] ?? 300)
const bash = Bun.which('bash') ?? '/bin/bash'

const { i32, ptr: P } = FFIType
const libc = dlopen(libcFile(), {
  posix_spawn: { args: [P, P, P, P, P, P], returns: i32 },
  posix_spawnattr_init: { args: [P], returns: i32 },
  posix_spawnattr_setflags: { args: [P, FFIType.i16], returns: i32 },
  posix_spawn_file_actions_init: { args: [P], returns: i32 },
  posix_spawn_file_actions_destroy: { args: [P], returns: i32 },
  posix_spawn_file_actions_addopen: { args: [P, i32, P, i32, i32], returns: i32 },
  posix_spawn_file_actions_adddup2: { args: [P, i32, i32], returns: i32 },
  pipe2: { args: [P, i32], returns: i32 },
  read: { args: [i32, P, FFIType.u64], returns: FFIType.i64 },
  close: { args: [i32], returns: i32 },
  waitpid: { args: [i32, P, i32], returns: i32 },
}).symbols

/** glibc's values (spawn.h, fcntl.h). */
const POSIX_SPAWN_SETSID = 0x80
const O_RDONLY = 0
const O_WRONLY = 1
const O_CLOEXEC = 0o2000000

const cstr = (s: string) => Buffer.from(`${s}\0`)
/** A NULL-terminated array of char*, with the strings it points at kept alive beside it. */
function cArray(items: string[]): { at: Pointer; keep: unknown[] } {
  const strings = items.map(cstr)
  const arr = new BigUint64Array(items.length + 1)
  strings.forEach((s, i) => (arr[i] = BigInt(ptr(s))))
  return { at: ptr(arr), keep: [strings, arr] }
}

const ownedEnv = { ...process.env, EXECD_OWNER: 'spawn-ffi.1' } as Record<string, string>
// Built once: a daemon could keep its children's environment as a C array until it changes.
const envp = cArray(Object.entries(ownedEnv).map(([k, v]) => `${k}=${v}`))
const argv = cArray([bash, '-c', 'true'])
const path = cstr(bash)
const devNull = cstr('/dev/null')
const pidOut = new Int32Array(1)
const status = new Int32Array(1)
const fds = new Int32Array(2)
const readBuf = new Uint8Array(65536)

const plainAttr = new Uint8Array(512) // posix_spawnattr_t is 336 bytes in glibc
libc.posix_spawnattr_init(ptr(plainAttr))
const sessionAttr = new Uint8Array(512)
libc.posix_spawnattr_init(ptr(sessionAttr))
libc.posix_spawnattr_setflags(ptr(sessionAttr), POSIX_SPAWN_SETSID)

function check(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what}: ${rc}`)
}

function waitFor(pid: number): number {
  for (;;) {
    const r = libc.waitpid(pid, ptr(status), 0)
    if (r === pid) return status[0]!
    if (r < 0) throw new Error(`waitpid ${pid}: ${r} (someone else reaped it?)`)
  }
}

function ffiIgnore(): number {
  const actions = new Uint8Array(128) // posix_spawn_file_actions_t is 80 bytes
  libc.posix_spawn_file_actions_init(ptr(actions))
  check(libc.posix_spawn_file_actions_addopen(ptr(actions), 0, ptr(devNull), O_RDONLY, 0), 'addopen 0')
  check(libc.posix_spawn_file_actions_addopen(ptr(actions), 1, ptr(devNull), O_WRONLY, 0), 'addopen 1')
  check(libc.posix_spawn_file_actions_addopen(ptr(actions), 2, ptr(devNull), O_WRONLY, 0), 'addopen 2')
  const rc = libc.posix_spawn(ptr(pidOut), ptr(path), ptr(actions), ptr(plainAttr), argv.at, envp.at)
  libc.posix_spawn_file_actions_destroy(ptr(actions))
  check(rc, 'posix_spawn')
  return waitFor(pidOut[0]!)
}

function ffiOwned(): number {
  const ends: number[] = []
  for (let i = 0; i < 2; i++) {
    check(libc.pipe2(ptr(fds), O_CLOEXEC), 'pipe2')
    ends.push(fds[0]!, fds[1]!)
  }
  const actions = new Uint8Array(128)
  libc.posix_spawn_file_actions_init(ptr(actions))
  check(libc.posix_spawn_file_actions_addopen(ptr(actions), 0, ptr(devNull), O_RDONLY, 0), 'addopen 0')
  // dup2 clears FD_CLOEXEC on the copy; the originals close at the exec.
  check(libc.posix_spawn_file_actions_adddup2(ptr(actions), ends[1]!, 1), 'dup2 1')
  check(libc.posix_spawn_file_actions_adddup2(ptr(actions), ends[3]!, 2), 'dup2 2')
  const rc = libc.posix_spawn(ptr(pidOut), ptr(path), ptr(actions), ptr(sessionAttr), argv.at, envp.at)
  libc.posix_spawn_file_actions_destroy(ptr(actions))
  libc.close(ends[1]!)
  libc.close(ends[3]!)
  check(rc, 'posix_spawn')
  for (const fd of [ends[0]!, ends[2]!]) {
    while (libc.read(fd, ptr(readBuf), readBuf.length) > 0) {}
    libc.close(fd)
  }
  return waitFor(pidOut[0]!)
}

async function bunIgnore(): Promise<number> {
  return Bun.spawn([bash, '-c', 'true'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited
}

async function bunOwned(): Promise<number> {
  const p = Bun.spawn([bash, '-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], env: ownedEnv, detached: true })
  await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).arrayBuffer()])
  return p.exited
}

const SIDES: [string, () => number | Promise<number>][] = [
  ['bun-ignore', bunIgnore],
  ['ffi-ignore', ffiIgnore],
  ['bun-owned', bunOwned],
  ['ffi-owned', ffiOwned],
]

const cpuMs = () => {
  const u = process.resourceUsage()
  return (u.userCPUTime + u.systemCPUTime) / 1000
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const wall = new Map<string, number[]>(SIDES.map(([n]) => [n, []]))
const cpu = new Map<string, number[]>(SIDES.map(([n]) => [n, []]))

for (const [, one] of SIDES) for (let i = 0; i < 50; i++) if ((await one()) !== 0) throw new Error('warm-up failed')
for (let r = 0; r < rounds; r++) {
  for (const [name, one] of r % 2 ? [...SIDES].reverse() : SIDES) {
    const c0 = cpuMs()
    for (let i = 0; i < perRound; i++) {
      const t0 = performance.now()
      if ((await one()) !== 0) throw new Error(`${name}: bash -c true failed`)
      wall.get(name)!.push(performance.now() - t0)
    }
    cpu.get(name)!.push((cpuMs() - c0) / perRound)
  }
}
const base = median(wall.get('bun-ignore')!)
console.log(
  `spawn + wait of bash -c true, ${rounds} rounds × ${perRound}, load ${require('node:os').loadavg()[0].toFixed(1)}`,
)
for (const [name] of SIDES) {
  const w = wall.get(name)!
  const sorted = [...w].sort((a, b) => a - b)
  const p25 = sorted[Math.floor(w.length / 4)]!
  console.log(
    `${name.padEnd(11)} median ${median(w).toFixed(3)} ms (p25 ${p25.toFixed(3)})  ${(median(w) / base).toFixed(2)}× bun-ignore  own CPU ${median(cpu.get(name)!).toFixed(3)} ms a spawn`,
  )
}
