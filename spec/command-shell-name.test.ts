/**
 * A command's shell is started by its path with `$0` set to its bare name: `$0` is `bash` (as the
 * reference's `exec.Command("bash", …)` gives) and `$BASH` the shell that runs the command. Started
 * by the bare name as argv[0], bash looked for itself on the command's PATH to set `$BASH`: a stat
 * per PATH entry in every command's shell before its first line, and a `bash` earlier on that PATH
 * named as the running shell though it never ran.
 */
import { expect, test } from 'bun:test'
import { chmodSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('shell', tmp => {
  // Never run: a shell that ran it would print this and fail.
  writeFileSync(join(tmp, 'bash'), '#!/bin/sh\necho decoy ran\nexit 9\n')
  chmodSync(join(tmp, 'bash'), 0o755)
  return []
})

const stdoutOf = async (body: Record<string, unknown>) => {
  const res = await postJson(fx.d, '/command', body)
  expect(res.status).toBe(200)
  const frames = await readSse(res)
  expect(frames.at(-1)?.data.type).toBe('execution_complete')
  return frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)
}

test('$0 is bash and $BASH the shell that runs, whatever bash is first on the command PATH', async () => {
  const real = realpathSync(Bun.which('bash')!)
  const path = `${fx.tmp}:${process.env.PATH}`
  const [zero, bash, args] = await stdoutOf({ command: 'echo "$0"; echo "$BASH"; echo "$#"', envs: { PATH: path } })
  expect(zero).toBe('bash')
  expect(realpathSync(bash!)).toBe(real)
  // No positional parameters: the name is $0, not $1.
  expect(args).toBe('0')
})

test('with no bash on the command PATH at all, $0 is still bash and $BASH the running shell', async () => {
  const [zero, bash] = await stdoutOf({ command: 'echo "$0"; echo "$BASH"', envs: { PATH: '/nonexistent' } })
  expect(zero).toBe('bash')
  expect(realpathSync(bash!)).toBe(realpathSync(Bun.which('bash')!))
})
