# execd python driver, part 3 of 3 (see driver.py): running cells, the main loop.
# Concatenated after results.py; shares its globals.

# --- running cells ---------------------------------------------------------------------------

_main = types.ModuleType('__main__')
_main.__dict__['__builtins__'] = builtins
sys.modules['__main__'] = _main
_ns = _main.__dict__
_running = False
_CO_COROUTINE = 0x80
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (3.8+), without importing ast at startup


# The messages every cell sends, encoded once (json.dumps was a tenth of a warm cell's time here).
_STARTED = b'{"type": "started"}\n'
_DONE = b'{"type": "done"}\n'


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
    import ast
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
            _emit_result(_bundle(value), hold=True)


_DRIVER_FILE = sys._getframe().f_code.co_filename


def _user_traceback(etype, value, tb):
    # The user's frames only: the driver's own (running the cell, input(), SIGINT) are hidden.
    import traceback
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
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    error = None
    try:
        _running = True
        try:
            # From here on SIGINT interrupts this cell; execd holds an interrupt until it sees this.
            _send(_STARTED)
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
    _emit_count(hold=True)
    if error is not None:
        _send(error, hold=True)
    _send(_DONE)


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
                # A spare interpreter handed to a new context: take its cwd (and env) now.
                os.chdir(msg['chdir'])
                os.environ['PWD'] = msg['chdir']
                _send(_DONE)
            else:
                _cell(msg.get('code', ''))
        except KeyboardInterrupt:
            _send(_DONE)


_main_loop()
os._exit(0)
