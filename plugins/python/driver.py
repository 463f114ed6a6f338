# execd's in-interpreter half of the python runtime. Standard library only, python >= 3.8.
#
# Protocol: fd 3 is a socket to execd carrying JSON lines both ways. execd sends
# {"code": "..."}; the driver answers with events ({"type": "stdout", "text": ...}, "result",
# "execution_count", "error") and then {"type": "done"}. The user's fd 1 and 2 are pipes the
# driver forwards as stdout/stderr events, so protocol and user output never mix and output
# written by subprocesses is captured too. The original stderr is kept for fatal errors.
import ast
import base64
import builtins
import codecs
import importlib.abc
import importlib.util
import io
import json
import linecache
import os
import pprint
import signal
import socket
import sys
import threading
import traceback
import types

sys.argv = ['']  # execd passed this program as argv[1]
os.set_inheritable(3, False)  # a background child must not keep the channel open
_chan = socket.socket(fileno=3)
_chan_in = _chan.makefile('rb')
_send_lock = threading.Lock()


def _send(msg):
    data = (json.dumps(msg, default=str) + '\n').encode('utf-8')
    with _send_lock:
        _chan.sendall(data)


# --- user stdout/stderr: pipes forwarded as events --------------------------------------

_SENTINEL = b'\x00execd-sync\x00'


class _Forwarder(object):
    def __init__(self, fd, kind):
        self.kind = kind
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        self.r = r
        self.synced = threading.Event()
        self.decoder = codecs.getincrementaldecoder('utf-8')('replace')
        t = threading.Thread(target=self.loop, name='execd-' + kind, daemon=True)
        t.start()

    def emit(self, data):
        text = self.decoder.decode(data)
        if text:
            _send({'type': self.kind, 'text': text})

    def loop(self):
        pending = b''
        while True:
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


class _StreamWriter(io.TextIOBase):
    """sys.stdout/sys.stderr: sent as events by the writing thread itself, so stdout, stderr and
    results keep the order the cell wrote them in. Line-buffered; fileno() is the fd pipe."""

    def __init__(self, kind, fd):
        self.kind = kind
        self.fd = fd
        self.pending = []
        self.lock = threading.Lock()
        self.buffer = _BytesSink(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError('write() argument must be str, not %s' % type(text).__name__)
        if text:
            with self.lock:
                self.pending.append(text)
            if '\n' in text:
                self.flush()
        return len(text)

    def flush(self):
        with self.lock:
            text = ''.join(self.pending)
            self.pending = []
        if text:
            _send({'type': self.kind, 'text': text})

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
sys.stdout = sys.__stdout__ = _StreamWriter('stdout', 1)
sys.stderr = sys.__stderr__ = _StreamWriter('stderr', 2)
try:
    import faulthandler
    faulthandler.enable(file=os.fdopen(_orig_stderr_fd, 'w', closefd=False))
except Exception:
    pass


def _sync_output():
    """Waits until everything written to fd 1/2 so far has been sent, so events keep order."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    for fd, fw in ((1, _forwarders[0]), (2, _forwarders[1])):
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


# --- rich results --------------------------------------------------------------------------

_REPRS = [
    ('_repr_html_', 'text/html'),
    ('_repr_markdown_', 'text/markdown'),
    ('_repr_svg_', 'image/svg+xml'),
    ('_repr_png_', 'image/png'),
    ('_repr_jpeg_', 'image/jpeg'),
    ('_repr_json_', 'application/json'),
    ('_repr_latex_', 'text/latex'),
    ('_repr_javascript_', 'application/javascript'),
]


def _encode(mime, value):
    if isinstance(value, (bytes, bytearray)):
        if mime.startswith('image/') and mime != 'image/svg+xml':
            return base64.b64encode(bytes(value)).decode('ascii')
        return bytes(value).decode('utf-8', 'replace')
    if mime == 'application/json' or mime.endswith('+json'):
        return value
    return value if isinstance(value, str) else str(value)


def _plain(obj):
    try:
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            return pprint.pformat(obj, sort_dicts=False)
        return repr(obj)
    except Exception as e:  # a broken __repr__ must not break the cell
        return '<unrepresentable %s: %s>' % (type(obj).__name__, e)


def _figure_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight')
    return base64.b64encode(buf.getvalue()).decode('ascii')


def _bundle(obj):
    data = {}
    if not isinstance(obj, type):
        method = getattr(obj, '_repr_mimebundle_', None)
        if callable(method):
            try:
                got = method(include=None, exclude=None)
                if isinstance(got, tuple):
                    got = got[0]
                for mime, value in (got or {}).items():
                    data[mime] = _encode(mime, value)
            except Exception:
                pass
        for attr, mime in _REPRS:
            if mime in data:
                continue
            method = getattr(obj, attr, None)
            if not callable(method):
                continue
            try:
                value = method()
            except Exception:
                continue
            if isinstance(value, tuple):
                value = value[0]
            if value is not None:
                data[mime] = _encode(mime, value)
        if 'image/png' not in data and type(obj).__module__.startswith('matplotlib.figure'):
            try:
                data['image/png'] = _figure_png(obj)
            except Exception:
                pass
    if 'text/plain' not in data:
        data['text/plain'] = _plain(obj)
    data['text'] = data['text/plain']  # the Python SDK reads 'text'
    return data


class _Cell(object):
    """What the running cell has emitted; execution_count goes out once, before any result."""
    count = 0
    counted = False


def _emit_count():
    if not _Cell.counted:
        _Cell.counted = True
        _send({'type': 'execution_count', 'execution_count': _Cell.count})


def _emit_result(data):
    _sync_output()
    _emit_count()
    _send({'type': 'result', 'results': data})


def display(*objs, **kwargs):
    """Shows each object as a result (rich representations included), like IPython's display()."""
    raw = kwargs.get('raw', False)
    for obj in objs:
        if raw and isinstance(obj, dict):
            data = dict((k, _encode(k, v)) for k, v in obj.items())
            data.setdefault('text/plain', '')
            data['text'] = data['text/plain']
        else:
            data = _bundle(obj)
        _emit_result(data)


builtins.display = display


# --- matplotlib: Agg, figures shown on plt.show() and at the end of a cell --------------------

os.environ.setdefault('MPLBACKEND', 'Agg')


def _show_figures(*args, **kwargs):
    plt = sys.modules.get('matplotlib.pyplot')
    if plt is None:
        return
    try:
        nums = plt.get_fignums()
    except Exception:
        return
    for num in nums:
        try:
            fig = plt.figure(num)
            png = _figure_png(fig)
        except Exception as e:
            sys.stderr.write('execd: could not render figure %s: %s\n' % (num, e))
            continue
        _emit_result({'image/png': png, 'text/plain': '<Figure>', 'text': '<Figure>'})
    plt.close('all')


class _PyplotHook(importlib.abc.MetaPathFinder):
    """Replaces pyplot.show once pyplot is imported (and only then: no matplotlib at startup)."""

    def find_spec(self, name, path, target=None):
        if name != 'matplotlib.pyplot':
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            module.show = _show_figures
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PyplotHook())


# --- running cells ---------------------------------------------------------------------------

_main = types.ModuleType('__main__')
_main.__dict__['__builtins__'] = builtins
sys.modules['__main__'] = _main
_ns = _main.__dict__
_running = False
_CO_COROUTINE = 0x80
_TOP_LEVEL_AWAIT = getattr(ast, 'PyCF_ALLOW_TOP_LEVEL_AWAIT', 0)


def _on_sigint(signum, frame):
    # Idle SIGINTs (a late interrupt) are ignored; only a running cell is interrupted.
    if _running:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, _on_sigint)


def _run_code(code_obj):
    value = eval(code_obj, _ns)
    if code_obj.co_flags & _CO_COROUTINE:
        import asyncio
        value = asyncio.get_event_loop().run_until_complete(value)
    return value


def _execute(source, filename):
    tree = ast.parse(source, filename, 'exec')
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(';'):
        last = ast.Expression(tree.body.pop().value)
    if tree.body:
        _run_code(compile(tree, filename, 'exec', flags=_TOP_LEVEL_AWAIT))
    if last is not None:
        value = _run_code(compile(last, filename, 'eval', flags=_TOP_LEVEL_AWAIT))
        if value is not None:
            _ns['_'] = value
            _emit_result(_bundle(value))


_DRIVER_FILE = sys._getframe().f_code.co_filename


def _user_traceback(etype, value, tb):
    # The user's frames only: the driver's own (running the cell, input(), SIGINT) are hidden.
    lines = []
    if not isinstance(value, SyntaxError):
        frames = [f for f in traceback.extract_tb(tb) if f.filename != _DRIVER_FILE]
        if frames:
            lines.append('Traceback (most recent call last):\n')
            lines.extend(traceback.StackSummary.from_list(frames).format())
    lines.extend(traceback.format_exception_only(etype, value))
    return [line.rstrip('\n') for line in lines]


def _cell(source):
    global _running
    _Cell.count += 1
    _Cell.counted = False
    filename = '<cell-%d>' % _Cell.count
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    error = None
    try:
        _running = True
        try:
            _execute(source, filename)
            _show_figures()
        finally:
            _running = False
    except BaseException as e:  # SystemExit and KeyboardInterrupt are the cell's errors too
        error = {'type': 'error', 'error': {
            'ename': type(e).__name__,
            'evalue': str(e),
            'traceback': _user_traceback(type(e), e, e.__traceback__),
        }}
    _sync_output()
    _emit_count()
    if error is not None:
        _send(error)
    _send({'type': 'done'})


def _main_loop():
    _send({'type': 'ready', 'python': sys.version.split()[0], 'pid': os.getpid(), 'executable': sys.executable})
    while True:
        try:
            line = _chan_in.readline()
        except KeyboardInterrupt:
            continue
        if not line:
            return  # execd closed the channel
        try:
            msg = json.loads(line)
            if 'chdir' in msg:
                os.chdir(msg['chdir'])
                _send({'type': 'done'})
            else:
                _cell(msg.get('code', ''))
        except KeyboardInterrupt:
            _send({'type': 'done'})


_main_loop()
os._exit(0)
