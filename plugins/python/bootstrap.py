# execd's python bootstrap (passed with -c): argv[1] is the driver's source, argv[2] how many
# bytes execd writes to fd 3 before its first message: a python version, a NUL, and the driver's
# code as marshal made it in an earlier interpreter of that version (0: none yet). Code of this
# very version is run as it is; otherwise the source is compiled (~5 ms of a cold start) and the
# code offered back to execd in `ready` (cells.py) for the next interpreter.
import sys


def _execd_boot():
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if size > 0:
        import _socket
        import marshal
        chan = _socket.socket(fileno=3)
        data = bytearray()
        try:
            while len(data) < size:
                chunk = chan.recv(size - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            chan.detach()  # the driver's channel: not closed here
        version, _, code = bytes(data).partition(b'\0')
        if version == sys.version.encode('utf-8', 'surrogatepass'):
            try:
                return marshal.loads(code), None
            except Exception:
                pass
    code = compile(sys.argv[1], '<execd-driver>', 'exec')
    return code, code


_execd_code, _execd_compiled = _execd_boot()
del _execd_boot
exec(_execd_code)
