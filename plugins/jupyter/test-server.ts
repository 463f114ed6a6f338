/**
 * For tests: a real Jupyter server (Debian's jupyter-server + python3-ipykernel) on a free
 * port with a token, isolated in a temp dir (runtime, config and data dirs, root dir), with
 * extra kernelspecs. Spawned through core/process.ts and torn down with its kernels.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type OwnedProcess, spawnOwned } from '../../core/process'
import { within } from '../../core/timers'

export const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'

/** Why a Jupyter server cannot run here, or null when it can. */
export async function jupyterMissing(): Promise<string | null> {
  try {
    const p = spawnOwned([PYTHON, '-c', 'import jupyter_server, ipykernel'], { stdout: 'ignore', stderr: 'ignore' })
    const { code } = await p.exited
    return code === 0
      ? null
      : `${PYTHON} lacks jupyter_server or ipykernel (apt install jupyter-server python3-ipykernel)`
  } catch (e) {
    return `${PYTHON} cannot run: ${(e as Error).message}`
  }
}

export interface TestJupyter {
  url: string
  token: string
  /** The server's root dir (a temp dir). */
  root: string
  /** The server process (its kernels run in sessions of their own). */
  process: OwnedProcess
  /** Ids of the kernels the server runs now. */
  kernels(): Promise<string[]>
  stop(): Promise<void>
}

/** Extra kernelspecs, all ipykernel underneath: name → language. */
type ExtraSpecs = Record<string, string>

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

export async function startJupyter(extra: ExtraSpecs = {}): Promise<TestJupyter> {
  const base = mkdtempSync(join(tmpdir(), 'execd-jupyter-'))
  const root = join(base, 'root')
  const data = join(base, 'data')
  for (const d of [root, data, join(base, 'runtime'), join(base, 'config'), join(base, 'ipython')]) {
    mkdirSync(d, { recursive: true })
  }
  // ipykernel aborts every execute_request reaching it within this long after a failed cell
  // that asked stop_on_error (its default 0 s is a race the next cell loses ~1 time in 200):
  // a second makes a bridge that asks for it fail every time.
  const profile = join(base, 'ipython', 'profile_default')
  mkdirSync(profile, { recursive: true })
  writeFileSync(join(profile, 'ipython_kernel_config.py'), 'c.Kernel.stop_on_error_timeout = 1.0\n')
  for (const [name, language] of Object.entries(extra)) {
    mkdirSync(join(data, 'kernels', name), { recursive: true })
    const spec = { argv: [PYTHON, '-m', 'ipykernel_launcher', '-f', '{connection_file}'], display_name: name, language }
    writeFileSync(join(data, 'kernels', name, 'kernel.json'), JSON.stringify(spec))
  }
  const port = await freePort()
  const token = `jt-${crypto.randomUUID()}`
  const url = `http://127.0.0.1:${port}`
  const proc: OwnedProcess = spawnOwned(
    [
      PYTHON,
      '-m',
      'jupyter_server',
      '--no-browser',
      '--allow-root',
      `--ServerApp.token=${token}`,
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.root_dir=${root}`,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        JUPYTER_RUNTIME_DIR: join(base, 'runtime'),
        JUPYTER_CONFIG_DIR: join(base, 'config'),
        JUPYTER_DATA_DIR: data,
        IPYTHONDIR: join(base, 'ipython'),
        PYDEVD_DISABLE_FILE_VALIDATION: '1',
      },
      stdout: 'ignore',
      stderr: 'pipe',
      graceMs: 10_000,
    },
  )
  let log = ''
  void (async () => {
    const decoder = new TextDecoder()
    const reader = (proc.proc.stderr as ReadableStream<Uint8Array>).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (log.length < 200_000) log += decoder.decode(value, { stream: true })
    }
  })()
  const auth = { Authorization: `token ${token}` }
  const kernels = async () => {
    const res = await fetch(`${url}/api/kernels`, { headers: auth })
    return ((await res.json()) as { id: string }[]).map(k => k.id)
  }
  const stop = async () => {
    // Kernels live in their own sessions: shut them down through the server, then the server.
    try {
      await Promise.all(
        (await kernels()).map(id => fetch(`${url}/api/kernels/${id}`, { method: 'DELETE', headers: auth })),
      )
    } catch {}
    await proc.kill('close')
    rmSync(base, { recursive: true, force: true })
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      const res = await fetch(`${url}/api/status`, { headers: auth })
      if (res.ok) return { url, token, root, process: proc, kernels, stop }
    } catch {}
    if (Date.now() > deadline || (await within(proc.exited, 100)) !== 'timeout') {
      await stop()
      throw new Error(`jupyter server did not start: ${log.slice(-2000)}`)
    }
  }
}
