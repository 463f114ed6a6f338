/**
 * The shell's process and what reads its output: stdout and stderr into real pipes where they
 * can be had (core/output-pipes.ts), as a command's — cheaper for what the runs write than Bun's
 * socketpair, and read more cheaply too; the stdout pipe is raised to 1 MiB for each run, not for
 * the shell's life (LiveBash.run()).
 */
import type { FileSink, Subprocess } from 'bun'
import { OutputPipes } from '../output-pipes'
import { spawnOwned, type OwnedProcess } from '../process'
import { OutputMux } from './output'

export interface SpawnedShell {
  proc: OwnedProcess
  pipes: OutputPipes | null
  stdin: FileSink
  output: OutputMux
}

/** Starts `argv` with its stdin a pipe; a failed spawn (EMFILE, EAGAIN) closes every pipe made for it. */
export function spawnShell(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> },
): SpawnedShell {
  const pipes = OutputPipes.make(false)
  let proc: OwnedProcess
  try {
    proc = spawnOwned(argv, {
      cwd: opts.cwd,
      env: opts.env,
      stdin: 'pipe',
      stdout: pipes?.stdout ?? 'pipe',
      stderr: pipes?.stderr ?? 'pipe',
    })
  } catch (err) {
    pipes?.close()
    throw err
  }
  pipes?.spawned()
  const child = proc.proc as Subprocess<'pipe', 'pipe', 'pipe'>
  const output = new OutputMux(
    {
      stdout: (pipes?.stream('stdout') ?? child.stdout).getReader(),
      stderr: (pipes?.stream('stderr') ?? child.stderr).getReader(),
    },
    proc.exited,
    s => pipes?.done(s),
  )
  return { proc, pipes, stdin: child.stdin, output }
}
