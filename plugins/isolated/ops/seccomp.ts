/**
 * The seccomp filter every session runs under (bwrap's `--seccomp`): no setuid or setgid bit
 * can be given to a file from inside. A session's shell is uid 0 unless it names a uid; its
 * capabilities are dropped, but an owner may always chmod its own file 4755, so a session could
 * leave a setuid-root program in a workspace that is the host's own directory (rw, a bind,
 * extra_writable), and any unprivileged process of the host that ran it had euid 0. The calls
 * that set a mode (chmod family, open/creat/mknod with a mode) fail with EPERM when the mode has
 * S_ISUID or S_ISGID; calls whose mode the filter cannot read (openat2's struct, io_uring's
 * queued opens) are ENOSYS, as on a kernel without them (libc and runtimes fall back). Other
 * ABIs of the machine (i386 or x32 on x86_64, arm32 on arm64) number their calls apart and are
 * refused too. A cBPF program, as bwrap takes it: 8-byte `struct sock_filter`s.
 */

/** Opens the filter file as fd 9 for bwrap's `--seccomp 9` and becomes the rest of the command line (the same pid). */
export const WITH_FD_9 = ['sh', '-c', 'exec 9<"$1" || exit 126; shift; exec "$@"', 'sh']

/** Per architecture: its AUDIT_ARCH and the calls that take a mode, with the mode's argument. */
interface Table {
  audit: number
  modeArg: Record<number, number>
  /** Calls whose mode is out of the filter's reach. */
  unsupported: number[]
  /** x86_64: numbers at or above this are x32's. */
  x32?: number
}

const TABLES: Partial<Record<NodeJS.Architecture, Table>> = {
  x64: {
    audit: 0xc000003e,
    // chmod, fchmod, fchmodat, fchmodat2, open, creat, openat, mknod, mknodat
    modeArg: { 90: 1, 91: 1, 268: 2, 452: 2, 2: 2, 85: 1, 257: 3, 133: 1, 259: 2 },
    // openat2, io_uring_setup
    unsupported: [437, 425],
    x32: 0x40000000,
  },
  arm64: {
    audit: 0xc00000b7,
    // fchmod, fchmodat, fchmodat2, openat, mknodat
    modeArg: { 52: 1, 53: 2, 452: 2, 56: 3, 33: 2 },
    unsupported: [437, 425],
  },
}

const LD_ABS = 0x20 // BPF_LD | BPF_W | BPF_ABS
const JEQ = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
const JGE = 0x35 // BPF_JMP | BPF_JGE | BPF_K
const JSET = 0x45 // BPF_JMP | BPF_JSET | BPF_K
const RET = 0x06 // BPF_RET | BPF_K
const ALLOW = 0x7fff0000
const ERRNO = 0x00050000
const EPERM = 1
const ENOSYS = 38
const SET_ID_BITS = 0o6000
/** Offsets in struct seccomp_data: nr, arch, then args[6] as u64 (the low half first on these little-endian machines). */
const NR = 0
const ARCH = 4
const arg = (i: number) => 16 + 8 * i

type Op = { code: number; k: number; jt?: string; jf?: string; label?: string }

/** The filter for `arch` (this machine's by default); undefined where no table is kept. */
export function noSetIdFilter(arch: NodeJS.Architecture = process.arch): Buffer | undefined {
  const t = TABLES[arch]
  if (!t) return undefined
  const ops: Op[] = [
    { code: LD_ABS, k: ARCH },
    { code: JEQ, k: t.audit, jf: 'nosys' },
    { code: LD_ABS, k: NR },
  ]
  if (t.x32 !== undefined) ops.push({ code: JGE, k: t.x32, jt: 'nosys' })
  for (const nr of t.unsupported) ops.push({ code: JEQ, k: nr, jt: 'nosys' })
  const byArg = new Map<number, number[]>()
  for (const [nr, i] of Object.entries(t.modeArg)) byArg.set(i, [...(byArg.get(i) ?? []), Number(nr)])
  for (const [i, nrs] of byArg) for (const nr of nrs) ops.push({ code: JEQ, k: nr, jt: `arg${i}` })
  ops.push({ code: RET, k: ALLOW })
  for (const i of byArg.keys()) {
    ops.push({ code: LD_ABS, k: arg(i), label: `arg${i}` })
    ops.push({ code: JSET, k: SET_ID_BITS, jt: 'eperm' })
    ops.push({ code: RET, k: ALLOW })
  }
  ops.push({ code: RET, k: ERRNO | EPERM, label: 'eperm' })
  ops.push({ code: RET, k: ERRNO | ENOSYS, label: 'nosys' })
  return assemble(ops)
}

/** Jump labels resolved to the offsets cBPF counts from the next instruction. */
function assemble(ops: Op[]): Buffer {
  const at = new Map(ops.flatMap((op, i) => (op.label ? [[op.label, i] as const] : [])))
  const out = Buffer.alloc(ops.length * 8)
  ops.forEach((op, i) => {
    const jump = (label: string | undefined) => {
      if (!label) return 0
      const off = at.get(label)! - i - 1
      if (off < 0 || off > 255) throw new Error(`seccomp filter: jump to ${label} out of reach`)
      return off
    }
    out.writeUInt16LE(op.code, i * 8)
    out.writeUInt8(jump(op.jt), i * 8 + 2)
    out.writeUInt8(jump(op.jf), i * 8 + 3)
    out.writeUInt32LE(op.k >>> 0, i * 8 + 4)
  })
  return out
}
