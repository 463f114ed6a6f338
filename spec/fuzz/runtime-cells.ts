/**
 * The hostile cells of the runtimes fuzz (runtimes.ts), per language: code that exits or kills
 * its interpreter, panics, floods, writes bytes JSON cannot hold, spawns a process, reads stdin,
 * runs forever or ignores an interrupt, writes lies into python's channel; and what a cell
 * queued behind another runs.
 */
/** `snake` is a language only the fuzz world's Jupyter server offers (ipykernel, world.ts). */
export type Language = 'java' | 'go' | 'sql' | 'snake' | 'python'

export interface Cell {
  code: (m: string) => string
  /** Never ends by itself: only ever interrupted or cut off. */
  endless?: boolean
  /** Starts `sleep <marker>`: nothing of it may outlive the context. */
  spawns?: boolean
  /** Refused before it runs (an empty cell: 400). */
  refused?: boolean
}
const fixed = (code: string, more: Omit<Cell, 'code'> = {}): Cell => ({ code: () => code, ...more })

const JAVA: Cell[] = [
  fixed('int x = 41;'),
  fixed('x + 1'),
  fixed('System.out.println("nul \\u0000 lone \\uD800 bom \\uFEFF 🙂 é");'),
  fixed('"\\uD800" + "\\uDC00x" + "\\u0000"'),
  fixed('throw new RuntimeException("boom\\n\\tat fake.Frame(x.java:1)");'),
  fixed('System.exit(3);'),
  fixed('Runtime.getRuntime().halt(9);'),
  fixed('/exit'),
  fixed('/reset'),
  fixed('/open /etc/hostname'),
  fixed('/env -class-path /nonexistent'),
  fixed('int[] big = new int[Integer.MAX_VALUE];'),
  fixed('int y = ;'),
  fixed('class A {'),
  fixed('"unterminated'),
  fixed('/* never closed'),
  fixed('System.out.print("x".repeat(1 << 20));'),
  fixed('System.err.println("e".repeat(70000));'),
  // 6,000 snippets: jshell evaluates each on its own (100 took 6.9 s here, 500 13 s), so it is
  // only ever interrupted (it lands within ms) or cut off.
  fixed(`${'int a0 = 0; '.repeat(6000)}`, { endless: true }),
  fixed(`String big = "${'x'.repeat(70_000)}";`),
  fixed('', { refused: true }),
  fixed('   \n\t'),
  fixed('System.out.close(); System.err.close();'),
  fixed('System.setOut(null);'),
  fixed('new Object() { public String toString() { throw new IllegalStateException("no"); } }'),
  fixed('Thread t = new Thread(() -> { try { Thread.sleep(60_000); } catch (Exception e) {} }); t.start();'),
  fixed('System.in.read()'),
  { code: m => `new ProcessBuilder("sleep", "${m}").start();`, spawns: true },
  { code: m => `new ProcessBuilder("setsid", "sleep", "${m}").start();`, spawns: true },
  fixed('while (true) {}', { endless: true }),
  fixed('Thread.sleep(60_000);', { endless: true }),
  fixed('while (true) System.out.println("flood");', { endless: true }),
  fixed('for (;;) { try { Thread.sleep(60_000); } catch (InterruptedException e) {} }', { endless: true }),
]

const GO: Cell[] = [
  fixed('var x = 41'),
  fixed('x + 1'),
  fixed('fmt.Println("nul \\x00 bad \\xff\\xfe end")'),
  fixed('"\\xff\\xfe" + string(rune(0xD800))'),
  fixed('panic("boom")'),
  fixed('panic(nil)'),
  fixed('os.Exit(3)'),
  fixed('syscall.Kill(os.Getppid(), syscall.SIGKILL)'),
  fixed('var p *int\n*p = 1'),
  fixed('package main'),
  fixed('func main() {}'),
  fixed('import "C"'),
  fixed('import "nonexistent.example/pkg"'),
  fixed('x := '),
  fixed('func f() {'),
  fixed('fmt.Print(strings.Repeat("x", 1<<20))'),
  fixed('', { refused: true }),
  fixed('//go:generate touch generated\nvar g = 1'),
  fixed('os.Stdin.Read(make([]byte, 1))'),
  fixed('go func() { time.Sleep(time.Minute) }()'),
  { code: m => `exec.Command("sleep", "${m}").Start()`, spawns: true },
  { code: m => `exec.Command("setsid", "sleep", "${m}").Start()`, spawns: true },
  {
    code: m => `cmd := exec.Command("sleep", "${m}")\ncmd.Start()\ntime.Sleep(time.Minute)`,
    spawns: true,
    endless: true,
  },
  fixed('for {}', { endless: true }),
  fixed('time.Sleep(time.Minute)', { endless: true }),
  fixed('signal.Ignore(os.Interrupt, syscall.SIGTERM)\ntime.Sleep(time.Minute)', { endless: true }),
  fixed('for { fmt.Println("flood") }', { endless: true }),
  // The cell splitter's statement forms: labels, empty for clauses, braces and %% in strings
  // and comments, a for whose condition is a function literal.
  fixed(
    'outer:\nfor i := 0; i < 3; i++ {\n\tfor j := 0; j < 3; j++ {\n\t\tif j == 1 {\n\t\t\tcontinue outer\n\t\t}\n\t\tfmt.Println(i, j)\n\t}\n}',
  ),
  fixed('for i := 0; ; i++ {\n\tif i > 2 {\n\t\tbreak\n\t}\n}'),
  fixed('for ; ; {\n\tbreak\n};;'),
  fixed('L:\nfor {\n\tselect {\n\tdefault:\n\t\tbreak L\n\t}\n}'),
  fixed('goto end\nend:\nfmt.Println("end")'),
  fixed('L:\nfmt.Println(1)'),
  fixed('for i := range 3 {\n\tdefer fmt.Println(i)\n}'),
  fixed('for _, s := range []string{"}", "{", "%%"} {\n\tfmt.Println(s)\n}'),
  fixed('x := `for {\n%%\n}`\nfmt.Println(len(x))'),
  fixed('for i := 0; i < 2; i++ { /* } %% */ fmt.Println(i) }'),
  fixed('for func() bool { return false }() {\n}'),
  fixed('type T struct{}\nfunc (T) M() string { for { return "m" } }\nfmt.Println(T{}.M())'),
  fixed('func() string { for { return "x" } }()'),
  fixed('os.RemoveAll(filepath.Dir(os.Args[0]))'),
  fixed('os.Remove("go.mod")\nos.Remove("execd.go")'),
  fixed('for {\n\tbreak\n}\nfor {'),
]

// SQLite in a child (plugins/sql/child.ts): results past --sql-max-rows, blobs, bytes JSON cannot
// hold, dot-commands with bad targets, a transaction left open, a query that never ends.
const SQL: Cell[] = [
  fixed('CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)'),
  fixed('SELECT * FROM t'),
  fixed("SELECT char(0) || 'nul', char(55296), x'fffe00', 1e999, -0.0, 9223372036854775807 + 1"),
  fixed('SELECT randomblob(1 << 20)'),
  fixed(
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 30000) SELECT x, hex(randomblob(8)) FROM c',
  ),
  fixed('SELECT length(zeroblob(50000000))'),
  fixed('SELECT * FROM pragma_function_list'),
  fixed("SELECT 1; SELECT 'two'; SELECT"),
  fixed("SELECT 'unterminated"),
  fixed(';;;'),
  fixed('BEGIN; INSERT INTO t VALUES (3)'),
  fixed('ROLLBACK'),
  fixed("ATTACH ':memory:' AS a2; CREATE TABLE a2.u(y); SELECT * FROM a2.u"),
  fixed("SELECT load_extension('/nonexistent')"),
  fixed('PRAGMA writable_schema = 1; SELECT * FROM sqlite_master'),
  fixed('.tables'),
  fixed('.open :memory:'),
  fixed('.open /nonexistent/dir/x.db'),
  fixed('.bogus command'),
  fixed('.open'),
  fixed('', { refused: true }),
  fixed('  -- only a comment\n'),
  fixed('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', { endless: true }),
  // Rows without end are read only to --sql-max-rows: this one ends by itself (~30 ms), and an
  // interrupt that comes as it ends answers 200 beside its result (seed 50001). The endless one
  // keeps its rows from the limit.
  fixed('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c'),
  fixed('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0', {
    endless: true,
  }),
]

// Python through the Jupyter bridge (plugins/jupyter): the kernel killed or exiting mid-cell,
// interrupts (also ignored ones), outputs large and many, display floods, input(), IPython magics.
const SNAKE: Cell[] = [
  fixed('x = 41'),
  fixed('x + 1'),
  fixed('import os\nos.kill(os.getpid(), 9)'),
  fixed('import os\nos._exit(3)'),
  fixed('exit()'),
  fixed('raise KeyboardInterrupt'),
  fixed('raise SystemExit(4)'),
  fixed('1/0'),
  fixed('print("x" * (1 << 22))'),
  fixed('for i in range(20000): print(i)'),
  fixed('import sys\nfor i in range(3000): sys.stderr.write("e%d\\n" % i); sys.stdout.write("o%d\\n" % i)'),
  fixed('from IPython.display import display, HTML\nfor i in range(2000): display(HTML("<b>%d</b>" % i))'),
  fixed('from IPython.display import JSON\nd = {}\nfor i in range(200): d = {"a": d}\nJSON(d)'),
  fixed('print("\\udc80 lone \\x00 nul \\x1b[31m esc")'),
  fixed('"\\udc80" + "\\x00"'),
  fixed('input("who? ")'),
  fixed('%%bash\necho from bash'),
  fixed('%time 1 + 1'),
  fixed('def f(:'),
  fixed('', { refused: true }),
  fixed('import os\nos.close(1); os.close(2); print("gone")'),
  { code: m => `import subprocess\nsubprocess.Popen(["sleep", "${m}"])`, spawns: true },
  fixed('import time\ntime.sleep(60)', { endless: true }),
  fixed('while True: pass', { endless: true }),
  fixed('import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)', { endless: true }),
  fixed('while True: print("flood")', { endless: true }),
  fixed('import time\nwhile True:\n    try: time.sleep(60)\n    except KeyboardInterrupt: pass', { endless: true }),
]

// execd's own python (plugins/python): its protocol channel is fd 3 (JSON lines, and bulk
// messages: a `{"raw":n,...}` header, then n bytes), and a cell may write there, close it, or
// die halfway through a message: lines cut, huge, not UTF-8, nested deep, thousands at once;
// bulk headers that lie about their length, type or payload, split across writes.
const chan = (bytes: string) => `import os, socket\n_c = socket.socket(fileno=os.dup(3))\n_c.sendall(${bytes})`
const pyBytes = (t: string) => `b'${t.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
/** A bulk message whose header tells its payload's length truly (the payload is ASCII). */
const bulk = (type: string, payload: string) => `{"raw":${payload.length},"type":"${type}"}\n${payload}\n`
/** Escapes of every kind in keys and values, as the driver would send them, then shapes it would not. */
const BULK_ESCAPES = [
  bulk('result', '{"te\\u0078t/plain":"a\\/b\\"c\\u00e9\\n\\t\\b\\f\\r","k\\"2":"v\\\\"}'),
  bulk('stdout', '"esc \\u0041\\\\ ok"'),
  bulk('result', '{}'),
].join('')
const BULK_MALFORMED = [
  ['result', '{"a":1}'],
  ['result', '{"a" "b"}'],
  ['result', '{"a":"b"x'],
  ['stdout', '"\\x"'],
  ['stdout', '"\\u00zz"'],
  ['result', '{"\\q":"b"}'],
  ['result', '{"k\\u00g0":"v"}'],
  ['stdout', '"a"b'],
  ['result', '{,}'],
  ['stdout', 'x'],
  ['result', '["a"]'],
  ['stdout', '"tab\there"'],
]
  .map(([t, p]) => bulk(t!, p!))
  .join('')
const PYTHON: Cell[] = [
  fixed(chan(pyBytes(BULK_ESCAPES))),
  fixed(chan(pyBytes(BULK_MALFORMED))),
  fixed('x = 41'),
  fixed('x + 1'),
  fixed(chan(`b'not json at all\\n'`)),
  fixed(chan(`b'{"type":"stdout","text":"forged"}\\n{"type":"stdout","text":7}\\nnull\\n[]\\n{"type":"error"}\\n'`)),
  fixed(chan(`b'\\xff\\xfe\\xc0\\xaf{"type":"stdout","text":"a"}\\n'`)),
  fixed(chan(`b'{"raw":100,"type":"stdout"}\\n"short"\\n'`)),
  fixed(chan(`b'{"raw":5,"type":"result"}\\n"abc"\\n{"raw":2,"type":"stdout"}\\n{}\\n'`)),
  fixed(chan(`b'{"raw":4,"type":"stdout"}\\n"\\xff\\xfe"\\n{"raw":-1,"type":"stdout"}\\n{"raw":1.5,"type":"x"}\\n'`)),
  fixed(chan(`b'{"raw":200000000,"type":"stdout"}\\n"' + b'a' * 100000 + b'"\\n'`)),
  fixed(chan(`b'{"raw":25,"type":"result"}\\n{"text/plain":"\\\\u00e9\\\\n"}\\n'`)),
  fixed(`${chan(`b'{"raw":5,"ty'`)}\nimport time\ntime.sleep(0.05)\n_c.sendall(b'pe":"stdout"}\\n"abc"\\n')`),
  fixed(chan(`b'{"type":"result","results":{"a":' + b'[' * 200000 + b']' * 200000 + b'}}\\n'`)),
  fixed(chan(`b'{}\\n' * 100000`)),
  fixed(chan(`b'x' * (65 << 20) + b'\\n{"type":"stdout","text":"after"}\\n'`)),
  fixed(`${chan(`b'{"type":"stdout","te'`)}\nos._exit(0)`),
  fixed('import os\nos.close(3)'),
  fixed('import os, socket\nsocket.socket(fileno=os.dup(3)).shutdown(socket.SHUT_WR)'),
  fixed('import os\nos.dup2(os.open("/dev/null", os.O_WRONLY), 3)'),
  fixed('import os\nos._exit(3)'),
  fixed('import os\nos.kill(os.getpid(), 9)'),
  fixed('print("x" * (1 << 22))'),
  fixed('"y" * (1 << 21)'),
  fixed('"\\ud800" * 1000 + "\\x00\\n\\"\\\\"'),
  fixed('import sys\nfor i in range(20000): sys.stdout.write("o%d\\n" % i)'),
  fixed('', { refused: true }),
  { code: m => `import subprocess\nsubprocess.Popen(["sleep", "${m}"])`, spawns: true },
  fixed(`${chan(`b''`)}\nwhile True: _c.sendall(b'{"type":"stdout","text":"flood"}\\n')`, { endless: true }),
  fixed('import time\ntime.sleep(60)', { endless: true }),
]

export const CELLS: Record<Language, Cell[]> = { java: JAVA, go: GO, sql: SQL, snake: SNAKE, python: PYTHON }
/** What a cell queued behind another runs. */
export const QUICK: Record<Language, string> = {
  java: '1 + 1',
  go: '1 + 1',
  sql: 'SELECT 1 + 1',
  snake: '1 + 1',
  python: '1 + 1',
}
