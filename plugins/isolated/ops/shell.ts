/** A session's shell: one live bash started inside its bubblewrap sandbox, and proven started. */
import { chownSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExecdError } from '../../../core/errors'
import { LiveBash } from '../../../core/live-bash'
import type { RemakeableDir } from '../../../core/live-bash/code-file'
import type { Params } from './params'
import { privateTempRoot, sessionEnv } from './params'
import type { Probed } from './probe'
import { sandboxArgv } from './sandbox'
import { shellOf } from './view'
import { noSetIdFilter } from './seccomp'

/** What starting a shell needs of a session: its parameters and its dir. */
export interface ShellOf {
  params: Params
  /** The session's dir in execd's private temp dir: the run file, the overlay layers. */
  dir: string
}

/** What every session's sandbox gets, whatever its parameters. */
export interface ShellSettings {
  /** Host files it must not read (sandbox.ts). */
  hidden?: string[]
  /** Bytes each of its tmpfs mounts may hold (0 or none: the kernel's default). */
  tmpfsBytes?: number
  /** execd's temp dir the session's dir is in (core/temp-dir.ts OwnedTempDir): still the one made? */
  temp?: { intact(): boolean }
}

/**
 * The session's code dir, looked at before every write into it (the run's code file, its input
 * FIFOs, the seccomp filter), all made by path. Once something removed execd's temp dir (a temp
 * cleaner, a `rm -rf /tmp/*` beside a running session), another user could make a dir of theirs
 * at its name, known from the listing: each run's code was written into it, theirs to read. Not
 * made again: the sandbox sees only the dir bound into it at its start, so the session is over.
 */
function codeDirOf(dir: string, temp: ShellSettings['temp']): RemakeableDir {
  const path = join(dir, 'bash')
  return {
    path,
    ensure() {
      if (temp && !temp.intact()) {
        throw new ExecdError(
          'RUNTIME_ERROR',
          "the isolated session's code dir was removed from execd's temp dir while it ran: create a new session",
        )
      }
      return path
    },
  }
}

/** Starts the session's shell in its sandbox. */
export function startShell(s: ShellOf, p: Probed, { hidden, tmpfsBytes, temp }: ShellSettings = {}): LiveBash {
  const code = codeDirOf(s.dir, temp)
  const codeDir = code.ensure()
  const overlayDir = s.params.workspace.mode === 'overlay' ? join(s.dir, 'ovl') : undefined
  const filter = noSetIdFilter()
  const seccompFile = filter ? join(s.dir, 'seccomp.bpf') : undefined
  if (seccompFile) writeFileSync(seccompFile, filter!, { mode: 0o600 })
  const argv = sandboxArgv({
    bwrap: p.bwrap!,
    setpriv: p.setpriv,
    profile: s.params.profile,
    workspace: s.params.workspace.path,
    mode: s.params.workspace.mode,
    extraWritable: s.params.extra_writable,
    binds: s.params.binds,
    shareNet: s.params.share_net,
    uid: s.params.uid,
    gid: s.params.gid,
    uidMode: s.params.uid_mode,
    codeDir,
    overlayDir,
    hidden,
    seccompFile,
    tempRoot: privateTempRoot(),
    tmpfsBytes,
  })
  // Who the shell runs as where setpriv drops to another user: its code dir, code files and
  // input FIFOs are made theirs.
  const owner =
    s.params.uid !== undefined && s.params.uid_mode === 'setpriv'
      ? { uid: s.params.uid, gid: s.params.gid ?? s.params.uid }
      : undefined
  // The stall check looks at bash inside the sandbox: bwrap itself never reads its input.
  const bash: LiveBash = new LiveBash({
    argv,
    env: sessionEnv(s.params),
    tmpDir: code,
    shellPid: () => shellOf(bash.pid),
    owner,
  })
  if (owner) {
    for (const f of [codeDir, ...readdirSync(codeDir).map(n => join(codeDir, n))]) {
      chownSync(f, owner.uid, owner.gid)
    }
  }
  return bash
}

/** A run that proves the sandbox started (bwrap refused a mount, a binary is missing…). */
export async function started(bash: LiveBash): Promise<void> {
  const first = bash.run(':')
  for (;;) {
    const r = await first.next()
    if (!r.done) continue
    if (r.value.kind !== 'died') return
    await bash.close()
    const words = bash.startWords
    throw new ExecdError(
      'RUNTIME_ERROR',
      `the isolated session did not start: ${r.value.reason}${words ? `: ${words}` : ''}`,
    )
  }
}
