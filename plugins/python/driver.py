# execd's in-interpreter half of the python runtime. Standard library only, python >= 3.8.
#
# Protocol: fd 3 is a socket to execd carrying JSON lines both ways. execd sends
# {"code": "...", "n": <cell number>, "k": <key>}; the driver answers with events ({"type":
# "stdout", "text": ...}, "result", "execution_count", "error") and then {"type": "done", "k":
# <the cell's key>}, which a cell writing to fd 3 cannot guess. fd 4 is a
# socket execd writes the number of the cell it interrupts to, just before its SIGINT. The user's fd 1 and 2 are pipes the
# driver forwards as stdout/stderr events, so protocol and user output never mix and output
# written by subprocesses is captured too. The original stderr is kept for fatal errors.
# The driver is three files run as one program (execd concatenates them): this one (protocol,
# output, stdin), results.py (rich results, display, matplotlib), cells.py (cells, main loop).
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
    with _send_lock:
        if hold:
            _held.append(data)
            return
        if _held:
            _held.append(data)
            data = b''.join(_held)
            del _held[:]
        _send_whole(data)


def _send_whole(data):
    """sendall that a KeyboardInterrupt does not cut: one raised mid-send (execd not reading, a
    batch of 64 KiB blocked) left half a message on the channel, and the next one (the cell's
    error) was read as part of it. The interrupt is raised once the message is out."""
    sent = 0
    interrupted = None
    while sent < len(data):
        try:
            sent += _chan.send(data if sent == 0 else memoryview(data)[sent:])
        except KeyboardInterrupt as e:
            interrupted = e
    if interrupted is not None:
        raise interrupted


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


# --- user stdout/stderr: pipes forwarded as events --------------------------------------

# Written into a pipe to learn it is drained. Random per interpreter: a fixed one in a cell's own
# output (or its subprocess's) vanished from it, and could wake the drain before the rest was out.
_SENTINEL = b'\x00execd-sync-' + os.urandom(8).hex().encode() + b'\x00'


class _Synced(object):
    """threading.Event's set, clear and wait, on _thread's locks (threading is not imported)."""

    def __init__(self):
        self.flag = False
        self.lock = _thread.allocate_lock()
        self.waiters = []

    def set(self):
        with self.lock:
            self.flag = True
            for waiter in self.waiters:
                waiter.release()
            del self.waiters[:]

    def clear(self):
        with self.lock:
            self.flag = False

    def wait(self, timeout):
        with self.lock:
            if self.flag:
                return True
            waiter = _thread.allocate_lock()
            waiter.acquire()
            self.waiters.append(waiter)
        if waiter.acquire(True, timeout):
            return True
        with self.lock:
            if waiter in self.waiters:  # timed out: no set() will release it
                self.waiters.remove(waiter)
            return self.flag


class _Forwarder(object):
    def __init__(self, fd, kind):
        self.kind = kind
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        self.r = r
        self.busy = False  # holds bytes read from the pipe but not yet sent
        self.synced = _Synced()
        # Asked before every read: one poll object, not select()'s lists built anew each time.
        self.readable = select.poll()
        self.readable.register(r, select.POLLIN)
        self.decoder = codecs.getincrementaldecoder('utf-8')('replace')
        # Not a threading.Thread: python neither waits for it at exit nor lists it
        # (threading.enumerate() shows the cell's threads only).
        _thread.start_new_thread(self.loop, ())

    def emit(self, data):
        text = self.decoder.decode(data)
        if text:
            _send(_text_message(self.kind, text))

    def loop(self):
        pending = b''
        while True:
            self.readable.poll()
            self.busy = True  # before the read: _sync_output checks the pipe, then this flag
            chunk = os.read(self.r, 65536)
            if not chunk:
                return
            pending += chunk
            while True:
                i = pending.find(_SENTINEL)
                if i < 0:
                    break
                self.emit(pending[:i])
                pending = pending[i + len(_SENTINEL):]
                self.synced.set()
            # keep a possible sentinel prefix for the next read
            keep = 0
            for n in range(len(_SENTINEL) - 1, 0, -1):
                if pending.endswith(_SENTINEL[:n]):
                    keep = n
                    break
            if len(pending) > keep:
                self.emit(pending[:len(pending) - keep])
                pending = pending[len(pending) - keep:]
            self.busy = bool(pending)


# What a stream holds before it sends it, in characters: held until the cell's end, a cell
# writing 1 GiB of dots kept all of it (three times over while it was joined and encoded) and
# then lost it whole, with the lines after it, past execd's 128 MiB an event. A batch this size
# goes out as one bulk message (_BULK_MIN), which execd frames from its bytes.
_HOLD_MAX = 64 * 1024
# The most characters one output message carries: 12 bytes of JSON at worst each (an astral
# character escaped as two \u escapes), 12 MiB, well under the 128 MiB execd takes as one event.
_PIECE_MAX = 1 << 20
# How long a written line may wait in the batch for more (seconds). Sent a message a line, a
# flood of short lines cost execd a JSON parse and an event each (30 ms of its CPU per MiB of
# 112-byte lines); batched, one bulk message per 64 Ki characters. Jupyter's kernels batch
# their output too (every 0.2 s); a line printed before a sleep still arrives within this.
_BATCH_DELAY = 0.01


class _Batch(object):
    """The output written and not yet sent, of one stream at a time: a write to the other
    stream, any other message (_send) and every flush send it first, so stdout, stderr and
    results keep the order the cell wrote them in. A line in it arms the flusher, a thread that
    sends it _BATCH_DELAY later; text without a newline waits for one, a flush or _HOLD_MAX."""
    lock = _thread.allocate_lock()
    owner = None  # the _StreamWriter whose text waits
    armed = False  # the flusher will send the batch: set with wake released, cleared by the flusher only
    wake = _thread.allocate_lock()
    flusher = False  # started (lazily: a context that never prints starts no thread)


_batch = _Batch()
_batch.wake.acquire()


def _flush_batch():
    with _batch.lock:
        if _batch.owner is not None:
            _batch.owner.send_pending()


def _flush_later():
    nap = _thread.allocate_lock()
    nap.acquire()
    while True:
        _batch.wake.acquire()
        nap.acquire(True, _BATCH_DELAY)
        with _batch.lock:
            _batch.armed = False
            if _batch.owner is not None:
                _batch.owner.send_pending()


def _batch_after_fork():
    """A forked child's batch: its own lock (another thread may have held the parent's) and
    flusher (the parent's thread is not in the child)."""
    _batch.lock = _thread.allocate_lock()
    _batch.wake = _thread.allocate_lock()
    _batch.wake.acquire()
    _batch.armed = _batch.flusher = False


os.register_at_fork(after_in_child=_batch_after_fork)


class _StreamWriter(io.TextIOBase):
    """sys.stdout/sys.stderr: sent as events in batches (_Batch), by the writing thread itself
    or the flusher. fileno() is the fd pipe."""

    def __init__(self, kind, fd):
        self.kind = kind
        self.fd = fd
        self.pending = []
        self.held = 0
        self.buffer = _BytesSink(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError('write() argument must be str, not %s' % type(text).__name__)
        if text:
            with _batch.lock:
                if _batch.owner is not self:
                    if _batch.owner is not None:
                        _batch.owner.send_pending()
                    _batch.owner = self
                self.pending.append(text)
                self.held += len(text)
                if self.held >= _HOLD_MAX:
                    self.send_pending()
                elif not _batch.armed and '\n' in text:
                    _batch.armed = True
                    if not _batch.flusher:
                        _batch.flusher = True
                        _thread.start_new_thread(_flush_later, ())
                    _batch.wake.release()
        return len(text)

    def send_pending(self):
        """Sends the batch (this stream's text); the caller holds _batch.lock."""
        _batch.owner = None
        if not self.pending:  # a KeyboardInterrupt between a write's taking the batch and its append
            return
        text = ''.join(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending = []
        self.held = 0
        for at in range(0, len(text), _PIECE_MAX):
            piece = text if len(text) <= _PIECE_MAX else text[at:at + _PIECE_MAX]
            _send_now((len(piece) >= _BULK_MIN and _bulk(self.kind, piece)) or _text_message(self.kind, piece))

    def flush(self):
        # Whichever stream's text waits goes: it was written before anything still to come.
        if _batch.owner is not None:  # every cell's sync flushes both streams, most often with nothing
            _flush_batch()

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self.fd

    @property
    def encoding(self):
        return 'utf-8'


class _BytesSink(object):
    def __init__(self, owner):
        self.owner = owner
        self.decoder = codecs.getincrementaldecoder('utf-8')('replace')

    def write(self, data):
        self.owner.write(self.decoder.decode(bytes(data)))
        return len(data)

    def flush(self):
        self.owner.flush()


_orig_stderr_fd = os.dup(2)
_forwarders = [_Forwarder(1, 'stdout'), _Forwarder(2, 'stderr')]
# Both pipes asked at once by every sync (a warm cell's one poll), with both registered once
# per thread: a poll object refuses a second poll() while one runs (display() in a thread syncs
# too), and select() built its lists anew each time.
_pipe_polls = _thread._local()


def _pipes_readable():
    poll = getattr(_pipe_polls, 'poll', None)
    if poll is None:
        poll = _pipe_polls.poll = select.poll()
        for fw in _forwarders:
            poll.register(fw.r, select.POLLIN)
    return poll.poll(0)


sys.stdout = sys.__stdout__ = _StreamWriter('stdout', 1)
sys.stderr = sys.__stderr__ = _StreamWriter('stderr', 2)
try:
    import faulthandler
    faulthandler.enable(file=os.fdopen(_orig_stderr_fd, 'w', closefd=False), all_threads=False)
except Exception:
    pass


def _sync_output():
    """Waits until everything written to fd 1/2 so far has been sent, so events keep order."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    # Nothing in either pipe and nothing held by a forwarder: already in order (the common
    # case, asked of the kernel once for both pipes: a warm cell syncs twice).
    polled = _pipes_readable()
    if not polled and not _forwarders[0].busy and not _forwarders[1].busy:
        return
    readable = [fd for fd, _ in polled]
    for fd, fw in ((1, _forwarders[0]), (2, _forwarders[1])):
        if fw.r not in readable and not fw.busy:
            continue
        fw.synced.clear()
        try:
            os.write(fd, _SENTINEL)
        except OSError:
            continue
        fw.synced.wait(5)


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
