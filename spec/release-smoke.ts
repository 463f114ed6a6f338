/**
 * The release smoke suite: one short check per part of the API (ping, metrics, a command, a
 * session, python and javascript code, upload/download, a terminal), against an execd served
 * from wherever the caller started it (a bare rootfs, qemu-user). Registered as bun tests.
 */
import { expect, test } from 'bun:test'
import type { Daemon } from './harness'
import { postJson, readSse } from './harness'
import { PtyClient } from './pty-client'
import type { Served } from './release-rootfs'

/** The parts a target can skip, with the reason (printed as the test's name). */
export interface SmokeOptions {
  skip?: Partial<Record<'python' | 'javascript' | 'pty', string>>
  /** Generous under emulation: a JavaScript context starts a second emulated executable. */
  limitMs?: number
}

export function smokeSuite(served: () => Served, opts: SmokeOptions = {}): void {
  const d = () => served() as unknown as Daemon
  const limit = opts.limitMs ?? 30_000
  const last = (frames: { data: any }[]) => frames[frames.length - 1]?.data

  test('ping and metrics', async () => {
    expect((await d().fetch('/ping')).status).toBe(200)
    const m = await (await d().fetch('/metrics')).json()
    expect(m.cpu_count).toBeGreaterThan(0)
    expect(m.mem_total_mib).toBeGreaterThan(0)
  })

  test('a command streams its output and exit', async () => {
    const frames = await readSse(await postJson(d(), '/command', { command: 'echo smoke-$((6*7))' }))
    const out = frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)
    expect(out[0]).toBe('smoke-42')
    expect(frames.some(f => f.data.type === 'execution_complete')).toBe(true)
  })

  test('a session keeps its state between runs', async () => {
    const { session_id } = await (await postJson(d(), '/session', {})).json()
    await readSse(await postJson(d(), `/session/${session_id}/run`, { command: 'cd /tmp && X=kept' }))
    const frames = await readSse(await postJson(d(), `/session/${session_id}/run`, { command: 'echo "$PWD $X"' }))
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['/tmp kept'])
    expect((await d().fetch(`/session/${session_id}`, { method: 'DELETE' })).status).toBe(200)
  })

  const code = (language: 'python' | 'javascript', source: string, want: string) => {
    const why = opts.skip?.[language]
    test.skipIf(!!why)(
      `code in ${language}${why ? ` (not run: ${why})` : ''}`,
      async () => {
        const frames = await readSse(await postJson(d(), '/code', { code: source, context: { language } }))
        const text = frames
          .filter(f => f.data.type === 'stdout' || f.data.type === 'result')
          .map(f => f.data.text ?? f.data.results?.['text/plain'] ?? '')
          .join('')
        expect(frames.find(f => f.data.type === 'error')?.data).toBeUndefined()
        expect(text).toContain(want)
        expect(last(frames).type).toBe('execution_complete')
      },
      limit,
    )
  }
  code('python', 'import platform\nprint("py", 6 * 7)', 'py 42')
  code('javascript', 'console.log("js", 6 * 7)', 'js 42')

  test('upload, then download the same bytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(100_000))
    const path = `/tmp/smoke-${crypto.randomUUID()}/f.bin`
    const form = new FormData()
    form.append('metadata', new Blob([JSON.stringify({ path })]), 'metadata')
    form.append('file', new Blob([bytes]), 'f.bin')
    expect((await d().fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
    const back = new Uint8Array(
      await (await d().fetch(`/files/download?path=${encodeURIComponent(path)}`)).arrayBuffer(),
    )
    expect(back.length).toBe(bytes.length)
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true)
  })

  // renameat2 is called by its syscall number through bun:ffi, which differs by architecture.
  test('a move never replaces what is at its destination, and moves to a free name', async () => {
    const dir = `/tmp/smoke-mv-${crypto.randomUUID()}`
    const put = async (name: string, text: string) => {
      const form = new FormData()
      form.append('metadata', new Blob([JSON.stringify({ path: `${dir}/${name}` })]), 'metadata')
      form.append('file', new Blob([text]), name)
      expect((await d().fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
    }
    const get = async (name: string) =>
      (await d().fetch(`/files/download?path=${encodeURIComponent(`${dir}/${name}`)}`)).text()
    await put('a', 'first')
    await put('b', 'second')
    const taken = await postJson(d(), '/files/mv', [{ src: `${dir}/a`, dest: `${dir}/b` }])
    expect(taken.status).toBe(400)
    expect((await taken.json()).message).toContain('already exists')
    expect([await get('a'), await get('b')]).toEqual(['first', 'second'])
    expect((await postJson(d(), '/files/mv', [{ src: `${dir}/a`, dest: `${dir}/c` }])).status).toBe(200)
    expect(await get('c')).toBe('first')
    expect((await d().fetch(`/files/download?path=${encodeURIComponent(`${dir}/a`)}`)).status).toBe(404)
  })

  // As PID 1 here, execd is the parent of every orphan; it reaps them through libc by bun:ffi.
  test('what a command leaves behind is reaped: no zombie stays', async () => {
    const left = await readSse(await postJson(d(), '/command', { command: '(sleep 0.2 &) ; sleep 0.05 & exit 0' }))
    expect(last(left).type).toBe('execution_complete')
    // Bash builtins only (the rootfs has nothing else): the zombies among the namespace's processes.
    const zombies =
      'for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; r=${l##*) }; ' +
      '[ "${r%% *}" = Z ] && echo "zombie ${l%% *}"; done; true'
    let seen: string[] = []
    for (const until = Date.now() + limit; Date.now() < until; await Bun.sleep(250)) {
      const frames = await readSse(await postJson(d(), '/command', { command: zombies }))
      seen = frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)
      if (seen.length === 0) break
    }
    expect(seen).toEqual([])
  })

  const ptyWhy = opts.skip?.pty
  test.skipIf(!!ptyWhy)(`a terminal runs what it is sent${ptyWhy ? ` (not run: ${ptyWhy})` : ''}`, async () => {
    const { session_id } = await (await postJson(d(), '/pty', {})).json()
    const c = await PtyClient.connect(d(), session_id)
    try {
      await c.until('connected', () => c.json('connected').length > 0, limit)
      // Builtins only: the rootfs has bash and nothing else.
      c.stdin('[ -t 0 ] && echo tty-$((6*7))\n')
      await c.until('the echo', () => c.stdout.includes('tty-42\r\n'), limit)
    } finally {
      c.close()
    }
  })
}
