/**
 * The gate a child waits behind, where a memory reserve exists (core/memory-reserve.ts), until
 * execd has moved it into the children's cgroup. A v1 cgroup is entered only by a move, made by
 * execd right after Bun.spawn returns; the child ran meanwhile in execd's cgroup, and what it
 * wrote to a tmpfs then stayed charged there (a page is charged to whoever first touched it, and
 * a v1 move does not carry it; `memory.move_charge_at_immigrate` is refused on this 6.18 kernel).
 * At load 4–11, four `head -c 100M /dev/zero > /dev/shm/…` at once left up to 59 MiB of tmpfs in
 * execd's cgroup and killed execd in 9 and 11 runs of 20.
 *
 * So the child is a tiny static program first (core/reserve-gate/x64.s, arm64.s; 120 and 148
 * bytes of machine code): it reads one byte from an inherited socket, which returns once execd
 * has moved its pid and closed its end, and then execs the program with argv[0] and the
 * environment exactly as Bun.spawn gave them. Nothing goes on a command line that the program's
 * own did not hold already, and nothing passes through a shell. The program's first instruction,
 * and its exec's stack, are in the children's cgroup.
 *
 * The file is written once, with the reserve, into a private dir of execd's temp dir, and run
 * once there as a probe: where it cannot run (a noexec temp dir, another architecture) nothing
 * is gated and execd's move after the spawn is the only one, as before. Where there is no
 * reserve, spawnOwned's path is exactly as without this file.
 */
import { chmodSync, closeSync, constants, fstatSync, openSync, readSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Logger } from './log'
import { OwnedTempDir } from './temp-dir'

/** The gates' machine code, from core/reserve-gate/build.sh. */
export const CODE: Partial<Record<string, { machine: number; text: string }>> = {
  x64: {
    machine: 62,
    text: 'TIskJEmD/ARyZUiLdCQQMf8PtgaD6DCD+Al3Cmv/CgHHSP/G6+uJ+4nfSI10JPi6AQAAADHADwVIg/j8dOqJ37gDAAAADwVIi3wkGEiNdCQgSo1U5BC4OwAAAA8Fv38AAABIg/j+dAm/fgAAAOsCMf+45wAAAA8F',
  },
  arm64: {
    machine: 183,
    text: '8wNA+X8SAPHjAwBU4QtA+RQAgNIiFEA4QsAAUV8kAHGIAABUQwGA0pQKA5v6//8X4AMUquFDANEiAIDS6AeA0gEAANQfEACxQP//VOADFKooB4DSAQAA1OAPQPnhgwCR4kMAkUIME4uoG4DSAQAA1OEPgNIfCACxgAAAVMEPgNICAAAUAQCA0uADAarIC4DSAQAA1A==',
  },
}

const BASE = 0x400000
const HEADERS = 64 + 56

/** A static ELF64 executable of one read-and-execute segment: its headers, then `text`, its entry. */
export function gateElf(machine: number, text: Uint8Array): Uint8Array {
  const b = Buffer.alloc(HEADERS + text.length)
  b.write('\x7fELF', 0, 'latin1')
  b.set([2, 1, 1], 4) // 64-bit, little-endian, version 1
  b.writeUInt16LE(2, 16) // ET_EXEC
  b.writeUInt16LE(machine, 18)
  b.writeUInt32LE(1, 20)
  b.writeBigUInt64LE(BigInt(BASE + HEADERS), 24) // entry
  b.writeBigUInt64LE(64n, 32) // program headers right after this one
  b.writeUInt16LE(64, 52)
  b.writeUInt16LE(56, 54)
  b.writeUInt16LE(1, 56)
  b.writeUInt32LE(1, 64) // PT_LOAD
  b.writeUInt32LE(5, 68) // read, execute
  b.writeBigUInt64LE(BigInt(BASE), 80)
  b.writeBigUInt64LE(BigInt(BASE), 88)
  b.writeBigUInt64LE(BigInt(b.length), 96)
  b.writeBigUInt64LE(BigInt(b.length), 104)
  b.writeBigUInt64LE(0x1000n, 112)
  b.set(text, HEADERS)
  return b
}

/** The gate's file, and whether every user can run it (a child spawned with a uid). */
let gate: { dir: OwnedTempDir; path: string; everyone: boolean; machine: number } | undefined

/** Writes and probes the gate (with the reserve, once); nothing where it cannot run here. */
export function openGate(log?: Logger): void {
  const code = CODE[process.arch]
  if (gate || !code) return
  const dir = new OwnedTempDir('execd-gate', undefined, { removeAtExit: true })
  try {
    const path = writeGate(dir, code)
    const probe = Bun.spawnSync([path], { stdio: ['ignore', 'ignore', 'ignore'] })
    if (probe.exitCode !== 0) throw new Error(`the probe ended ${probe.signalCode ?? `with ${probe.exitCode}`}`)
    gate = { dir, path, everyone: everyoneReaches(path), machine: code.machine }
  } catch (err) {
    dir.close()
    log?.info("no gate for execd's children: each runs in execd's memory cgroup until execd moves it", {
      reason: (err as Error).message,
    })
  }
}

function writeGate(dir: OwnedTempDir, code: { machine: number; text: string }): string {
  const at = dir.ensure()
  // Others may run it, for a child spawned with another uid; the dir is root's, made private.
  chmodSync(at, 0o755)
  const path = join(at, 'enter')
  writeFileSync(path, gateElf(code.machine, Buffer.from(code.text, 'base64')), { mode: 0o555 })
  return path
}

/** Whether a user other than execd's can reach and run `path`: every dir above it searchable by others. */
function everyoneReaches(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return false
    if (p === dirname(p)) return true
  }
}

/** Removes the gate's dir (at exit; with the reserve). */
export function closeGate(): void {
  gate?.dir.close()
  gate = undefined
}

/**
 * `argv` behind the gate, its socket at `fd` in the child; undefined where nothing is gated: no
 * gate (no reserve), no program on the child's PATH (Bun.spawn's own ENOENT or EACCES says so),
 * or a child of another uid that could not run the gate or execd's own executable.
 */
export function gatedArgv(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string | undefined,
  fd: number,
  uid: number | undefined,
): string[] | undefined {
  if (!gate) return undefined
  const [first] = argv
  if (first === undefined) return undefined
  const other = uid !== undefined && uid !== process.getuid?.()
  if (other && !gate.everyone) return undefined
  // /proc/self/exe (core/self-exec.ts) would be the gate's own link: execd's, by its pid. Another
  // uid may not follow that link.
  const self = first.startsWith('/proc/self/')
  if (self && other) return undefined
  const file = self
    ? `/proc/${process.pid}/${first.slice('/proc/self/'.length)}`
    : Bun.which(first, { PATH: env.PATH ?? process.env.PATH ?? '', cwd })
  if (!file || !runsHere(file, gate.machine)) return undefined
  return [gate.path, String(fd), file, ...argv]
}

const { O_RDONLY, O_NONBLOCK, O_NOCTTY } = constants

/** The first bytes of a file the kernel reads to choose how to run it (BINPRM_BUF_SIZE). */
const HEAD_BYTES = 256

/**
 * Whether the kernel would run `file` here, as far as its first bytes say: an ELF of this
 * machine, or a `#!` line whose interpreter is one (at most 4 deep, as the kernel follows them).
 * A program that fails at exec (ENOEXEC: foreign ELF, no format) must fail the spawn, as it
 * does ungated (the reference's `fork/exec …: exec format error`); behind the gate it was the
 * gate's exit 126. What this cannot see (a binfmt_misc format, an unreadable file) is gated as
 * before, or goes ungated and runs all the same.
 */
function runsHere(file: string, machine: number, depth = 0): boolean {
  const head = Buffer.alloc(HEAD_BYTES)
  let n: number
  try {
    // Not blocking: a `#!` line may name a FIFO (a request's PATH reaches any script), and a plain
    // open of one waited for a writer on execd's only thread. Only a regular file is run.
    const fd = openSync(file, O_RDONLY | O_NONBLOCK | O_NOCTTY)
    try {
      if (!fstatSync(fd).isFile()) return false
      n = readSync(fd, head, 0, HEAD_BYTES, 0)
    } finally {
      closeSync(fd)
    }
  } catch {
    return depth === 0 // unreadable: the gate tries it; an interpreter the kernel cannot open fails
  }
  if (n >= 20 && head.readUInt32BE(0) === 0x7f454c46)
    return head[4] === 2 && head[5] === 1 && head.readUInt16LE(18) === machine
  if (n < 3 || head[0] !== 0x23 || head[1] !== 0x21 || depth >= 4) return false
  const line = head.toString('latin1', 2, n).split('\n')[0]!.trimStart()
  const interpreter = line.split(/[ \t]/)[0]!
  return interpreter.startsWith('/') && runsHere(interpreter, machine, depth + 1)
}

/**
 * After a gated spawn that failed: the gate's file may be gone (a command's `rm -rf $TMPDIR/…`).
 * Written again once, for the next spawn; this one goes ungated.
 */
export function gateFailed(): void {
  const code = CODE[process.arch]
  if (!gate || !code) return
  try {
    gate.path = writeGate(gate.dir, code)
  } catch {
    closeGate()
  }
}
