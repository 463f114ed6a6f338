/**
 * A program that loses a stop's SIGINT for sure, as bash's child does when the SIGINT comes as
 * bash forks it: a python child catches the SIGINT (as bash's inherited handler does), then
 * execs a `sleep` (exec resets a caught signal to its default). Its parent, which catches
 * SIGINT too (so a stop never sends it a second), prints how the sleep ended. The child creates
 * the file `$READY` once its handler is set: the stop is sent after that.
 */
export const python = process.env.EXECD_PYTHON ?? 'python3'

/** The shell command; `nap` is the sleep's length, one no other process sleeps. */
export function losesSigint(nap: string, ready: string): string {
  const source = [
    'import os, signal, time',
    'got = []',
    'signal.signal(signal.SIGINT, lambda *_: got.append(1))',
    'pid = os.fork()',
    'if pid == 0:',
    '    open(os.environ["READY"], "w").close()',
    '    while not got: time.sleep(0.01)',
    `    os.execvp("sleep", ["sleep", "${nap}"])`,
    'status = os.waitpid(pid, 0)[1]',
    'print("sleep ended by", signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else status)',
  ].join('\n')
  return `READY=${ready} ${python} -c '${source}'`
}
