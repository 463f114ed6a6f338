/**
 * Jupyter messaging protocol (v5.3) over the server's JSON WebSocket: building an
 * `execute_request` (or an `is_complete_request`) and turning one cell's replies into execd events.
 */
import { errorEvent, type ExecEvent, makeEvent } from '../../core/events'
import type { Completeness } from '../../core/plugin'

export interface JupyterMessage {
  header: { msg_id: string; msg_type: string; session?: string }
  parent_header: { msg_id?: string }
  msg_type?: string
  content: Record<string, any>
  metadata?: Record<string, unknown>
  channel?: string
}

const PROTOCOL_VERSION = '5.3'

/** A request on the shell channel. */
function shellRequest(msgType: string, msgId: string, session: string, content: object): object {
  return {
    header: {
      msg_id: msgId,
      username: 'execd',
      session,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: {},
    metadata: {},
    content,
    channel: 'shell',
    buffers: [],
  }
}

/**
 * stop_on_error is false: execd sends a kernel one cell at a time, so there is never a queue
 * behind a failed cell for the kernel to abort — but ipykernel aborts whatever reaches it in a
 * window after the failed cell's reply, and a client's next cell sent at once sometimes did
 * (`ExecutionAborted`, 2 in 450 after an interrupt).
 */
export function executeRequest(msgId: string, session: string, code: string, silent = false): object {
  return shellRequest('execute_request', msgId, session, {
    code,
    silent,
    store_history: !silent,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: false,
  })
}

export function isCompleteRequest(msgId: string, session: string, code: string): object {
  return shellRequest('is_complete_request', msgId, session, { code })
}

/** An is_complete_reply's content as execd reads it: a status it does not know is no word. */
export function completenessOf(content: Record<string, any> | undefined): Completeness {
  const status = content?.status
  if (status === 'incomplete') return { status, indent: typeof content?.indent === 'string' ? content.indent : '' }
  if (status === 'complete' || status === 'invalid') return { status }
  return { status: 'unknown' }
}

/** A MIME bundle as the contract wants it: 'text/plain' kept and aliased as 'text'. */
export function resultBundle(data: unknown): Record<string, unknown> {
  // A bundle is an object by the protocol; a kernel's string spread into one became an object
  // of one key per character (2 MB of text: 27 MB of JSON, the event loop held ~15 s).
  const out: Record<string, unknown> = isBundle(data) ? { ...data } : {}
  if (typeof out['text/plain'] === 'string') out.text = out['text/plain']
  return out
}

function isBundle(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What one message means for the cell it answers. */
interface CellStep {
  events: ExecEvent[]
  /** The kernel died or is restarting: the cell will never finish. */
  died?: string
}

/**
 * Follows one execution: keeps only messages whose parent is our request (the reference
 * finished on any kernel's idle), and knows when both the iopub `idle` and the shell
 * `execute_reply` have arrived.
 */
export class CellTracker {
  idle = false
  replied = false
  private count = 0
  private countSent = false
  private errorSent = false

  constructor(readonly msgId: string) {}

  get done(): boolean {
    return this.idle && this.replied
  }

  accept(msg: JupyterMessage): CellStep {
    const type = msg.header?.msg_type ?? msg.msg_type
    const content = msg.content ?? {}
    if (type === 'status' && (content.execution_state === 'restarting' || content.execution_state === 'dead')) {
      // The server's own notice (no parent): the kernel process is gone, and its state with it.
      return { events: [], died: content.execution_state }
    }
    if (msg.parent_header?.msg_id !== this.msgId) return { events: [] }
    switch (type) {
      case 'stream':
        return {
          events: [makeEvent(content.name === 'stderr' ? 'stderr' : 'stdout', { text: jsonText(content.text) })],
        }
      case 'execute_input':
        this.noteCount(content.execution_count)
        return { events: [] }
      case 'execute_result':
        this.noteCount(content.execution_count)
        return { events: [...this.countEvent(), makeEvent('result', { results: resultBundle(content.data) })] }
      case 'display_data':
      case 'update_display_data':
        return { events: [...this.countEvent(), makeEvent('result', { results: resultBundle(content.data) })] }
      case 'error':
        this.errorSent = true
        return { events: [...this.countEvent(), this.error(content)] }
      case 'status':
        if (content.execution_state === 'idle') this.idle = true
        return { events: [] }
      case 'execute_reply':
        // The kernel answers on shell. A cell's own code can put any message on iopub
        // (`kernel.session.send(kernel.iopub_socket, ...)`, its cell as parent): a reply there
        // ended its run one reply grace later while it ran on, its later output lost.
        if (msg.channel !== 'shell') return { events: [] }
        return { events: this.reply(content) }
      default:
        // clear_output, comms, input requests (stdin is off): nothing a stream can show.
        return { events: [] }
    }
  }

  /** Events still owed when the cell ends: the count of a cell that showed nothing. */
  finish(): ExecEvent[] {
    return this.countEvent()
  }

  private reply(content: Record<string, any>): ExecEvent[] {
    this.replied = true
    this.noteCount(content.execution_count)
    if (this.errorSent) return []
    if (content.status === 'error') {
      // iopub carried no error (lost or filtered): the reply still has it.
      this.errorSent = true
      return [...this.countEvent(), this.error(content)]
    }
    if (content.status === 'aborted') {
      this.errorSent = true
      return [errorEvent('ExecutionAborted', 'the kernel aborted this execution (an earlier one failed)')]
    }
    return []
  }

  private error(content: Record<string, any>): ExecEvent {
    // IPython colours its tracebacks for terminals; an agent reading JSON wants plain text,
    // as the native runtimes give it.
    const traceback = Array.isArray(content.traceback) ? content.traceback.map(l => stripAnsi(String(l))) : []
    return errorEvent(jsonText(content.ename) || 'Error', jsonText(content.evalue), traceback)
  }

  private noteCount(n: unknown): void {
    if (typeof n === 'number' && n > 0) this.count = n
  }

  /** `execution_count` once, before the first result or error (contract §3 order). */
  private countEvent(): ExecEvent[] {
    if (this.countSent || this.count <= 0) return []
    this.countSent = true
    return [makeEvent('execution_count', { execution_count: this.count })]
  }
}

const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g

export const stripAnsi = (s: string): string => s.replace(ANSI, '')

/** A kernel's field as text: a string as is, any other JSON value as its JSON (not '[object Object]'). */
function jsonText(v: unknown): string {
  if (v === undefined || v === null) return ''
  return typeof v === 'string' ? v : JSON.stringify(v)
}
