/**
 * Row 10d/10e's work and its baseline: 3,000 files made by a shell builtin loop, timed inside
 * the shell (`$EPOCHREALTIME` around the loop, so the HTTP round trip and the sandbox's start
 * are not in it), in an isolated session and in plain bubblewrap started by hand with the same
 * command line execd builds (`sandboxArgv`: the same namespaces, seccomp filter, tmpfs sizes,
 * setpriv and, for overlay, the same overlay mount), its script given on stdin.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sandboxArgv, type WorkspaceMode } from '../../plugins/isolated/ops/sandbox'
import { noSetIdFilter } from '../../plugins/isolated/ops/seccomp'

export const FILES = 3000

/** The script: a fresh dir under `ws`, the loop timed from inside; prints `<start> <end>` in s. */
export const filesScript = (ws: string) =>
  `cd ${ws} && rm -rf w && mkdir w && cd w && s=$EPOCHREALTIME; ` +
  `for i in $(seq ${FILES}); do : > f$i; done; e=$EPOCHREALTIME; echo "$s $e"`

/** The loop's ms from the script's last line of output. */
export function loopMs(stdout: string): number {
  const [s, e] = stdout.trim().split('\n').at(-1)!.split(' ').map(Number)
  const ms = (e! - s!) * 1000
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`the files loop printed ${JSON.stringify(stdout.slice(-200))}`)
  return ms
}

/** Plain bubblewrap around the same script, as execd would start a strict session of `mode`. */
export function plainBwrap(mode: WorkspaceMode, tmpfsBytes = 256 * 1024 * 1024) {
  const bwrap = Bun.which('bwrap')
  if (!bwrap) return undefined
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-bench-bwrap-')))
  const workspace = join(dir, 'ws')
  const codeDir = join(dir, 'code')
  const overlayDir = join(dir, 'ovl')
  for (const d of [workspace, codeDir, join(overlayDir, 'upper'), join(overlayDir, 'work')])
    mkdirSync(d, { recursive: true })
  const filter = noSetIdFilter()
  const seccompFile = filter ? join(dir, 'seccomp.bpf') : undefined
  if (seccompFile) writeFileSync(seccompFile, filter!)
  const argv = sandboxArgv({
    bwrap,
    setpriv: Bun.which('setpriv') ?? undefined,
    profile: 'strict',
    workspace,
    mode,
    extraWritable: [],
    binds: [],
    shareNet: false,
    uidMode: 'setpriv',
    codeDir,
    overlayDir: mode === 'overlay' ? overlayDir : undefined,
    seccompFile,
    tempRoot: realpathSync(tmpdir()),
    tmpfsBytes,
  })
  return {
    argv,
    async once(): Promise<number> {
      const p = Bun.spawn(argv, { stdin: Buffer.from(filesScript(workspace)), stdout: 'pipe', stderr: 'pipe' })
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ])
      if (code !== 0) throw new Error(`plain bwrap (${mode}) exited ${code}: ${err.slice(-300)}`)
      return loopMs(out)
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
