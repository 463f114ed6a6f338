# CPU per warm cell of the python driver alone: the interpreter driven over its own protocol
# (fd 3 the JSON-line channel, fd 4 the interrupt socket, as plugins/python/context.ts starts
# it), no execd in between. Two drivers (directories holding driver.py, output.py, results.py, cells.py)
# take turns in rounds, so the machine's load hits both alike; a driver's CPU is its threads'
# time on a CPU over a round (/proc/<pid>/task/*/schedstat, in ns: /proc/<pid>/stat's ticks are
# 10 ms, a few of them a round), divided by the round's cells. Not run by `make bench`.
#
#   python3 bench/driver-cells.py OLD_DIR NEW_DIR [rounds=10] [cells per round=2000] [code='x + 1']
#   OLD_DIR `relay`    row 1h's floor instead of a driver: the relay's python loop (baselines/
#                      python-relay.ts: one JSON line in, the value's repr in one line out, fd 3)
#   DRIVER_GAP_US=800  the harness sleeps this long between a cell's `done` and the next cell,
#                      as a client's round trip through execd leaves the driver idle (its caches
#                      then cold, the CPU taken by others)
#   DRIVER_PROFILE=1   cProfile of the NEW driver's process over one round instead (top 25)
#   DRIVER_WRAP='strace -c -f -o /tmp/s.%s'   a command the drivers run under (%s: old or new)
#   DRIVER_WRAP='valgrind --tool=callgrind --callgrind-out-file=/tmp/c.%s'   instructions (steady)
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _source(directory):
    # output.py since stop 52: an older driver's directory has none
    names = [n for n in ('driver', 'output', 'results', 'cells') if os.path.exists(os.path.join(directory, n + '.py'))]
    parts = [open(os.path.join(directory, name + '.py')).read() for name in names]
    return '\n'.join(parts)


class Driver(object):
    def __init__(self, name, directory, profile=False):
        boot = open(os.path.join(HERE, '..', 'plugins', 'python', 'bootstrap.py')).read()
        self.chan, theirs = socket.socketpair()
        self.intr, their_intr = socket.socketpair()
        env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONIOENCODING='utf-8', MPLBACKEND='Agg')
        # As plugins/python/context.ts starts it: no compiled code (0 bytes), then the source's
        # size; the source itself comes over the channel (bootstrap.py).
        source = _source(directory).encode('utf-8')
        argv = [sys.executable, '-u', '-c', boot, '0', str(len(source))]
        if profile:
            # The profile is dumped to a file at the driver's os._exit (its stdout is the channel's).
            argv[3] = boot.replace('exec(_execd_code)', '\n'.join((
                'import cProfile, os as _o', '_p = cProfile.Profile()',
                'def _stop(code, _real=_o._exit):', '    _p.disable(); _p.dump_stats(%r); _real(code)' % profile,
                '_o._exit = _stop', '_p.enable()', 'exec(_execd_code)')))
        argv = [w.replace('%s', name) for w in os.environ.get('DRIVER_WRAP', '').split()] + argv
        # fds 3 and 4 in the child, dup2ed into place (inheritable; every other fd of ours is not).
        a, b = theirs.fileno(), their_intr.fileno()

        def place():
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = subprocess.Popen(argv, close_fds=False, preexec_fn=place, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        theirs.close()
        their_intr.close()
        self.chan.sendall(source)
        self.buf = b''
        self.key = 0
        assert b'"ready"' in self.line()

    def line(self):
        while b'\n' not in self.buf:
            chunk = self.chan.recv(65536)
            if not chunk:
                raise EOFError('the driver closed its channel')
            self.buf += chunk
        i = self.buf.index(b'\n')
        out, self.buf = self.buf[:i], self.buf[i + 1:]
        return out

    def cell(self, code):
        self.key += 1
        k = 'k%d' % self.key
        self.chan.sendall(('{"code": "%s", "n": %d, "k": "%s"}\n' % (code, self.key, k)).encode())
        done = ('{"type": "done", "k": "%s"}' % k).encode()
        lines = []
        while True:
            got = self.line()
            if got == done:
                return lines
            lines.append(got)

    def cpu_ns(self):
        total = 0
        for tid in os.listdir('/proc/%d/task' % self.proc.pid):
            with open('/proc/%d/task/%s/schedstat' % (self.proc.pid, tid)) as f:
                total += int(f.read().split()[0])
        return total

    def user_system(self):
        """The process's user and system ticks so far (its split; too coarse for a round)."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return int(fields[11]), int(fields[12])

    def close(self):
        self.chan.close()
        self.intr.close()
        self.proc.wait()


def _relay_loop():
    """Row 1h's python loop as baselines/python-relay.ts runs it: its template's text, escaped
    backslashes made single."""
    with open(os.path.join(HERE, 'baselines', 'python-relay.ts')) as f:
        text = f.read()
    return text.split('const PYTHON_LOOP = `', 1)[1].split('`', 1)[0].replace('\\\\', '\\')


class RelayLoop(Driver):
    """The relay's loop on fd 3, asked as a driver is: one line each way, nothing more."""

    def __init__(self, name):
        self.chan, theirs = socket.socketpair()
        self.intr, their_intr = socket.socketpair()
        a = theirs.fileno()
        self.proc = subprocess.Popen([sys.executable, '-u', '-c', _relay_loop()], close_fds=False,
                                     preexec_fn=lambda: os.dup2(a, 3), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        theirs.close()
        their_intr.close()
        self.buf = b''

    def cell(self, code):
        self.chan.sendall(('{"code": "%s"}\n' % code).encode())
        return [self.line()]


def main():
    old_dir, new_dir = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    code = sys.argv[5] if len(sys.argv) > 5 else 'x + 1'
    if os.environ.get('DRIVER_PROFILE') == '1':
        import pstats
        out = '/tmp/driver-cells.%d.prof' % os.getpid()
        d = Driver('new', new_dir, profile=out)
        d.cell('x = 1')
        for _ in range(per):
            d.cell(code)
        d.close()
        pstats.Stats(out).sort_stats('tottime').print_stats(25)
        os.unlink(out)
        return
    relay = old_dir == 'relay'
    sides = [('old', RelayLoop('old') if relay else Driver('old', old_dir)), ('new', Driver('new', new_dir))]
    answers = []
    for _, d in sides:
        d.cell('x = 1')
        answers.append(d.cell(code))
        for _ in range(per):
            d.cell(code)
    assert relay or answers[0] == answers[1], 'the two drivers answer differently: %r' % answers
    us = dict((name, []) for name, _ in sides)
    gap = float(os.environ.get('DRIVER_GAP_US', '0')) / 1e6
    for r in range(rounds):
        for name, d in (sides if r % 2 == 0 else sides[::-1]):
            before = d.cpu_ns()
            for _ in range(per):
                d.cell(code)
                if gap:
                    time.sleep(gap)
            us[name].append((d.cpu_ns() - before) / 1e3 / max(per, 1))
    for name, d in sides:
        user, system = d.user_system()
        print('%s: user %d, system %d ticks in all' % (name, user, system))
        d.close()
    ratios = sorted(n / o for o, n in zip(us['old'], us['new']) if o)
    for name in ('old', 'new'):
        vals = sorted(us[name])
        print('%s: CPU us/cell median %.1f (min %.1f, max %.1f)' % (name, vals[len(vals) // 2], vals[0], vals[-1]))
    if ratios:  # none when a round was too short to tick
        print('new/old per round: median %.3f (%.3f-%.3f)' % (ratios[len(ratios) // 2], ratios[0], ratios[-1]))


main()
