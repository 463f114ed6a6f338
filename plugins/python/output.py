# execd python driver, part 2 of 4 (see driver.py): the user's stdout and stderr, sent as
# output events. Concatenated after driver.py; shares its globals.

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
# A line written this long after the last send goes at once, by the writing thread: the flusher
# needs the GIL, which a cell's C call may hold for seconds after its `print('computing…')`.
_BATCH_DELAY = 0.01
_monotonic = __import__('time').monotonic  # built in, loaded at every interpreter's start


class _Batch(object):
    """The output written and not yet sent, of one stream at a time: a write to the other
    stream, any other message (_send) and every flush send it first, so stdout, stderr and
    results keep the order the cell wrote them in. A line goes at once when none went for
    _BATCH_DELAY; else it, or text without a newline, arms the flusher, a thread that sends
    the batch _BATCH_DELAY later."""
    lock = _thread.allocate_lock()
    owner = None  # the _StreamWriter whose text waits
    sent_at = 0.0  # when a batch last went (_monotonic)
    armed = False  # the flusher will send the batch: set with wake released, cleared by the flusher only
    wake = _thread.allocate_lock()
    flusher = False  # started (lazily: a context that never prints starts no thread)
    # The threads holding the batch's lock and the channel's (_send_now), and what a signal
    # handler wrote meanwhile: python runs a handler on the main thread between any two
    # bytecodes, and its print waited for a lock its own thread held (a SIGALRM printing
    # while the cell printed hung the context for good, before batching too).
    holder = None
    sending = None
    late = []


_batch = _Batch()
_batch.wake.acquire()


_get_ident = _thread.get_ident


def _flush_batch():
    me = _get_ident()
    if _batch.holder == me or _batch.sending == me:  # a signal handler's flush: see _Batch.holder
        return
    _send_batch(me, False)


def _send_batch(me, disarm):
    """Sends the batch, holding its lock as `me`, then what signal handlers wrote meanwhile;
    `disarm` (the flusher's) clears armed under the lock, so a line written after is armed anew."""
    with _batch.lock:
        _batch.holder = me
        try:
            if disarm:
                _batch.armed = False
            if _batch.owner is not None:
                _batch.owner.send_pending()
        finally:
            _batch.holder = None
    if _batch.late:
        _send_late()


def _send_late():
    """Writes what signal handlers wrote while their thread held the batch or the channel, once
    it holds neither (the interrupted call's end)."""
    me = _get_ident()
    if _batch.holder == me or _batch.sending == me:
        return
    while _batch.late:
        stream, text = _batch.late.pop(0)
        stream.write(text)


def _flush_later():
    nap = _thread.allocate_lock()
    nap.acquire()
    while True:
        _batch.wake.acquire()
        nap.acquire(True, _BATCH_DELAY)
        _send_batch(_get_ident(), True)


def _batch_after_fork():
    """A forked child's batch: its own locks (another thread may have held the parent's: the
    batch's, or the channel's mid-send) and flusher (the parent's thread is not in the child)."""
    global _send_lock
    _batch.lock = _thread.allocate_lock()
    _batch.wake = _thread.allocate_lock()
    _batch.wake.acquire()
    _batch.armed = _batch.flusher = False
    _batch.holder = _batch.sending = None  # the parent's threads
    _send_lock = _thread.allocate_lock()
    # What waited to be sent at the fork is the parent's, which sends it: the child sent it again
    # before its own lines (a line printed just before os.fork() came twice). ipykernel's
    # streams start a forked child's buffer empty too.
    if _batch.owner is not None:
        _batch.owner.pending = []
        _batch.owner.held = 0
        _batch.owner = None
    del _held[:]
    del _batch.late[:]


os.register_at_fork(after_in_child=_batch_after_fork)

_os_exit = os._exit


def _exit_sent(status):
    """os._exit, the batch sent first: lines printed just before it waited for the flusher, and
    went with the process (a forked child's 100 lines and os._exit(0): none came, all 100 before
    batching), and what signal handlers wrote. Bounded: a lock held by another thread waits 1 s."""
    me = _get_ident()
    if _batch.holder != me and _batch.sending != me and _batch.lock.acquire(True, 1.0):
        _batch.holder = me
        try:
            while _batch.late:
                stream, text = _batch.late.pop(0)
                stream.add(text)
            if _batch.owner is not None:
                _batch.owner.send_pending()
        except BaseException:
            pass
        finally:
            _batch.holder = None
            _batch.lock.release()
    _os_exit(status)


os._exit = _exit_sent


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
        if not text:
            return 0
        me = _get_ident()
        if _batch.holder == me or _batch.sending == me:
            _batch.late.append((self, text))  # a signal handler's: see _Batch.holder
            return len(text)
        with _batch.lock:
            _batch.holder = me
            try:
                self.add(text)
            finally:
                _batch.holder = None
        if _batch.late:
            _send_late()
        return len(text)

    def add(self, text):
        """Puts text in the batch, and sends or arms it; the caller holds _batch.lock."""
        if _batch.owner is not self:
            if _batch.owner is not None:
                _batch.owner.send_pending()
            _batch.owner = self
        self.pending.append(text)
        self.held += len(text)
        if self.held >= _HOLD_MAX:
            self.send_pending()
        elif '\n' in text and _monotonic() - _batch.sent_at >= _BATCH_DELAY:
            self.send_pending()
        elif not _batch.armed:
            # Text without a newline is armed too, never sent at once (print's text and its
            # newline are two writes): a progress line rewritten with \r waited for a newline or
            # the cell's end, where Jupyter's kernels show it within 0.2 s.
            _batch.armed = True
            if not _batch.flusher:
                _batch.flusher = True
                _thread.start_new_thread(_flush_later, ())
            _batch.wake.release()

    def send_pending(self):
        """Sends the batch (this stream's text); the caller holds _batch.lock."""
        _batch.owner = None
        if not self.pending:  # a KeyboardInterrupt between a write's taking the batch and its append
            return
        text = ''.join(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending = []
        self.held = 0
        _batch.sent_at = _monotonic()
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
