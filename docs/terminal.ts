/**
 * A terminal on a running execd, with nothing but Bun (no websocat):
 *
 *   EXECD_ACCESS_TOKEN=… node_modules/.bin/bun docs/terminal.ts [http://127.0.0.1:44772]
 *   (inside a container, the executable is Bun too: BUN_BE_BUN=1 execd terminal.ts URL)
 *
 * Creates a session (POST /pty), attaches to its WebSocket with the reference's framing
 * (client → server 0x00|stdin and JSON `resize`; server → client 0x01|output, 0x03|offset|replay,
 * JSON `exit`), puts this terminal in raw mode so keys such as Ctrl-C reach the remote shell,
 * and exits with the shell's status. Standard input that is not a terminal is sent as is
 * (`echo 'uname -a; exit' | bun docs/terminal.ts`).
 */
const base = (process.argv[2] ?? process.env.EXECD_URL ?? 'http://127.0.0.1:44772').replace(/\/$/, '')
const headers: Record<string, string> = process.env.EXECD_ACCESS_TOKEN
  ? { 'X-EXECD-ACCESS-TOKEN': process.env.EXECD_ACCESS_TOKEN }
  : {}

const created = await fetch(`${base}/pty`, { method: 'POST', headers, body: '{}' })
if (!created.ok) throw new Error(`POST /pty: ${created.status} ${await created.text()}`)
const { session_id } = (await created.json()) as { session_id: string }

const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/pty/${session_id}/ws`, { headers } as any)
ws.binaryType = 'arraybuffer'
const send = (bytes: Uint8Array) => ws.send(new Uint8Array([0x00, ...bytes]))
const resize = () =>
  process.stdout.columns &&
  ws.send(JSON.stringify({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows }))
let status = 0

ws.onopen = () => {
  resize()
  process.stdout.on('resize', resize)
  if (process.stdin.isTTY) process.stdin.setRawMode(true)
  process.stdin.on('data', (chunk: Buffer) => send(chunk))
}
ws.onmessage = ({ data }) => {
  if (typeof data === 'string') {
    const frame = JSON.parse(data)
    if (frame.type === 'exit') status = frame.exit_code ?? 0
    else if (frame.type === 'error') process.stderr.write(`\r\nexecd: ${frame.error ?? data}\r\n`)
    return
  }
  const bytes = new Uint8Array(data as ArrayBuffer)
  if (bytes[0] === 0x01 || bytes[0] === 0x02) process.stdout.write(bytes.subarray(1))
  else if (bytes[0] === 0x03) process.stdout.write(bytes.subarray(9)) // 8-byte offset, then the replay
}
ws.onclose = async () => {
  if (process.stdin.isTTY) process.stdin.setRawMode(false)
  await fetch(`${base}/pty/${session_id}`, { method: 'DELETE', headers }).catch(() => {})
  process.exit(status)
}
