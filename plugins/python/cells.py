# execd python driver, part 4 of 4 (see driver.py): running cells, the main loop.
# Concatenated after results.py; shares its globals.

# --- running cells ---------------------------------------------------------------------------

# type(sys) is ModuleType: the types module was ~1M instructions of a start where site had not loaded it.
_main = type(sys)('__main__')
_main.__dict__['__builtins__'] = builtins
sys.modules['__main__'] = _main
_ns = _main.__dict__
_running = False
_cell_n = None  # execd's number of the cell being run (or about to be)
_interrupt_for = None  # the newest cell execd asked to interrupt
_CO_COROUTINE = 0x80
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (3.8+), without importing ast at startup




def _done(key):
    """The message every cell ends with, carrying the key execd sent with the cell: a cell can
    write to fd 3 too, and a `done` it wrote ended its run early, every later run then ending
    on its predecessor's `done` with its output. Put together by hand (json.dumps was a tenth
    of a warm cell's time here)."""
    return ('{"type": "done", "k": %s}\n' % _quote(key if isinstance(key, str) else '')).encode()


def _interrupt_requests():
    """Takes the cell numbers execd wrote to fd 4 (each before its SIGINT); True if any came."""
    global _interrupt_for
    asked = False
    while True:
        try:
            data = _interrupts.recv(4096)
        except OSError:  # nothing more now (EAGAIN), or execd is gone
            return asked
        if not data:
            return asked
        try:
            _interrupt_for = int(data.split()[-1])
            asked = True
        except ValueError:
            pass


def _on_sigint(signum, frame):
    # execd tells which cell an interrupt is for, so no message has to say a cell started: one
    # that comes before its cell runs is kept for it (_cell checks), one for a cell that has
    # ended (a late interrupt) is dropped. A SIGINT execd did not ask for (kill -INT, the cell's
    # own) interrupts a running cell, as Python's default does.
    asked = _interrupt_requests()
    if _running and not (asked and _interrupt_for != _cell_n):
        raise KeyboardInterrupt


_signal.signal(_signal.SIGINT, _on_sigint)


def _run_code(code_obj):
    value = eval(code_obj, _ns)
    if code_obj.co_flags & _CO_COROUTINE:
        import asyncio
        value = asyncio.get_event_loop().run_until_complete(value)
    return value


# A line that may be one expression: no statement keyword first, no `;`, no `=` of an
# assignment (`==`, `!=`, `<=`, `>=` are comparisons). A line it lets through that is no
# expression only costs a failed compile; one it stops takes the syntax tree's way, as before.
# By hand, not a regular expression: importing re was ~2 ms of every cold context's start.
_STATEMENTS = frozenset((
    'import', 'from', 'def', 'class', 'for', 'while', 'if', 'with', 'try', 'del', 'pass', 'return',
    'raise', 'global', 'nonlocal', 'assert', 'break', 'continue'))
_ASYNC_STATEMENTS = frozenset(('def', 'for', 'with'))


def _first_word(text, at=0):
    """The identifier-like word at `at` (after blanks), and where it ends."""
    n = len(text)
    while at < n and text[at].isspace():
        at += 1
    end = at
    while end < n and (text[end].isalnum() or text[end] == '_'):
        end += 1
    return text[at:end], end


def _maybe_expression(source):
    if ';' in source or '\n' in source:
        return False
    word, end = _first_word(source)
    if word in _STATEMENTS or (word == 'async' and _first_word(source, end)[0] in _ASYNC_STATEMENTS):
        return False
    at = source.find('=')
    while at >= 0:
        if source.startswith('=', at + 1):  # `==`
            at = source.find('=', at + 2)
        elif at > 0 and source[at - 1] in '!<>':  # `!=`, `<=`, `>=`
            at = source.find('=', at + 1)
        else:
            return False
    return True


def _compiled_expression(source, filename):
    """The code of a cell that is one expression, compiled from its source (the syntax tree's
    way builds Python objects of the tree and compiles them back: two compiles, most of a warm
    `x + 1`'s time in the driver); None when it is not one."""
    if not _maybe_expression(source.strip()):
        return None
    try:
        return compile(source, filename, 'eval', flags=_TOP_LEVEL_AWAIT)
    except Exception:  # not an expression after all: the syntax tree's way says what is wrong
        return None


def _execute(source, filename):
    """Runs the cell; True when its last act was sending its value (output synced then)."""
    last = _compiled_expression(source, filename)
    if last is None:
        import ast
        tree = ast.parse(source, filename, 'exec')
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(';'):
            last = ast.Expression(tree.body.pop().value)
        if tree.body:
            _run_code(compile(tree, filename, 'exec', flags=_TOP_LEVEL_AWAIT))
        if last is not None:
            last = compile(last, filename, 'eval', flags=_TOP_LEVEL_AWAIT)
    if last is not None:
        value = _run_code(last)
        if value is not None:
            _ns['_'] = value
            _emit_result(_value_message(value), hold=True)
            return True  # output synced by the send
    return False


_DRIVER_FILE = sys._getframe().f_code.co_filename


# Cells' sources for linecache (tracebacks, inspect.getsource), kept here until something
# imports it: importing it for every cell was ~5 ms of a cold context's first (tokenize, re).
# The source alone: its lines are split when linecache takes it (most cells never meet linecache).
_cell_sources = {}
# Only the newest cells' sources are kept, here or in linecache: every cell's was, and a context
# that lived for thousands of cells grew by each one (2,000 cells of 20 KB: +50 MiB). An older
# cell's lines are gone from tracebacks, as a javascript context keeps its newest 200 cells'.
_SOURCES_KEPT = 1000
_SOURCE_CHARS_KEPT = 16 * 1024 * 1024
_remembered = {}  # filename -> its length, oldest first (dicts keep their order)
_remembered_chars = 0


def _remember_source(filename, source):
    global _remembered_chars
    _cell_sources[filename] = source
    _remembered[filename] = len(source)
    _remembered_chars += len(source)
    while len(_remembered) > 1 and (len(_remembered) > _SOURCES_KEPT or _remembered_chars > _SOURCE_CHARS_KEPT):
        oldest = next(iter(_remembered))
        _remembered_chars -= _remembered.pop(oldest)
        _cell_sources.pop(oldest, None)
        linecache = sys.modules.get('linecache')
        if linecache is not None:
            linecache.cache.pop(oldest, None)
    _fill_linecache()


def _linecache_entries():
    """The cells' sources as linecache's entries, taken from _cell_sources."""
    entries = dict((filename, (len(source), None, source.splitlines(True), filename))
                   for filename, source in _cell_sources.items())
    _cell_sources.clear()
    return entries


def _fill_linecache():
    linecache = sys.modules.get('linecache')
    if linecache is not None and _cell_sources:
        linecache.cache.update(_linecache_entries())


class _LinecacheImport(object):
    """First on sys.meta_path until linecache is imported, by anyone (inspect, traceback, a
    cell): the module it finds fills its cache with the cells' sources once it has loaded."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != 'linecache':
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = getattr(spec, 'loader', None)
        if loader is None or not hasattr(loader, 'exec_module'):
            return spec  # cells still fill it, from their next one on (and any traceback does)
        load = loader.exec_module

        def exec_module(module):
            load(module)
            module.cache.update(_linecache_entries())
        loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _LinecacheImport)


def _user_traceback(etype, value, tb):
    # The user's frames only: the driver's own (running the cell, input(), SIGINT) are hidden.
    import traceback
    _fill_linecache()
    lines = []
    if not isinstance(value, SyntaxError):
        frames = [f for f in traceback.extract_tb(tb) if f.filename != _DRIVER_FILE]
        if frames:
            lines.append('Traceback (most recent call last):\n')
            lines.extend(traceback.StackSummary.from_list(frames).format())
    lines.extend(traceback.format_exception_only(etype, value))
    return [line.rstrip('\n') for line in lines]


def _error_value(e):
    # User code decides what str() of its exception does, raising included: that must not
    # take the driver down with the cell. repr is the next best text, then the type's name.
    for text in (str, repr):
        try:
            return text(e)
        except BaseException:
            pass
    return type(e).__name__


_DRIVER_PID = os.getpid()


def _leave_if_forked(error):
    """A cell that forked, its child back here at the cell's end: that child is no driver. Gone
    on, it read execd's channel beside the interpreter, its own value came as the next cell's,
    and later cells ran in either process at random, each with its own state. It ends as its
    cell did (a SystemExit's code), nothing more sent than its batch (os._exit sends it, on locks
    made anew at the fork: one another thread held there stays held in the child)."""
    if os.getpid() == _DRIVER_PID:
        return
    code = 0
    if error is not None:
        code = sys.last_value.code if isinstance(sys.last_value, SystemExit) else 1
        code = 0 if code is None else code if isinstance(code, int) else 1
    os._exit(code & 0xFF)


def _cell(source, n, key):
    global _running, _cell_n
    _Cell.count += 1
    _Cell.counted = False
    filename = '<cell-%d>' % _Cell.count
    _remember_source(filename, source)
    error = None
    synced = False
    try:
        _cell_n = n
        _running = True
        try:
            # From here on a SIGINT interrupts this cell; one that came for it before is met here.
            if n is not None and _interrupt_for == n:
                raise KeyboardInterrupt
            synced = _execute(source, filename)
            if 'matplotlib.pyplot' in sys.modules:
                synced = False  # drawing the figures runs code that may write
                _show_figures()
        finally:
            _running = False
    except BaseException as e:  # SystemExit and KeyboardInterrupt are the cell's errors too
        synced = False
        # Kept as python's own prompt and IPython keep it (pdb.pm() works after a failed cell);
        # `execd exec` reads sys.last_value.code where SystemExit's text alone is ambiguous.
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e, e.__traceback__
        if sys.version_info >= (3, 12):
            sys.last_exc = e
        error = {'type': 'error', 'error': {
            'ename': type(e).__name__,
            'evalue': _error_value(e),
            'traceback': _user_traceback(type(e), e, e.__traceback__),
        }}
    _leave_if_forked(error)
    # The value's send, the cell's last act, synced the output already.
    if not synced:
        _sync_output()
    if not _Cell.counted:
        _emit_count(hold=True)
    if error is not None:
        _send(error, hold=True)
    _send(_done(key))


# json.loads(bytes) guesses the encoding first (execd's lines are UTF-8): a tenth of a warm
# cell. The decoder's C scanner itself: JSONDecoder.decode's Python layers around it took 1 of
# its 1.4 µs. execd's lines are one JSON object each, from its first character.
class _ScanContext(object):
    # What the C scanner reads of a JSONDecoder: json.decoder itself is not imported (see the
    # driver's imports). execd never sends NaN or Infinity; they parse as json does.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {'-Infinity': float('-inf'), 'Infinity': float('inf'), 'NaN': float('nan')}.__getitem__
    memo = {}


_scan_message = _json.make_scanner(_ScanContext())


def _decode_message(text):
    return _scan_message(text, 0)[0]


def _ready_message():
    """`ready`, with this interpreter's version in full and, when execd asked for it (it has
    none for this interpreter yet), the driver's compiled code: execd hands that to the next
    interpreter it starts, which then skips compiling the driver (~5 ms of a cold start)."""
    code = ''
    global _execd_compiled
    compiled = globals().get('_execd_compiled')
    if compiled is not None:
        _execd_compiled = None  # sent once; the code object is not kept for it
        import marshal
        code = ', "code": "%s"' % marshal.dumps(compiled).hex()
    return ('{"type": "ready", "python": %s, "version": %s, "pid": %d, "executable": %s%s}\n' % (
        _quote(sys.version.split()[0]), _quote(sys.version), os.getpid(), _quote(sys.executable or ''), code)).encode()


def _main_loop():
    _send(_ready_message())
    while True:
        try:
            line = _read_line()
        except KeyboardInterrupt:
            continue
        if not line:
            return  # execd closed the channel
        key = None
        try:
            msg = _decode_message(line.decode('utf-8', 'surrogatepass'))
            key = msg.get('k')
            if 'chdir' in msg:
                # A spare interpreter handed to a new context: take its cwd (and env) now.
                os.chdir(msg['chdir'])
                os.environ['PWD'] = msg['chdir']
                _send(_done(key))
            else:
                _cell(msg.get('code', ''), msg.get('n'), key)
        except KeyboardInterrupt:
            _send(_done(key))


_main_loop()
os._exit(0)
