/**
 * A command whose first output came while execd had every file descriptor taken: its log's file
 * could not be opened (EMFILE), and the log stopped for good, though the command had started and
 * the descriptors came back a moment later. The lowered limit stands for the connections that
 * take them (execd closes idle ones each second; those mid-request stay up to --body-timeout).
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { texts } from './command-stream'
import { postJson, readSse, type SseFrame } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('command-log-fds')

/** The lowest descriptor number `pid` has free: a soft limit there refuses its next open. */
function lowestFree(pid: number): number {
  const taken = new Set(readdirSync(`/proc/${pid}/fd`).map(Number))
  let n = 0
  while (taken.has(n)) n++
  return n
}

const softLimit = (pid: number, limit: string) =>
  expect(spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:`]).status).toBe(0)

describe.skipIf(!Bun.which('prlimit') || !Bun.which('mkfifo'))('a command that prints while every fd is taken', () => {
  test('keeps that output in its log once descriptors are free again', async () => {
    const { d, tmp } = fx
    const pid = d.proc.pid
    const [gate1, gate2] = [join(tmp, 'gate1'), join(tmp, 'gate2')]
    for (const g of [gate1, gate2]) expect(spawnSync('mkfifo', [g]).status).toBe(0)
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? 'unlimited'
    const res = await postJson(d, '/command', {
      command: `read a < ${gate1}; echo first; read b < ${gate2}; echo second`,
    })
    expect(res.status).toBe(200)
    let sawFirst!: () => void
    const first = new Promise<void>(r => (sawFirst = r))
    const stream = readSse(res, f => {
      if (f.data.type === 'stdout' && f.data.text === 'first') sawFirst()
      return false
    })
    try {
      softLimit(pid, String(lowestFree(pid)))
      writeFileSync(gate1, 'go\n')
      await first
    } finally {
      softLimit(pid, soft)
    }
    writeFileSync(gate2, 'go\n')
    const frames: SseFrame[] = await stream
    expect(texts(frames)).toEqual(['first', 'second'])
    expect(frames.filter(f => f.data.type === 'status')).toEqual([])
    const id = frames[0]!.data.text
    const logs = await d.fetch(`/command/${id}/logs?cursor=0`)
    expect(await logs.text()).toBe('first\nsecond\n')
    const status = await (await d.fetch(`/command/status/${id}`)).json()
    expect(status.log_truncated).toBeUndefined()
    expect(status.exit_code).toBe(0)
  }, 60_000)
})
