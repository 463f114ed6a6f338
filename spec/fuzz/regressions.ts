/** The explicit regression cases (issues 10 and 17, pass 10, the races), named for the test and for `make fuzz`. */
import type { Finding } from './campaign'
import { emptyPaths, envEcho, hostHeaders, hugeOwner, longTimeouts, ptyResize } from './regressions-values'
import { cwdOutsideRoot, deepJson, hugeQuery, malformedBodies } from './regressions-requests'
import {
  dotSegmentTargets,
  informationalFlood,
  proxyInFlight,
  proxySocketsLeft,
  unaskedUpgrade,
} from './regressions-proxy'
import { interruptDuringRestart } from './regressions-races'
import { sessionRunLine } from './regressions-sessions'
import type { World } from './world'

export const REGRESSIONS: { name: string; run: (w: World) => Promise<Finding[]> }[] = [
  { name: 'issue 17.1: a 10,000-deep JSON body on every JSON route is a 400 INVALID_REQUEST_BODY', run: deepJson },
  { name: 'issue 17.2: a 64 KiB query value is answered with a JSON error and a Content-Type', run: hugeQuery },
  {
    name: 'issue 17.3: cwd ../../x (or outside) on /session, /code/context, /command, /pty under --root is a 400, nothing created',
    run: cwdOutsideRoot,
  },
  { name: 'issue 17.4 / 10.14: malformed bodies on POST /session and POST /pty are a 400', run: malformedBodies },
  {
    name: 'issue 10.2: PTY resize to 65536, 1e9, 2^32, negative or NaN never throws; ping still answered',
    run: ptyResize,
  },
  { name: 'issue 10.5: an empty path is a 400 on every path-taking route and the root stays', run: emptyPaths },
  { name: 'issue 10.11: timeouts of 3e9, 2^31, 2^53-1 and 1e308 ms do not kill at once', run: longTimeouts },
  {
    name: 'issue 10.15 / 10.7, pass 21: Host "ab", "x", none, "a b" or "x:99999" route by the path and answer JSON',
    run: hostHeaders,
  },
  { name: 'issue 10.16: owner 99999999999999999999 is a 400 before anything is created', run: hugeOwner },
  { name: "issue 10.17: $VAR in a path or a context's cwd never echoes the environment", run: envEcho },
  {
    name: 'pass 10: with 256 proxied requests held, the next is a 503 at once, and answered once they leave',
    run: proxyInFlight,
  },
  {
    name: 'fuzz: callers leaving an unanswered proxied WebSocket handshake give their relay slots back',
    run: proxySocketsLeft,
  },
  {
    name: 'passes 19 and 20: a target led by dot segments out of /proxy/<port>/, or into a route it was not sent beneath, is a 400',
    run: dotSegmentTargets,
  },
  {
    name: 'pass 21: an upstream answering 101 to a request that asked no upgrade is a 502 at once',
    run: unaskedUpgrade,
  },
  { name: 'pass 21: an upstream sending 1xx heads without end is a 502 at once', run: informationalFlood },
  {
    name: 'races: an interrupt while a context replaces its dead interpreter stops the cell waiting for it',
    run: interruptDuringRestart,
  },
  {
    name: 'pass 22: after set -x, an alias or function named builtin, a DEBUG trap, a session run reports its own output and status',
    run: sessionRunLine,
  },
]

/** One group's failures; a crash is one of them, and the daemon is restarted for the next group. */
export async function runGroup(w: World, r: (typeof REGRESSIONS)[number]): Promise<Finding[]> {
  const out = await r.run(w).catch(e => [{ kind: 'crash' as const, op: r.name, detail: String(e), example: r.name }])
  if (!(await w.settled())) {
    await w.restart()
    out.push({ kind: 'crash', op: r.name, detail: `execd exited: ${w.crashes.at(-1)}`, example: r.name })
  }
  return out
}

export async function runRegressions(w: World): Promise<Finding[]> {
  const out: Finding[] = []
  for (const r of REGRESSIONS) out.push(...(await runGroup(w, r)))
  return out
}
