/**
 * A child of a code context that sheds every mark of its owner: a new session, an empty
 * environment (the marker net's blind spot) and, as root, a move out of its cgroup leaf. It
 * still dies with its context (found by descent while its parent runs) and, once orphaned, is
 * re-parented to execd (its subreaper), killed at shutdown and reaped, never left to init.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { postJson, readSse, startDaemon, waitFor, type Daemon } from './harness'

const havePython = Bun.which('python3') !== null

/** A number no other test uses: each escapee sleeps a distinct number of seconds with it. */
const tag = () => `8${Math.floor(Math.random() * 1e6)}`

interface Proc {
  pid: number
  ppid: number
  state: string
}

/** Processes whose command line holds an argument starting with `t`, zombies included. */
function tagged(t: string): Proc[] {
  const out: Proc[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (
        !readFileSync(`/proc/${name}/cmdline`, 'latin1')
          .split('\0')
          .some(a => a.startsWith(t))
      )
        continue
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.push({ pid: +name, ppid: Number(ppid), state: state ?? '' })
    } catch {}
  }
  return out
}
const live = (t: string) => tagged(t).filter(p => p.state !== 'Z')

/** Runs `code` in a fresh context of `language`; returns the context id. */
async function runIn(d: Daemon, language: string, code: string): Promise<string> {
  const { id } = await (await postJson(d, '/code/context', { language })).json()
  const frames = await readSse(await postJson(d, '/code', { code, context: { id } }))
  expect(frames.at(-1)?.data.type).toBe('execution_complete')
  return id
}

/** Cells whose child leaves its session and clears its environment; its parent stays. */
const SHEDDERS = (t: string): Record<string, string> => ({
  python: `import subprocess; subprocess.Popen(['sleep', '${t}'], start_new_session=True, env={})`,
  javascript: `require('child_process').spawn('sleep', ['${t}'], { detached: true, env: {}, stdio: 'ignore' }).unref()`,
})

describe.skipIf(!havePython)('a context child with a new session and an empty environment (--cgroups off)', () => {
  for (const [language, code] of Object.entries(SHEDDERS('T'))) {
    test(`${language}: DELETE of its context kills it, and leaves no zombie`, async () => {
      const t = tag()
      const d = await startDaemon({ args: ['--cgroups', 'off'] })
      try {
        const id = await runIn(d, language, code.replace('T', t))
        await waitFor('the escapee', () => live(t).length === 1, 5000)
        expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
        await waitFor('the escapee gone and reaped', () => tagged(t).length === 0, 5000)
      } finally {
        await d.stop()
        for (const p of live(t)) process.kill(p.pid, 'SIGKILL')
      }
    })
  }
})

describe('a context child orphaned with no mark of its owner (setsid forks, env -i)', () => {
  for (const cgroups of ['auto', 'off']) {
    test(`--cgroups ${cgroups}: it is re-parented to execd, and shutdown kills and reaps it`, async () => {
      const t = tag()
      const d = await startDaemon({ args: ['--cgroups', cgroups] })
      try {
        await orphanIn(d, t)
        expect(await d.stop()).toBe(0)
        expect(tagged(t)).toEqual([])
      } finally {
        await d.stop()
        for (const p of live(t)) process.kill(p.pid, 'SIGKILL')
      }
    })
  }
})

/** Starts the escapee in a bash context of `d`; returns once execd is its parent. */
async function orphanIn(d: Daemon, t: string): Promise<void> {
  // Job control makes the background job a group leader, so setsid forks and its
  // parent exits at once: the sleeper is orphaned before anything looks at it. As root
  // with cgroup v2 writable it also writes itself out of its leaf into the root cgroup.
  const leave = `for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do echo $BASHPID > $f; done 2>/dev/null`
  await runIn(d, 'bash', `set -m; ( ${leave}; exec setsid env -i sleep ${t} ) >/dev/null 2>&1 &`)
  // Its parent, the setsid that forked it, exits at once: execd is its parent then.
  await waitFor('the escapee re-parented to execd', () => live(t)[0]?.ppid === d.proc.pid, 5000)
}
