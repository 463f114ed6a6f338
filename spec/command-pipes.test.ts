/**
 * A command's stdout and stderr are pipes (core/output-pipes.ts), as the reference's exec.Command
 * gives, not the socketpair Bun.spawn makes: writing into a socket cost the command about half as
 * much again. The pipes are execd's to close: none is left open in execd once a command's stream
 * ended, however it ended, and no command inherits another's.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readlinkSync } from 'node:fs'
import { commandFrames, lastEvent, texts } from './command-stream'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { PIPE_SIZES_COMMAND, PIPE_SIZES_WRITTEN } from './kit/pipe-raise'

const fx = daemonWithDir('command-pipes')

/** execd's open descriptors of one kind (`pipe`, `socket`), by what they point at. */
function descriptors(pid: number, kind: string): string[] {
  const seen: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const to = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (to.startsWith(`${kind}:`)) seen.push(to)
    } catch {} // closed while listed
  }
  return seen.sort()
}

describe('a command writes into pipes', () => {
  test('its stdout and stderr are pipes, and it has no other descriptor of execd', async () => {
    const frames = await commandFrames(fx.d, {
      command: 'readlink /proc/self/fd/1; readlink /proc/self/fd/2 >&2; ls /proc/self/fd | tr "\\n" " "',
    })
    expect(lastEvent(frames)?.type).toBe('execution_complete')
    const [out, listed] = texts(frames)
    expect(out).toMatch(/^pipe:\[\d+\]$/)
    expect(texts(frames, 'stderr')[0]).toMatch(/^pipe:\[\d+\]$/)
    expect(texts(frames, 'stderr')[0]).not.toBe(out)
    // 0 1 2, and ls's own directory; nothing close-on-exec of execd's (another command's pipe).
    expect(listed!.trim().split(' ')).toEqual(['0', '1', '2', '3'])
  })

  test('its stdout pipe holds the default 64 KiB until it carried as much, then 1 MiB; its stderr 64 KiB', async () => {
    // F_GETPIPE_SZ (1032). At 64 KiB execd read a flood in 64 KiB chunks, slower than Bun's
    // socketpair (row 4a); 1 MiB is what a pipe gets without privilege (pipe-max-size). A command
    // that writes less never needs it: raised before every spawn, it cost each short command a
    // system call on its way.
    const frames = await commandFrames(fx.d, { command: PIPE_SIZES_COMMAND })
    expect(lastEvent(frames)?.type).toBe('execution_complete')
    expect(texts(frames).join('').length).toBe(PIPE_SIZES_WRITTEN)
    expect(texts(frames, 'stderr')).toEqual(['65536 1048576 65536'])
  })

  test('no pipe is left open in execd after commands that end, are killed, leave a job or do not start', async () => {
    const pid = fx.d.proc.pid
    // One first: whatever execd opens once (its spawn helpers) is open before the count.
    await commandFrames(fx.d, { command: 'echo warm' })
    const before = descriptors(pid, 'pipe')
    const ends = await Promise.all([
      commandFrames(fx.d, { command: 'head -c 3000000 /dev/zero | tr "\\0" a; echo; echo err >&2' }),
      // Killed mid-flood with its pipe full and the pump paced.
      commandFrames(fx.d, { command: 'yes', timeout: 300 }),
      // A background job holding both pipes past the leader's exit: the stream ends without it.
      commandFrames(fx.d, { command: 'echo leader; sleep 5 &' }),
      commandFrames(fx.d, { command: 'exit 3' }),
    ])
    expect(ends.map(f => lastEvent(f)?.type)).toEqual(['execution_complete', 'error', 'execution_complete', 'error'])
    expect(texts(ends[0]!).join('').length).toBe(3_000_000)
    // A spawn that fails after the pipes were made: an environment past what execve takes (E2BIG).
    const envs = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`BIG${i}`, 'x'.repeat(100_000)]))
    const refused = await postJson(fx.d, '/command', { command: 'true', envs })
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain('E2BIG')
    expect(descriptors(pid, 'pipe')).toEqual(before)
  })
})
