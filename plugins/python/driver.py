# execd's in-interpreter half of the python runtime. Standard library only, python >= 3.8.
#
# Protocol: fd 3 is a socket to execd carrying JSON lines both ways. execd sends
# {"code": "...", "n": <cell number>, "k": <key>}; the driver answers with events ({"type":
# "stdout", "text": ...}, "result", "execution_count", "error") and then {"type": "done", "k":
# <the cell's key>}, which a cell writing to fd 3 cannot guess. fd 4 is a
# socket execd writes the number of the cell it interrupts to, just before its SIGINT. The user's fd 1 and 2 are pipes the
# driver forwards as stdout/stderr events, so protocol and user output never mix and output
# written by subprocesses is captured too. The original stderr is kept for fatal errors.
# The driver is four files run as one program (execd concatenates them): this one (protocol,
# stdin), output.py (the user's stdout and stderr), results.py (rich results, display,
# matplotlib), cells.py (cells, main loop).
#
# Only cheap modules at startup (context creation time); the rest are imported when needed.
#
# Not json, re, socket or signal: their Python layers (json's decoder imports re; re, socket and
# signal build enums) were ~5 ms of every cold context's start, where the C modules under them
# (_json, _socket, _signal) are built in or already loaded. json loads on the first message
# that needs its encoder (an error, a value that is not all strings). Nor threading: 3.2M
# instructions of a start here, 17M where site has not imported collections and functools for
# it; _thread's locks and threads do (see _Synced), threading loads when a cell imports it.
import builtins
import codecs
import io
import os
import select
import sys
import _signal
import _socket
import _thread
try:
    import _json
except ImportError:  # a Python without the C accelerator: json's own Python versions
    import json

    class _json(object):
        encode_basestring_ascii = staticmethod(json.encoder.encode_basestring_ascii)
        make_scanner = staticmethod(lambda _context: json.scanner.make_scanner(json.JSONDecoder()))

sys.argv = ['']  # execd passed this program as argv[1]
os.set_inheritable(3, False)  # a background child must not keep the channel open
os.set_inheritable(4, False)
_chan = _socket.socket(fileno=3)
_interrupts = _socket.socket(fileno=4)
_interrupts.setblocking(False)
# Bytes read from the channel after the last whole line, in pieces (joined once a newline
# comes: a large cell arrives in many reads).
_unread = []


def _read_line():
    """The next line from execd, b'' once it has closed the channel. Straight from recv: a
    makefile()'s reader went through socket.py's Python readinto for every cell."""
    if not _unread:
        # Most often one read holds one whole line, the cell: returned as it came, not joined,
        # searched and sliced again.
        chunk = _chan.recv(65536)
        if not chunk:
            return b''
        if chunk.find(b'\n') == len(chunk) - 1:
            return chunk
        _unread.append(chunk)
    while True:
        last = _unread[-1] if _unread else b''
        i = last.find(b'\n')
        if i >= 0:
            head = b''.join(_unread)
            i += len(head) - len(last)
            _unread[:] = [head[i + 1:]] if i + 1 < len(head) else []
            return head[:i + 1]
        chunk = _chan.recv(65536)
        if not chunk:
            return b''
        _unread.append(chunk)
_send_lock = _thread.allocate_lock()


_held = []
_encoders = {}


def _dumps(msg):
    """JSON of a message that is not put together by hand (json.dumps(msg, default=str) made
    its encoder anew for every message; this one is made once, on the first such message)."""
    encode = _encoders.get('dumps')
    if encode is None:
        import json
        encode = _encoders['dumps'] = json.JSONEncoder(default=str).encode
    return encode(msg)


# JSON of one string, in C. The hot messages (output, a value of strings) are put together
# with it: the encoder object's Python layers took 3 of the 4 µs of a result message.
_quote = _json.encode_basestring_ascii


def _text_message(kind, text):
    """The JSON line of an output event (the bytes _dumps made for it, 10x sooner)."""
    return ('{"type": "%s", "text": %s}\n' % (kind, _quote(text))).encode()


def _send(msg, hold=False):
    """Sends one message; `hold` keeps it for the next send instead (a cell's tail — its
    value, count, error and `done` — goes out in one write: one wake-up of execd, not four).
    Any later message, from any thread, sends what is held first, so the order is kept; output
    waiting in the batch (_StreamWriter) goes before it too. A message already encoded (bytes, a
    JSON line) goes as it is."""
    if _batch.owner is not None:
        _flush_batch()
    _send_now(msg, hold)


def _send_now(msg, hold=False):
    data = msg if isinstance(msg, bytes) else (_dumps(msg) + '\n').encode('utf-8')
    me = _get_ident()
    if _batch.sending == me:
        # A signal handler's message, run mid-send on this thread: the channel's lock is its
        # own, so it goes with the next message (waiting for the lock never ended).
        _held.append(data)
        return
    with _send_lock:
        _batch.sending = me
        try:
            if hold:
                _held.append(data)
                return
            if _held:
                _held.append(data)
                data = b''.join(_held)
                del _held[:]
            _send_whole(data)
        finally:
            _batch.sending = None
    if _batch.late:
        _send_late()


def _send_whole(data):
    """sendall that a KeyboardInterrupt does not cut: one raised mid-send (execd not reading, a
    batch of 64 KiB blocked) left half a message on the channel, and the next one (the cell's
    error) was read as part of it. The interrupt is raised once the message is out. Once the
    interpreter has forked, the channel's lock across processes is held meanwhile (_Shared)."""
    sent = 0
    interrupted = None
    try:
        shared = _Shared.fd >= 0 and _Shared.lock()
    except KeyboardInterrupt as e:
        # An interrupt stops the wait (a holder that never lets go), not the message.
        interrupted = e
        shared = False
    try:
        while sent < len(data):
            try:
                sent += _chan.send(data if sent == 0 else memoryview(data)[sent:])
            except KeyboardInterrupt as e:
                interrupted = e
    finally:
        if shared:
            _Shared.unlock()
    if interrupted is not None:
        raise interrupted


class _Shared(object):
    """The channel once the interpreter has forked: a forked child (os.fork, multiprocessing's fork
    workers) prints through the driver's sys.stdout, so several processes send on one socket.
    The kernel queues a send in pieces of ~32 KiB, and another process's message went between
    two of them: execd found both torn and dropped them (four children and the parent printing
    lines of 200,000 characters lost half of them). A message is sent holding a POSIX lock of
    a memfd made before the first fork: such a lock is a process's, so it keeps the parent and
    its children apart (threads are kept apart by _send_lock), and the kernel lets go of it
    when its holder dies. Waited for WAIT at most (or until an interrupt), then sent unlocked as
    before: a child stopped while it holds it must not hang the parent's cells for good. Not
    less: at load 19 a parent waited over 2 s behind four children's long lines, and tore."""
    fd = -1
    fcntl = None
    WAIT = 60.0
    # Once a wait ran out, sends try the lock once and go on without it, until it is had again:
    # a holder stopped for good costs the parent one WAIT, not one a message.
    gave_up = False

    @classmethod
    def before_fork(cls):
        if cls.fd != -1:
            return
        try:
            import fcntl
            cls.fcntl = fcntl
            cls.fd = os.memfd_create('execd-channel', os.MFD_CLOEXEC)
        except Exception:
            cls.fd = -2  # no memfd or fcntl here: unlocked, as before

    @classmethod
    def lock(cls):
        """True once held; False when it was not had within WAIT (sent unlocked)."""
        fcntl = cls.fcntl
        nap = 0.0002
        end = None
        while True:
            try:
                fcntl.lockf(cls.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                cls.gave_up = False
                return True
            except (BlockingIOError, PermissionError):
                pass  # another process holds it
            except OSError:
                return False
            if cls.gave_up:
                return False
            now = _monotonic()
            if end is None:
                end = now + cls.WAIT
            elif now >= end:
                cls.gave_up = True
                return False
            _sleep(nap)
            nap = min(nap * 2, 0.005)

    @classmethod
    def unlock(cls):
        try:
            cls.fcntl.lockf(cls.fd, cls.fcntl.LOCK_UN)
        except OSError:
            pass


os.register_at_fork(before=_Shared.before_fork)
_sleep = __import__('time').sleep


# A large output or value goes as a bulk message: the line {"raw":<n>,"type":<kind>}, then n
# bytes of the event's text or results as the compact JSON execd itself writes for them, then a
# newline. execd copies those bytes into the event's frame as they are: parsing and writing a
# 30 MB value again held its event loop for seconds. Strings only: the JSON of a string is the
# same from either side, byte for byte (numbers, for one, are not).
_BULK_MIN = 64 * 1024


def _compact(value):
    encode = _encoders.get('compact')
    if encode is None:
        import json
        encode = _encoders['compact'] = json.JSONEncoder(
            ensure_ascii=False, separators=(',', ':'), check_circular=False).encode
    return encode(value)


def _bulk(kind, value):
    """The bulk message of `value` (a str, or a dict of str), or None for a lone surrogate
    (the plain message escapes it, as execd then does)."""
    try:
        body = _compact(value).encode('utf-8')
    except UnicodeEncodeError:
        return None
    return b''.join((('{"raw":%d,"type":"%s"}\n' % (len(body), kind)).encode(), body, b'\n'))


# --- no stdin ------------------------------------------------------------------------------

class StdinNotImplementedError(RuntimeError):
    pass


_NO_STDIN = 'input() is not supported: code runs without a terminal, stdin is closed (pass data in the code or a file)'


def _no_input(*args, **kwargs):
    raise StdinNotImplementedError(_NO_STDIN)


class _NoStdin(io.TextIOBase):
    def read(self, *a):
        raise StdinNotImplementedError(_NO_STDIN)
    readline = read

    def readable(self):
        return True

    def fileno(self):
        return 0


builtins.input = _no_input
sys.stdin = _NoStdin()
