/**
 * Baseline: a Jupyter server with ipykernel, the stack the Jupyter-based daemons (the
 * reference execd included) put behind their code endpoint. Started on loopback with a token
 * and private Jupyter dirs; kernels are created over REST and driven over the kernel
 * WebSocket with messaging protocol v5.3 (execute_request, then iopub status idle).
 */
import type { Subprocess } from 'bun'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, killByMarker, makeTempDir, removeTempDir, spawnTracked, stopProcess, waitFor } from '../lib/procs'

export const JUPYTER_PYTHON = '/usr/bin/python3'

/** Why the baseline cannot run here, or null when it can. */
export function jupyterMissing(): string | null {
  const probe = Bun.spawnSync([JUPYTER_PYTHON, '-c', 'import jupyter_server, ipykernel'], { stderr: 'pipe' })
  if (probe.success) return null
  return `Jupyter baseline missing: ${JUPYTER_PYTHON} cannot import jupyter_server/ipykernel (apt-get install jupyter-server python3-ipykernel)`
}

export interface JupyterServer {
  url: string
  pid: number
  proc: Subprocess<any, any, any>
  /** ms from spawn to the first 200 from /api/status. */
  startMs: number
  createKernel(): Promise<string>
  deleteKernel(id: string): Promise<void>
  connect(kernelId: string): Promise<KernelChannel>
  stop(): Promise<void>
}

export interface KernelChannel {
  /** Runs code; resolves at iopub status idle with the execute_result text/plain, if any. */
  execute(code: string): Promise<{ result?: string; error?: string }>
  close(): void
}

/**
 * Runs the server with TCP_NODELAY on its kernel WebSockets. Stock jupyter_server leaves Nagle
 * on, so its several small iopub frames per execution wait for the client's delayed ACK
 * (~40 ms); the patched variant shows what Jupyter itself costs without that stall.
 */
const NODELAY_LAUNCH = `
from jupyter_server.services.kernels.handlers import ZMQChannelsHandler
_open = ZMQChannelsHandler.open
def open(self, *args, **kwargs):
    self.set_nodelay(True)
    return _open(self, *args, **kwargs)
ZMQChannelsHandler.open = open
from jupyter_server.serverapp import main
import sys
sys.exit(main())
`

export async function startJupyter(opts: { nodelay?: boolean } = {}): Promise<JupyterServer> {
  const dir = makeTempDir('jupyter')
  for (const sub of ['runtime', 'config', 'data', 'ipython', 'root']) mkdirSync(join(dir, sub))
  const port = await freePort()
  const token = crypto.randomUUID()
  const url = `http://127.0.0.1:${port}`
  const auth = { Authorization: `token ${token}` }
  const t0 = performance.now()
  const proc = spawnTracked(
    [
      JUPYTER_PYTHON,
      ...(opts.nodelay ? ['-c', NODELAY_LAUNCH] : ['-m', 'jupyter_server']),
      `--ServerApp.token=${token}`,
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1',
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${join(dir, 'root')}`,
    ],
    {
      group: true,
      env: {
        ...process.env,
        JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
        JUPYTER_CONFIG_DIR: join(dir, 'config'),
        JUPYTER_DATA_DIR: join(dir, 'data'),
        IPYTHONDIR: join(dir, 'ipython'),
      },
    },
  )
  const stop = async () => {
    await stopProcess(proc, 5000)
    // Kernels run in sessions of their own; their connection files live under `dir`.
    killByMarker(dir)
    removeTempDir(dir)
  }
  try {
    await waitFor(
      'jupyter server',
      async () => (await fetch(`${url}/api/status`, { headers: auth })).status === 200,
      60_000,
    )
  } catch (e) {
    await stop()
    throw e
  }
  const startMs = performance.now() - t0
  return {
    url,
    pid: proc.pid,
    proc,
    startMs,
    stop,
    createKernel: async () => {
      const res = await fetch(`${url}/api/kernels`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'python3' }),
      })
      if (res.status !== 201 && res.status !== 200)
        throw new Error(`jupyter: create kernel ${res.status}: ${await res.text()}`)
      return ((await res.json()) as { id: string }).id
    },
    deleteKernel: async id => {
      await fetch(`${url}/api/kernels/${id}`, { method: 'DELETE', headers: auth }).then(r => r.arrayBuffer())
    },
    connect: kernelId => connectKernel(`ws://127.0.0.1:${port}/api/kernels/${kernelId}/channels`, token),
  }
}

interface Pending {
  resolve: (r: { result?: string; error?: string }) => void
  reject: (e: Error) => void
  result?: string
  error?: string
}

function connectKernel(wsUrl: string, token: string): Promise<KernelChannel> {
  const session = crypto.randomUUID()
  const ws = new WebSocket(`${wsUrl}?session_id=${session}&token=${token}`)
  const pending = new Map<string, Pending>()
  ws.onmessage = ev => {
    const msg = JSON.parse(String(ev.data))
    const p = pending.get(msg.parent_header?.msg_id)
    if (!p || msg.channel !== 'iopub') return
    const type = msg.header?.msg_type ?? msg.msg_type
    if (type === 'execute_result') p.result = msg.content.data?.['text/plain']
    else if (type === 'error') p.error = `${msg.content.ename}: ${msg.content.evalue}`
    else if (type === 'status' && msg.content.execution_state === 'idle') {
      pending.delete(msg.parent_header.msg_id)
      p.resolve({ result: p.result, error: p.error })
    }
  }
  ws.onclose = () => {
    for (const p of pending.values()) p.reject(new Error('jupyter: kernel websocket closed'))
    pending.clear()
  }
  const channel: KernelChannel = {
    execute: code =>
      new Promise((resolve, reject) => {
        const msgId = crypto.randomUUID()
        pending.set(msgId, { resolve, reject })
        ws.send(
          JSON.stringify({
            header: {
              msg_id: msgId,
              username: 'bench',
              session,
              msg_type: 'execute_request',
              version: '5.3',
              date: new Date().toISOString(),
            },
            parent_header: {},
            metadata: {},
            content: {
              code,
              silent: false,
              store_history: true,
              user_expressions: {},
              allow_stdin: false,
              stop_on_error: true,
            },
            channel: 'shell',
            buffers: [],
          }),
        )
      }),
    close: () => ws.close(),
  }
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(channel)
    ws.onerror = () => reject(new Error(`jupyter: websocket to ${wsUrl} failed`))
  })
}
