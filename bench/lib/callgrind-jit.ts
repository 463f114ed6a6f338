/**
 * Names a callgrind dump's costs in JIT code. callgrind sees JavaScriptCore's compiled code as
 * nameless addresses of an unknown object; the daemon, run with `BUN_JSC_useJITDump=1` and
 * `BUN_JSC_jitDumpDirectory`, writes a perf jitdump file that names each piece of code it makes
 * (`JSC-DFG: flatJson#…`, `JSC-Baseline: …`, `JSC-InlineCache: …`). A dump made with
 * `--dump-instr=yes` gives each instruction's own cost, so the two together give each compiled
 * function's own (self, not inclusive) cost: what a warm cell's instructions are spent in.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface JitCode {
  start: number
  end: number
  name: string
  /** Order of loading: a later piece of code at the same address replaced the earlier one. */
  order: number
}

/** The code loads of a perf jitdump file (record 0, JIT_CODE_LOAD); other records skipped. */
export function readJitDump(path: string): JitCode[] {
  const buf = readFileSync(path)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const out: JitCode[] = []
  let off = view.getUint32(8, true) // the header's own size
  while (off + 16 <= buf.length) {
    const id = view.getUint32(off, true)
    const total = view.getUint32(off + 4, true)
    if (total === 0 || off + total > buf.length) break
    if (id === 0) {
      const start = Number(view.getBigUint64(off + 32, true)) // code_addr
      const size = Number(view.getBigUint64(off + 40, true))
      const nameAt = off + 56
      const nameEnd = buf.indexOf(0, nameAt)
      out.push({ start, end: start + size, name: buf.toString('utf8', nameAt, nameEnd), order: out.length })
    }
    off += total
  }
  return out
}

/** Finds the newest code covering an address. */
class CodeMap {
  private readonly byStart: JitCode[]
  private readonly maxSize: number
  constructor(codes: JitCode[]) {
    this.byStart = [...codes].sort((a, b) => a.start - b.start)
    this.maxSize = Math.max(0, ...codes.map(c => c.end - c.start))
  }
  find(addr: number): JitCode | undefined {
    const a = this.byStart
    let lo = 0
    let hi = a.length - 1
    let last = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (a[mid]!.start <= addr) {
        last = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    let best: JitCode | undefined
    for (let i = last; i >= 0 && a[i]!.start > addr - this.maxSize; i--) {
      const c = a[i]!
      if (addr < c.end && (!best || c.order > best.order)) best = c
    }
    return best
  }
}

/**
 * Libc's copies and fills: who calls them is what they cost for (a buffer zeroed per request).
 * And its clocks (valgrind hides the vDSO, so every clock read is a call into libc): their
 * number per request is every `Date.now()`, `performance.now()` and timer's read of the time,
 * JavaScript's and Bun's own, which no JavaScript name covers.
 */
const TRACED_CALLEES = /^(__mem(set|cpy|move)|(__)?clock_gettime|(__)?gettimeofday)/

/** Key prefix of the runtime's work called from a compiled function (inclusive of what it calls). */
export const NATIVE_FROM = 'native, called from '

/**
 * Self cost per name in one thread's dump file, names defined anywhere in `nameFiles`; and the
 * inclusive cost of calls to libc's memset/memcpy per calling name (keys `caller → callee`).
 */
export function selfCosts(file: string, nameFiles: string[], codes: JitCode[]): Map<string, number> {
  // Compressed names ("(12) name" once, "(12)" after) are shared by the threads' files of a dump.
  const names = new Map<string, string>()
  const def = /^c?(ob|fn|fl|fi|fe)=\((\d+)\) (.*)$/
  for (const f of nameFiles) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = def.exec(line)
      if (m) names.set(`${m[1] === 'fn' ? 'fn' : m[1] === 'ob' ? 'ob' : 'fl'}${m[2]}`, m[3]!)
    }
  }
  const nameOf = (kind: string, v: string) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(v)
    return m ? (m[2] ?? names.get(`${kind}${m[1]}`) ?? v) : v
  }
  const map = new CodeMap(codes)
  const costs = new Map<string, number>()
  let ob = ''
  let fn = ''
  let pos = 0
  let afterCall = false
  let calls = 0
  let callee = ''
  /** The callee's object, when the call names one (else the caller's). */
  let calleeOb: string | undefined
  const keyAt = (at: number): string => {
    if (ob === '???' || ob === '') return map.find(at)?.name ?? 'JIT code not in the jitdump'
    if (/^0x[0-9a-f]+$/.test(fn)) return `${ob.slice(ob.lastIndexOf('/') + 1)} (no symbol)`
    return `${fn} (${ob.slice(ob.lastIndexOf('/') + 1)})`
  }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const c = line.charCodeAt(0)
    if (line.startsWith('ob=')) ob = nameOf('ob', line.slice(3))
    else if (line.startsWith('fn=')) fn = nameOf('fn', line.slice(3))
    else if (line.startsWith('cob=')) calleeOb = nameOf('ob', line.slice(4))
    else if (line.startsWith('cfn=')) callee = nameOf('fn', line.slice(4))
    else if (line.startsWith('calls=')) {
      afterCall = true
      calls = Number(line.slice(6).split(' ')[0])
    } else if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      const parts = line.split(' ')
      const p = parts[0]!
      if (p === '*') {
        /* same position */
      } else if (p.startsWith('+')) pos += Number(p.slice(1))
      else if (p.startsWith('-')) pos -= Number(p.slice(1))
      else pos = Number(p)
      const cost = Number(parts[parts.length - 1])
      if (afterCall) {
        afterCall = false // a call's inclusive cost, not this code's own
        const into = calleeOb ?? ob
        calleeOb = undefined
        if (TRACED_CALLEES.test(callee)) {
          const key = `${keyAt(pos)} → ${callee}`
          costs.set(key, (costs.get(key) ?? 0) + cost)
          costs.set(`${key} (calls)`, (costs.get(`${key} (calls)`) ?? 0) + calls)
        } else if ((ob === '???' || ob === '') && into !== '???' && into !== '') {
          // Compiled JavaScript calling into the runtime: what the native work is asked for by.
          const key = `${NATIVE_FROM}${keyAt(pos)}`
          costs.set(key, (costs.get(key) ?? 0) + cost)
        }
        continue
      }
      const key = keyAt(pos)
      costs.set(key, (costs.get(key) ?? 0) + cost)
    }
  }
  return costs
}

/** The `top` biggest self costs of `pid`'s newest dump's main thread, per request. */
export function profileLines(dir: string, jitDir: string, pid: number, requests: number, top = 40): string[] {
  const files = readdirSync(dir).filter(f => f.startsWith(`cg.${pid}.`))
  const part = Math.max(...files.map(f => Number(f.slice(`cg.${pid}.`.length).split('-')[0])))
  const dump = files.find(f => f.startsWith(`cg.${pid}.${part}-`) && f.endsWith('-01'))
  // JavaScriptCore names the file jit-<n>-<pid>.dump.
  const jit = readdirSync(jitDir).find(f => f.startsWith('jit-') && f.endsWith(`-${pid}.dump`))
  if (!dump || !jit) return [`no dump or jitdump for ${pid}`]
  const costs = selfCosts(
    join(dir, dump),
    files.map(f => join(dir, f)),
    readJitDump(join(jitDir, jit)),
  )
  let total = 0
  for (const [k, v] of costs) if (!k.includes(' → ') && !k.startsWith(NATIVE_FROM)) total += v
  const per = (v: number) => String(Math.round(v / requests)).padStart(7)
  const counts = [...costs].filter(([k]) => k.endsWith(' (calls)'))
  const lines = [...costs]
    .filter(([k]) => !k.endsWith(' (calls)') && !k.startsWith(NATIVE_FROM))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${per(v)} ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
  // Calls from compiled JavaScript into the runtime, inclusive (nested calls count in each).
  lines.push(
    ...[...costs]
      .filter(([k]) => k.startsWith(NATIVE_FROM))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${per(v)}  ${k}`),
  )
  // The clock's reads, each caller's, however small (a count, not a cost: below the top lines).
  const clocks = counts.filter(([k]) => /clock_gettime|gettimeofday/.test(k))
  let reads = 0
  for (const [k, n] of clocks) {
    reads += n
    lines.push(
      `clock reads ${(n / requests).toFixed(2).padStart(6)} per request, ${per(costs.get(k.slice(0, -8)) ?? 0).trim()} instructions: ${k.slice(0, -8)}`,
    )
  }
  lines.push(`clock reads in all: ${(reads / requests).toFixed(2)} per request`)
  return lines
}
