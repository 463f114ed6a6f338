/**
 * execd owns everything a command, session or context started, even what left its process
 * group: `setsid`, a double fork, `nohup`, `Popen(start_new_session=True)`. What a finished
 * foreground command left running (`server &`) keeps running, owned: `DELETE /command?id=`
 * and shutdown kill it. Both nets are tested: cgroup v2 leaves (where writable) and the
 * environment marker (`--cgroups off`).
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, type Daemon } from './harness'

/** A tag no other test uses: each escapee sleeps a distinct number of seconds with it. */
const tag = () => `9${Math.floor(Math.random() * 1e6)}`

/** Every way a child leaves its command's process group (and all but the first its session). */
const ESCAPES = (t: string): Record<string, string> => ({
  'background job': `sleep ${t}1 &`,
  setsid: `setsid sleep ${t}2 &`,
  'double fork': `( (sleep ${t}3 &) & )`,
  nohup: `nohup sleep ${t}4 >/dev/null 2>&1 &`,
  'Popen(start_new_session=True)': `python3 -c 'import subprocess; subprocess.Popen(["sleep", "${t}5"], start_new_session=True)'`,
  'setsid and a double fork': `setsid bash -c '(sleep ${t}6 &)' &`,
})

/** Pids of running (non-zombie) processes whose command line holds `t`. */
function running(t: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue
      if (
        readFileSync(`/proc/${name}/cmdline`, 'latin1')
          .split('\0')
          .some(a => a.startsWith(`${t}`))
      )
        out.push(+name)
    } catch {}
  }
  return out
}

/** Polls until `n` tagged processes run, or the limit passes; returns the last count. */
async function until(t: string, n: number, limitMs = 5000): Promise<number> {
  const deadline = Date.now() + limitMs
  let count = running(t).length
  while (count !== n && Date.now() < deadline) {
    await Bun.sleep(25)
    count = running(t).length
  }
  return count
}

const runAll = async (d: Daemon, commands: string[]) => {
  const ids: string[] = []
  for (const command of commands) {
    const frames = await readSse(await postJson(d, '/command', { command }))
    expect(frames.at(-1)!.data.type).toBe('execution_complete')
    ids.push(frames[0]?.data.text)
  }
  return ids
}

const havePython = Bun.which('python3') !== null

for (const cgroups of ['auto', 'off']) {
  describe(`with --cgroups ${cgroups}`, () => {
    test.skipIf(!havePython)(
      'all six escape styles outlive their finished commands, owned, and none survives shutdown',
      async () => {
        const t = tag()
        const d = await startDaemon({ args: ['--cgroups', cgroups] })
        const escapes = Object.values(ESCAPES(t))
        try {
          await runAll(d, escapes)
          expect(await until(t, escapes.length)).toBe(escapes.length)
        } finally {
          const asked = Date.now()
          expect(await d.stop()).toBe(0)
          // The contract's bound on shutdown (README: exits within 5 seconds).
          expect(Date.now() - asked).toBeLessThan(5000)
        }
        expect(await until(t, 0)).toBe(0)
      },
      30_000,
    )

    test('DELETE /command?id= of a finished command kills what it left running, even outside its group', async () => {
      const t = tag()
      const d = await startDaemon({ args: ['--cgroups', cgroups] })
      try {
        const [server, other] = await runAll(d, [`sleep ${t}1 & setsid sleep ${t}2 &`, `setsid sleep ${t}3 &`])
        expect(await until(t, 3)).toBe(3)
        expect((await d.fetch(`/command?id=${server}`, { method: 'DELETE' })).status).toBe(200)
        // Only that command's: the other one's stays.
        expect(await until(t, 1)).toBe(1)
        expect((await d.fetch(`/command?id=${other}`, { method: 'DELETE' })).status).toBe(200)
        expect(await until(t, 0)).toBe(0)
      } finally {
        await d.stop()
      }
    })

    test('the commands after one killed with its cgroup leaf run: that leaf is not handed on', async () => {
      const t = tag()
      const d = await startDaemon({ args: ['--cgroups', cgroups] })
      try {
        // TERM ignored, inherited by sleep: the kill ends in SIGKILL, written to the leaf's cgroup.kill.
        const started = await readSse(
          await postJson(d, '/command', { command: `trap '' TERM; sleep ${t}1`, background: true }),
        )
        expect(await until(t, 1)).toBe(1)
        const id = started[0]?.data.text
        expect((await d.fetch(`/command?id=${id}`, { method: 'DELETE' })).status).toBe(200)
        expect(await until(t, 0)).toBe(0)
        for (let i = 0; i < 4; i++) {
          const frames = await readSse(await postJson(d, '/command', { command: `echo hi${i}` }))
          const events = frames.map(f => f.data).filter(e => e.type !== 'ping')
          expect(events.map(e => e.type)).toEqual(['init', 'stdout', 'execution_complete'])
          expect(events[1]?.text).toBe(`hi${i}`)
        }
      } finally {
        await d.stop()
      }
    })

    test('ending a session kills what its runs started, setsid included', async () => {
      const t = tag()
      const d = await startDaemon({ args: ['--cgroups', cgroups] })
      try {
        const { session_id } = await (await postJson(d, '/session', {})).json()
        await readSse(
          await postJson(d, `/session/${session_id}/run`, { command: `setsid sleep ${t}1 & sleep ${t}2 &` }),
        )
        expect(await until(t, 2)).toBe(2)
        expect((await d.fetch(`/session/${session_id}`, { method: 'DELETE' })).status).toBe(200)
        expect(await until(t, 0)).toBe(0)
      } finally {
        await d.stop()
      }
    })
  })
}

/** The cgroup v2 line of /proc/self/cgroup (`0::<path>`) of the first command in `command`. */
async function leafOf(d: Daemon, command: string): Promise<string> {
  const frames = await readSse(await postJson(d, '/command', { command: `${command}; cat /proc/self/cgroup` }))
  const text = frames
    .map(f => f.data)
    .filter(e => e.type === 'stdout')
    .map(e => e.text)
    .join('\n') // one event a line
  return text.split('\n').find(l => l.startsWith('0::')) ?? ''
}

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or …/unified beside v1's). */
function cgroup2Mount(): string {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find(l => l.split(' - ')[1]?.startsWith('cgroup2 '))
  return line?.split(' ')[4] ?? '/sys/fs/cgroup'
}

/** Leaves are execd's only where cgroup v2 is writable here: the tests below need them. */
const leavesHere = await (async () => {
  const d = await startDaemon()
  try {
    return /\/execd-\d+-[0-9a-f]+\/\d+$/.test(await leafOf(d, 'true'))
  } finally {
    await d.stop()
  }
})()

describe.skipIf(!leavesHere)('a cgroup leaf SIGKILL may have reached is not handed on', () => {
  test('the leaf of a command whose leader died of SIGKILL', async () => {
    const d = await startDaemon()
    try {
      const killed = await leafOf(d, 'cat /proc/self/cgroup; kill -9 $$')
      expect(killed).toMatch(/\/\d+$/)
      for (let i = 0; i < 3; i++) expect(await leafOf(d, 'true')).not.toBe(killed)
    } finally {
      await d.stop()
    }
  })

  test('the spare leaves, after a SIGKILL execd did not send', async () => {
    const d = await startDaemon()
    try {
      // Three at once: three leaves, kept as spares once their commands end.
      const spares = await Promise.all([0, 1, 2].map(() => leafOf(d, 'sleep 0.3')))
      expect(new Set(spares).size).toBe(3)
      await readSse(await postJson(d, '/command', { command: 'kill -9 $$' }))
      for (let i = 0; i < 3; i++) expect(spares).not.toContain(await leafOf(d, 'true'))
    } finally {
      await d.stop()
    }
  })

  test('the leaf of a command whose processes outlived its leader', async () => {
    // execd's look at lingering owners comes every 10 s: shortened (core/periods.ts), the
    // test waits for the leaf to go a second after the sleep, not up to 10.
    const d = await startDaemon({ env: { EXECD_PERIODS: 'settle:300' } })
    try {
      const outlived = await leafOf(d, 'sleep 1 & true')
      // Once the sleep has ended, that look lets the leaf go.
      const dir = join(cgroup2Mount(), outlived.slice(3))
      for (let i = 0; i < 100 && existsSync(dir); i++) await Bun.sleep(200)
      for (let i = 0; i < 3; i++) expect(await leafOf(d, 'true')).not.toBe(outlived)
    } finally {
      await d.stop()
    }
  })
})

test('a timeout kills what the command started outside its group too', async () => {
  const t = tag()
  const d = await startDaemon()
  try {
    const frames = await readSse(
      await postJson(d, '/command', { command: `setsid sleep ${t}1 & sleep 30`, timeout: 300 }),
    )
    expect(frames.at(-1)!.data.type).toBe('error')
    expect(await until(t, 0)).toBe(0)
  } finally {
    await d.stop()
  }
})
