/** Pass 22's findings on a session's run line as regression cases of the fuzz suite. */
import type { Finding } from './campaign'
import { field, request } from './probe'
import type { World } from './world'

/** What a run once did to its shell that made later runs hang, lie about their status or output. */
const SETUPS = [
  'set -x',
  'alias builtin=echo',
  'builtin() { echo taken; }',
  'readonly __execd_s',
  'enable -n printf',
  'BASH_XTRACEFD=1; set -x',
  'trap \'echo "$BASH_COMMAND"\' DEBUG',
]

/**
 * Pass 22: after each setup, a later run reports its own output and status, with no marker of
 * the line's in it, well before its timeout (the old build hung there, or ended early).
 */
export async function sessionRunLine(w: World): Promise<Finding[]> {
  const out: Finding[] = []
  for (const setup of SETUPS) {
    const sid = field(await request(w, 'POST', '/session', '{}'), 'session_id')
    if (!sid) continue // the session cap of a campaign's world: nothing to judge
    try {
      await request(w, 'POST', `/session/${sid}/run`, JSON.stringify({ command: setup, timeout: 8000 }), 12_000)
      const body = JSON.stringify({ command: 'echo two; (exit 3)', timeout: 8000 })
      const a = await request(w, 'POST', `/session/${sid}/run`, body, 12_000)
      const ok =
        a.text.includes('"text":"two"') &&
        a.text.includes('"evalue":"3"') &&
        !/__execd_[0-9a-f]{24}__|timeout after|taken/.test(a.text)
      if (!ok)
        out.push({
          kind: 'contract',
          op: 'POST /session/{id}/run',
          detail: `after \`${setup}\`: ${a.status} ${a.text.slice(-300)}`,
          example: `${setup}, then ${body}`,
        })
    } finally {
      await request(w, 'DELETE', `/session/${sid}`)
    }
  }
  return out
}
