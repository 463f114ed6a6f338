/**
 * A container that lacks what execd needs: no bash, no shell at all, no /dev/null, no devpts.
 * Each is named once at start (one warning line) and by every request that needs it (501
 * NOT_SUPPORTED), never a 404 for a file nobody asked about or a terminal that fails on
 * connect; `GET /capabilities` and `execd doctor` list what works here (doctor: isolation too).
 */
import { describe, expect, test } from 'bun:test'
import { BIN, postJson, runCli, startDaemon, waitFor, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { documentedStatuses } from './kit/documented'
import { buildRootfs, canBuildRootfs, serveInRootfs } from './release-rootfs'

// An empty PATH: neither bash nor sh is found, as in a distroless image.
const NO_SHELL = { PATH: '/nonexistent' }

describe('without bash or any shell on PATH', () => {
  const fx = daemonAlone(() => ({ env: { ...NO_SHELL, EXECD_PYTHON_SPARE: '0' } }))

  test('the start names what is missing and what it disables, in one warning line', async () => {
    // Its stderr is read as it arrives. The warning comes just after the listening line (what it
    // probes would delay the first /ping), before any child is spawned.
    await waitFor('the start warning', () => fx.d.logs().includes('this container lacks'))
    const lines = fx.d.logs().split('\n')
    const warnings = lines.filter(l => l.includes('this container lacks'))
    expect(warnings.length).toBe(1)
    expect(lines.findIndex(l => l.includes('execd listening'))).toBeGreaterThanOrEqual(0)
    expect(lines.findIndex(l => l.includes('execd listening'))).toBeLessThan(lines.indexOf(warnings[0]!))
    expect(warnings[0]).toContain('bash (disables sessions, the bash language and terminals)')
    expect(warnings[0]).toContain('shell (disables commands')
  })

  test('POST /session is 501 NOT_SUPPORTED naming bash, not 404 FILE_NOT_FOUND', async () => {
    const res = await postJson(fx.d, '/session', {})
    expect(res.status).toBe(501)
    const body = await res.json()
    expect(body.code).toBe('NOT_SUPPORTED')
    expect(body.message).toContain('bash is not installed')
    expect(await documentedStatuses(fx.d, 'POST', '/session')).toContain('501')
  })

  test('POST /pty is 501 at create, not 201 then a failed connect', async () => {
    const res = await postJson(fx.d, '/pty', {})
    expect(res.status).toBe(501)
    expect((await res.json()).message).toContain('cannot start a terminal: bash is not installed')
    expect(await documentedStatuses(fx.d, 'POST', '/pty')).toContain('501')
  })

  test('POST /command is 501 naming the missing shell, before any stream starts', async () => {
    const res = await postJson(fx.d, '/command', { command: 'echo hi' })
    expect(res.status).toBe(501)
    expect(await res.json()).toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('no shell') })
    expect(await documentedStatuses(fx.d, 'POST', '/command')).toContain('501')
  })

  test('GET /capabilities lists each piece; GET /code/languages has bash unavailable', async () => {
    const caps: { name: string; ok: boolean }[] = await (await fx.d.fetch('/capabilities')).json()
    expect(Object.fromEntries(caps.map(c => [c.name, c.ok]))).toMatchObject({
      '/proc': true,
      '/dev/null': true,
      bash: false,
      shell: false,
    })
    const languages: { language: string; available: boolean }[] = await (await fx.d.fetch('/code/languages')).json()
    expect(languages.find(l => l.language === 'bash')?.available).toBe(false)
    expect(languages.find(l => l.language === 'javascript')?.available).toBe(true)
  })

  test('execd doctor says the same, and exits 1', async () => {
    const run = await runCli(['doctor'], { env: NO_SHELL })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/^bash +MISSING +bash is not installed/m)
    expect(run.stdout).toMatch(/^\/dev\/null +ok/m)
    const json = JSON.parse((await runCli(['doctor', '--json'], { env: NO_SHELL })).stdout)
    expect(json.capabilities.find((c: { name: string }) => c.name === 'shell').ok).toBe(false)
  })
})

test('with everything here, /capabilities is all ok and execd doctor exits 0', async () => {
  const d = await startDaemon()
  try {
    const caps: { ok: boolean }[] = await (await d.fetch('/capabilities')).json()
    expect(caps.length).toBe(6)
    expect(caps.every(c => c.ok)).toBe(true)
    await waitFor('the listening line', () => d.logs().includes('execd listening'))
    // A first command waits for the probe that would warn (it runs before any child is spawned).
    const res = await postJson(d, '/command', { command: 'true' })
    expect(res.status).toBe(200)
    await res.text()
    expect(d.logs()).not.toContain('this container lacks')
  } finally {
    await d.stop()
  }
  const doctor = await runCli(['doctor'])
  expect(doctor.code).toBe(0)
  // The build it names is --version's, target included (it said `dev` for a `make build`).
  const [, version, commit, target] = /^execd\/(\S+) \(commit (\S+)\) (\S+) /.exec(
    (await runCli(['--version'])).stdout,
  )!
  expect(doctor.stdout.split('\n')[0]).toBe(`execd ${version} (commit ${commit}, ${target})`)
  // A reader that leaves (| head -1) ends it quietly (141, or 0 when every line was written
  // before it left), never with an EPIPE stack trace.
  const piped = Bun.spawnSync(['bash', '-c', `"$0" doctor | head -1; echo "status=\${PIPESTATUS[0]}"`, BIN], {
    stderr: 'pipe',
  })
  expect(piped.stdout.toString()).toMatch(/^execd .*\nstatus=(141|0)\n$/)
  expect(piped.stderr.toString()).toBe('')
})

test('execd doctor says whether bubblewrap can make isolated sessions, and why not, without failing for it', async () => {
  // It said nothing of isolation: a container without bubblewrap learnt it from its first session's 503.
  const env = { EXECD_ISOLATED_BWRAP: '/nonexistent/bwrap' }
  const run = await runCli(['doctor'], { env })
  expect(run.code).toBe(0)
  expect(run.stdout).toMatch(
    /^isolation:\n {2}bubblewrap +missing +bubblewrap \(\/nonexistent\/bwrap\) not found at \/nonexistent\/bwrap: install the bubblewrap package or set --isolated-bwrap\n$/m,
  )
  const json = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout)
  expect(json.isolation).toMatchObject({ available: false, isolator: 'bubblewrap', diff_supported: false })
  // Where bubblewrap is here, its version, as GET /v1/isolated/capabilities names it.
  if (Bun.which('bwrap')) expect((await runCli(['doctor'])).stdout).toMatch(/^ {2}bubblewrap +available +\d+\.\d+/m)
})

test.skipIf(!canBuildRootfs)(
  'a rootfs without /dev/null or devpts: named at start and per request (root)',
  async () => {
    const fs = buildRootfs({ exe: BIN, bash: true, devNodes: false })
    try {
      const s = await serveInRootfs(fs)
      try {
        // Written just after it listens; read from its stderr pipe as it arrives.
        await waitFor('the start warning', () => s.logs().includes('this container lacks /dev/null'))
        const res = await postJson(s as Pick<Daemon, 'fetch'> as Daemon, '/command', { command: 'true' })
        expect(res.status).toBe(501)
        expect((await res.json()).message).toContain('/dev/null is missing')
        // A terminal is created (bash is here) but cannot get a pseudo-terminal: named before the upgrade.
        const { session_id } = await (await postJson(s as Pick<Daemon, 'fetch'> as Daemon, '/pty', {})).json()
        const ws = await s.fetch(`/pty/${session_id}/ws`)
        expect(ws.status).toBe(501)
        expect((await ws.json()).message).toContain('/dev/ptmx or /dev/pts (devpts) is missing')
        expect(await documentedStatuses(s, 'GET', '/pty/{id}/ws')).toContain('501')
      } finally {
        await s.stop()
      }
    } finally {
      fs.remove()
    }
  },
)
