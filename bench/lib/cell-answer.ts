/**
 * A warm cell's answer as the bare servers of the bench give it (lib/native-variants.ts,
 * lib/door-server.ts): the five SSE frames of `x + 1` and execd's response headers, the same
 * bytes each time, so what those servers measure is the request's work, not the answer's.
 */
export const FRAMES =
  'id: 1\ndata: {"type":"init","text":"0c9b3f0e-6f4c-4c53-a1c4-6a9d0f1e2b3c","timestamp":1764640000000}\n\n' +
  'id: 2\ndata: {"type":"ping","text":"pong","timestamp":1764640000000}\n\n' +
  'id: 3\ndata: {"type":"execution_count","execution_count":2,"timestamp":1764640000000}\n\n' +
  'id: 4\ndata: {"type":"result","timestamp":1764640000000,"results":{"text/plain":"2","text":"2"}}\n\n' +
  'id: 5\ndata: {"type":"execution_complete","execution_time":1,"timestamp":1764640000000}\n\n'

export const HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
  'EXECD-EXECUTION-ID': 'execution',
}
