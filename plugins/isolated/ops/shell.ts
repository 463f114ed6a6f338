/** A session's shell: one live bash started inside its bubblewrap sandbox, and proven started. */
import { chownSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExecdError } from '../../../core/errors'
import type { HeldDir } from '../../../core/held-dir'
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
  /** The session's dir in execd's private temp dir (its name: what the sandbox shows). */
  dir: string
  /** That dir, held open: where execd makes, writes and reads in it (core/held-dir.ts). */
  home: HeldDir
}

/** What every session's sandbox gets, whatever its parameters. */
export interface ShellSettings {
  /** Host files it must not read (sandbox.ts). */
  hidden?: string[]
  /** Bytes each of its tmpfs mounts may hold (0 or none: the kernel's default). */
  tmpfsBytes?: number
}

/**
 * The session's code dir: the run's code file and input FIFOs are made and written through the
 * session's dir held open, never by its name. Once something removed execd's temp dir (a temp
 * cleaner, a `rm -rf /tmp/*` beside a running session), another user could make a dir of theirs
 * at its name, known from the listing: each run's code was written into it, theirs to read; a
 * look at the name before each write (pass 28) left the moment between. The look stays, to end
 * the run with words rather than ENOENT: the sandbox sees only the dir bound into it at its
 * start, which went with the rest, so the session is over.
 */
function codeDirOf(s: ShellOf): RemakeableDir {
  return {
    path: join(s.dir, 'bash'),
    ensure() {
      if (!s.home.intact()) {
        throw new ExecdError(
          'RUNTIME_ERROR',
          "the isolated session's code dir was removed from execd's temp dir while it ran: create a new session",
        )
      }
      return s.home.beneath('bash')
    },
  }
}

/** Starts the session's shell in its sandbox. */
export function startShell(s: ShellOf, p: Probed, { hidden, tmpfsBytes }: ShellSettings = {}): LiveBash {
  const code = codeDirOf(s)
  const heldCode = code.ensure()
  const codeDir = code.path
  const overlay = s.params.workspace.mode === 'overlay'
  const filter = noSetIdFilter()
  const seccompFile = filter ? s.home.beneath('seccomp.bpf') : undefined
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
    overlayDir: overlay ? join(s.dir, 'ovl') : undefined,
    heldAt: p.bindFd ? { code: heldCode, overlay: overlay ? s.home.beneath('ovl') : undefined } : undefined,
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
    for (const f of [heldCode, ...readdirSync(heldCode).map(n => join(heldCode, n))]) {
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
