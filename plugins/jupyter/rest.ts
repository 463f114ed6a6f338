/**
 * The Jupyter server's REST API, as much as the bridge needs: kernelspecs and the kernels
 * lifecycle. Every call carries `Authorization: token <t>` and a deadline, so an unreachable
 * server is an error, never a hang (the reference retried context creation forever).
 */
import { textUpTo } from '../../core/text-up-to'

export interface KernelSpec {
  name: string
  language: string
  displayName: string
}

export interface KernelSpecs {
  default: string
  specs: KernelSpec[]
}

interface KernelModel {
  id: string
  name: string
  execution_state?: string
}

/** Thrown when the server answers with a non-2xx status. */
export class JupyterHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const REQUEST_TIMEOUT_MS = 15_000

export class JupyterServer {
  readonly base: URL

  constructor(
    host: string,
    readonly token: string,
  ) {
    // Accept 'host:port' as the reference's JUPYTER_HOST sometimes is.
    this.base = new URL(/^[a-z]+:\/\//i.test(host) ? host : `http://${host}`)
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/'
  }

  /** `api/...` under the server's base URL (a base path such as /jupyter/ is kept). */
  url(path: string): URL {
    return new URL(path, this.base)
  }

  /** The kernel's channels WebSocket; the token goes in the query as browsers must send it. */
  channelsUrl(kernelId: string, sessionId: string): string {
    const u = this.url(`api/kernels/${encodeURIComponent(kernelId)}/channels`)
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
    u.searchParams.set('session_id', sessionId)
    if (this.token) u.searchParams.set('token', this.token)
    return u.toString()
  }

  async kernelSpecs(): Promise<KernelSpecs> {
    const body = (await this.request('GET', 'api/kernelspecs')) as {
      default?: unknown
      kernelspecs?: Record<string, { name?: unknown; spec?: { language?: unknown; display_name?: unknown } } | null>
    } | null
    // Only strings are names and languages: a number's toLowerCase or localeCompare threw.
    const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback)
    const specs = Object.entries(objectOr(body?.kernelspecs)).map(([key, ks]) => ({
      name: text(ks?.name, key),
      language: text(ks?.spec?.language, ''),
      displayName: text(ks?.spec?.display_name, key),
    }))
    return { default: text(body?.default, ''), specs: specs.filter(s => s.language) }
  }

  /** Starts a kernel; `path` is an API path under the server's root and sets the kernel's cwd. */
  async startKernel(name: string, path?: string): Promise<KernelModel> {
    const model = (await this.request('POST', 'api/kernels', path ? { name, path } : { name })) as KernelModel | null
    // Without an id the kernel can be neither reached nor shut down (a null answer threw a TypeError).
    if (typeof model?.id !== 'string' || !model.id) {
      throw new Error(`jupyter POST /api/kernels: the answer names no kernel id`)
    }
    return model
  }

  /** The kernel's model, or null once the server no longer knows it. */
  async kernel(id: string): Promise<KernelModel | null> {
    try {
      return (await this.request('GET', `api/kernels/${encodeURIComponent(id)}`)) as KernelModel
    } catch (e) {
      if (e instanceof JupyterHttpError && e.status === 404) return null
      throw e
    }
  }

  async interrupt(id: string): Promise<void> {
    await this.request('POST', `api/kernels/${encodeURIComponent(id)}/interrupt`)
  }

  /** Shuts the kernel down; a kernel already gone is not an error. */
  async deleteKernel(id: string): Promise<void> {
    try {
      await this.request('DELETE', `api/kernels/${encodeURIComponent(id)}`)
    } catch (e) {
      if (!(e instanceof JupyterHttpError && e.status === 404)) throw e
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.url(path)
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(this.token ? { Authorization: `token ${this.token}` } : {}),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'error',
      })
    } catch (e) {
      throw new Error(`jupyter server ${this.base.origin} unreachable: ${(e as Error).message}`, { cause: e })
    }
    const { text, cut } = await textUpTo(res, res.ok ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES)
    // An error page is only quoted, cut or not; an answer cut is refused.
    if (cut && res.ok)
      throw new Error(`jupyter ${method} /${path}: the answer is larger than ${MAX_ANSWER_BYTES} bytes`)
    if (!res.ok) {
      throw new JupyterHttpError(res.status, `jupyter ${method} /${path}: ${res.status} ${brief(text)}`)
    }
    return text ? JSON.parse(text) : null
  }
}

/**
 * A Jupyter answer is small (kernel specs, a kernel's model); an error page smaller still. The
 * body was read whole: a server (or whatever answers at its address) sending without end grew
 * execd by ~80 MiB/s until the 15 s timeout, a GiB-per-second server to out-of-memory.
 */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024
const MAX_ERROR_BYTES = 64 * 1024

function objectOr(v: unknown): Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}
}

/** The server's error message without a whole HTML page. */
function brief(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: string; reason?: string }
    return j.message || j.reason || ''
  } catch {
    return text.slice(0, 200)
  }
}
