/**
 * When execd is PID 1 in a container, orphaned grandchildren are re-parented to it and would
 * stay zombies forever: nobody else calls wait() for them. This reaps them, without stealing
 * the exit status of execd's own children (Bun waits for those): it peeks with
 * waitid(WNOWAIT) and reaps only pids Bun is not tracking.
 */
import type { Logger } from './log'

const P_ALL = 0
const WEXITED = 4
const WNOHANG = 1
const WNOWAIT = 0x01000000

export function startOrphanReaper(isOwnChild: (pid: number) => boolean, log: Logger): () => void {
  if (process.pid !== 1 || process.platform !== 'linux') return () => {}
  let lib: any
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
    lib = dlopen('libc.so.6', {
      waitid: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    })
  } catch (err) {
    log.warn('running as PID 1 but cannot load libc to reap orphans; run execd under an init', { error: err })
    return () => {}
  }
  const info = new Uint8Array(128) // siginfo_t
  const status = new Int32Array(1)
  const view = new DataView(info.buffer)
  const sweep = () => {
    for (let i = 0; i < 256; i++) {
      info.fill(0)
      if (lib.symbols.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return
      const pid = view.getInt32(16, true) // si_pid, after si_signo/si_errno/si_code + padding
      if (pid === 0 || isOwnChild(pid)) return // Bun reaps its own; look again next sweep
      lib.symbols.waitpid(pid, status, WNOHANG)
    }
  }
  const timer = setInterval(sweep, 500)
  timer.unref?.()
  log.info('running as PID 1: reaping orphaned processes')
  return () => clearInterval(timer)
}
