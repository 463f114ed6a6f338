import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Collectors;

import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.SourceCodeAnalysis.Completeness;
import jdk.jshell.UnresolvedReferenceException;

/**
 * The in-JVM half of execd's java runtime (embedded in the execd executable, compiled once
 * with javac). It drives the jdk.jshell API instead of the jshell tool: the tool's prompts,
 * feedback modes and slash commands are made for a terminal and are fragile over a pipe,
 * while the API hands over snippets, values and exceptions as data.
 *
 * Execution is "local" (user code runs in this JVM): one JVM per context instead of two
 * (the default remote engine launches a second JVM over JDI), so contexts start faster, and
 * System.exit or a crash in user code ends this process, which execd reports as the
 * interpreter's death. Stop uses the local engine's stop (Thread.stop on JDK 17, injected
 * checks on 21+) and keeps the state.
 *
 * The protocol runs over a Unix socket execd listens on (argv[0]), never over stdout: user
 * code, child processes and the JVM may write anything to fds 1 and 2, which execd streams
 * as raw output. System.out/err are replaced by streams that frame their bytes into the
 * protocol, so Java output is ordered exactly with the end-of-cell message.
 * execd → helper, one line each: "RUN <cell id> <base64 utf-8 code>" or "STOP <cell id>".
 * helper → execd, JSON lines: ready, out/err (base64 bytes), and per cell value, error, done
 * (tagged with the cell id, so a late reply is never taken for the next cell's).
 */
public class ExecdJShell {
  private static SocketChannel channel;
  private static volatile boolean running;
  private static volatile boolean stopped;
  private static volatile String cell = "0";
  /** The cell execd asked to stop: it may still be queued or compiling when STOP arrives. */
  private static volatile String stopTarget = "";
  /** A value's text is for reading, not for transport: a huge toString() is cut. */
  private static final int MAX_VALUE = 1 << 20;

  public static void main(String[] args) throws Exception {
    channel = SocketChannel.open(UnixDomainSocketAddress.of(args[0]));
    PrintStream out = new PrintStream(new Framed("out"), true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new Framed("err"), true, StandardCharsets.UTF_8);
    System.setOut(out);
    System.setErr(err);
    System.setIn(InputStream.nullInputStream());
    JShell shell = JShell.builder().executionEngine("local").out(out).err(err)
        .in(InputStream.nullInputStream()).build();
    // The jshell tool's default imports, so code written for jshell runs unchanged; evaluating
    // them here also warms up the compiler before the first cell.
    for (String pkg : new String[] {"java.io", "java.math", "java.net", "java.nio.file", "java.util",
        "java.util.concurrent", "java.util.function", "java.util.prefs", "java.util.regex",
        "java.util.stream"}) {
      shell.eval("import " + pkg + ".*;");
    }
    LinkedBlockingQueue<String[]> cells = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> readCommands(shell, cells), "execd-commands");
    reader.setDaemon(true);
    reader.start();
    send("{\"t\":\"ready\"}");
    for (;;) {
      String[] next = cells.take();
      cell = String.valueOf(Long.parseLong(next[0]));
      String code = next[1];
      stopped = cell.equals(stopTarget);
      running = true;
      try {
        runCell(shell, code);
      } catch (Throwable t) {
        sendError(t.getClass().getSimpleName(), t.getMessage() == null ? "" : t.getMessage(), List.of());
      } finally {
        running = false;
        System.out.flush();
        System.err.flush();
        send("{\"t\":\"done\",\"c\":" + cell + "}");
      }
    }
  }

  private static void readCommands(JShell shell, LinkedBlockingQueue<String[]> cells) {
    try {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(65536);
      for (;;) {
        buf.clear();
        // Direct channel reads: the streams of java.nio.channels.Channels share one lock
        // between reading and writing, which would block every send while we wait here.
        int n = channel.read(buf);
        if (n < 0) break;
        for (int i = 0; i < n; i++) {
          byte b = buf.get(i);
          if (b != '\n') {
            line.write(b);
            continue;
          }
          String cmd = line.toString(StandardCharsets.UTF_8);
          line.reset();
          if (cmd.startsWith("STOP ")) {
            stopTarget = cmd.substring(5);
            Thread stopper = new Thread(() -> stopCell(shell, stopTarget), "execd-stop");
            stopper.setDaemon(true);
            stopper.start();
          } else if (cmd.startsWith("RUN ")) {
            String[] parts = cmd.split(" ", 3);
            byte[] code = Base64.getDecoder().decode(parts[2]);
            cells.add(new String[] {parts[1], new String(code, StandardCharsets.UTF_8)});
          }
        }
      }
    } catch (IOException e) {
      // execd went away: nothing left to serve.
    }
    Runtime.getRuntime().halt(0);
  }

  /**
   * jshell's stop only reaches user code that is executing, not a snippet still being
   * compiled, so it is repeated until the cell has ended. From JDK 20 on it is a check that
   * jshell compiles into loops instead of Thread.stop, which a sleeping or waiting thread
   * never reaches: the snippet's threads are also interrupted.
   */
  private static void stopCell(JShell shell, String target) {
    try {
      while (target.equals(stopTarget)) {
        if (running && cell.equals(target)) {
          stopped = true;
          shell.stop();
          for (Thread t : Thread.getAllStackTraces().keySet()) {
            ThreadGroup g = t.getThreadGroup();
            if (g != null && g.getName().startsWith("JShell")) t.interrupt();
          }
        } else if (!cell.equals(target) && Long.parseLong(cell) > Long.parseLong(target)) {
          return;
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      // daemon thread; nothing to clean up
    }
  }

  private static void runCell(JShell shell, String code) {
    SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
    String rest = code;
    String value = null;
    while (!rest.isBlank()) {
      SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
      Completeness c = info.completeness();
      if (c == Completeness.EMPTY) break;
      String source;
      if (c == Completeness.COMPLETE || c == Completeness.COMPLETE_WITH_SEMI) {
        source = info.source();
        rest = info.remaining();
      } else if (c == Completeness.DEFINITELY_INCOMPLETE || c == Completeness.CONSIDERED_INCOMPLETE) {
        List<String> lines = new ArrayList<>(List.of("Incomplete input:"));
        lines.addAll(rest.strip().lines().collect(Collectors.toList()));
        sendError("IncompleteSourceException", rest.strip(), lines);
        return;
      } else {
        // UNKNOWN: not parseable; eval rejects it with diagnostics.
        source = rest;
        rest = "";
      }
      value = null;
      if (stopped) {
        sendInterrupted(source);
        return;
      }
      for (SnippetEvent e : shell.eval(source)) {
        if (e.causeSnippet() != null) continue; // a dependent snippet updated, not this input
        Snippet s = e.snippet();
        if (stopped) {
          sendInterrupted(source);
          return;
        }
        if (e.status() == Snippet.Status.REJECTED) {
          sendCompileError(shell, s);
          return;
        }
        if (e.exception() != null) {
          sendException(shell, e.exception());
          return;
        }
        if (e.value() != null && showsValue(s)) value = e.value();
      }
    }
    if (value != null) {
      if (value.length() > MAX_VALUE) value = value.substring(0, MAX_VALUE) + "... (" + value.length() + " characters)";
      send("{\"t\":\"value\",\"c\":" + cell + ",\"s\":" + quote(value) + "}");
    }
  }

  /** Expressions show their value, declarations and assignments do not (as in Jupyter). */
  private static boolean showsValue(Snippet s) {
    Snippet.SubKind k = s.subKind();
    return k == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND || k == Snippet.SubKind.VAR_VALUE_SUBKIND
        || k == Snippet.SubKind.OTHER_EXPRESSION_SUBKIND;
  }

  /**
   * IJava's CompilationException: per diagnostic, the offending source line with a caret, then
   * the compiler's message (its "location:" line left out, the caret shows it). IJava's evalue
   * is empty; ours is the first diagnostic, the one to fix.
   */
  private static void sendCompileError(JShell shell, Snippet s) {
    List<Diag> diags = shell.diagnostics(s).filter(Diag::isError).collect(Collectors.toList());
    String first = diags.isEmpty() ? "rejected" : diags.get(0).getMessage(null).lines().findFirst().orElse("");
    List<String> lines = new ArrayList<>();
    String src = s.source();
    for (Diag d : diags) {
      long pos = d.getPosition();
      if (pos >= 0 && pos <= src.length()) {
        int start = src.lastIndexOf('\n', (int) Math.max(0, pos - 1)) + 1;
        int end = src.indexOf('\n', (int) pos);
        String line = src.substring(start, end < 0 ? src.length() : end);
        lines.add(line);
        lines.add(" ".repeat((int) pos - start) + "^");
      }
      d.getMessage(null).lines().filter(l -> !l.strip().startsWith("location:")).forEach(lines::add);
    }
    sendError("CompilationException", first, lines);
  }

  /** IJava's EvaluationInterruptedException, with its message; the source is cut when long. */
  private static void sendInterrupted(String source) {
    String code = source.strip();
    if (code.length() > 200) code = code.substring(0, 200) + "...";
    List<String> lines = new ArrayList<>(code.lines().collect(Collectors.toList()));
    lines.add("Evaluation interrupted.");
    sendError("EvaluationInterruptedException", "Evaluator was interrupted while executing: '" + code + "'", lines);
  }

  /**
   * Named as IJava names them (its error's ename is the simple name of what the evaluation
   * threw): EvalException for an exception thrown by the user's code, whose own class leads
   * the traceback ("java.lang.ArithmeticException: / by zero", as IJava rewrites it) and whose
   * message is the evalue; UnresolvedReferenceException for a call to a method that uses
   * something not declared yet.
   */
  private static void sendException(JShell shell, Throwable ex) {
    if (ex instanceof UnresolvedReferenceException) {
      jdk.jshell.DeclarationSnippet decl = ((UnresolvedReferenceException) ex).getSnippet();
      List<String> missing = shell.unresolvedDependencies(decl).collect(Collectors.toList());
      List<String> lines = new ArrayList<>(decl.source().strip().lines().collect(Collectors.toList()));
      lines.add("Unresolved dependencies:");
      for (String m : missing) lines.add("   - " + m);
      sendError("UnresolvedReferenceException",
          "'" + decl.name() + "' cannot be invoked until this is declared: " + String.join(", ", missing), lines);
      return;
    }
    String ename = ex.getClass().getSimpleName();
    String evalue = ex.getMessage() == null ? "" : ex.getMessage();
    List<String> trace = new ArrayList<>();
    for (Throwable t = ex; t != null; t = t.getCause()) {
      String cls = t instanceof EvalException ? ((EvalException) t).getExceptionClassName()
          : t.getClass().getName();
      trace.add((t == ex ? "" : "Caused by: ") + cls + (t.getMessage() == null ? "" : ": " + t.getMessage()));
      for (StackTraceElement f : t.getStackTrace()) {
        String c = f.getClassName();
        // Below the user's frames: jshell's local engine invoking the snippet by reflection.
        if (c.startsWith("jdk.jshell.") || c.startsWith("jdk.internal.reflect.")
            || c.startsWith("java.lang.reflect.")) break;
        trace.add("\tat " + frame(f));
      }
    }
    sendError(ename, evalue, trace);
  }

  /** Snippet frames as the jshell tool prints them: "at f (#3:2)"; others as Java does. */
  private static String frame(StackTraceElement f) {
    String file = f.getFileName();
    if (file != null && file.startsWith("#")) {
      String cls = f.getClassName().replaceFirst("^REPL\\.\\$JShell\\$\\d+\\$?", "");
      String method = f.getMethodName().equals("do_it$") ? "" : f.getMethodName();
      String where = cls.isEmpty() ? method : method.isEmpty() ? cls : cls + "." + method;
      return (where.isEmpty() ? "" : where + " ") + "(" + file + ":" + f.getLineNumber() + ")";
    }
    return f.toString();
  }

  private static void sendError(String ename, String evalue, List<String> traceback) {
    StringBuilder b = new StringBuilder("{\"t\":\"error\",\"c\":" + cell + ",\"ename\":").append(quote(ename))
        .append(",\"evalue\":").append(quote(evalue)).append(",\"traceback\":[");
    for (int i = 0; i < traceback.size(); i++) b.append(i == 0 ? "" : ",").append(quote(traceback.get(i)));
    send(b.append("]}").toString());
  }

  /**
   * Every channel write happens on this thread, never interrupted or stopped: a stop's interrupt
   * reaching a cell's thread inside a write closed the channel (an interruptible channel's
   * rule), and Thread.stop could cut a line. The cell's thread waits for its line, so output
   * stays in order with the cell's end and is out before a System.exit.
   */
  private static final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "execd-channel");
    t.setDaemon(true);
    return t;
  });

  static void send(String json) {
    ByteBuffer buf = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
    Future<?> written = writer.submit(() -> {
      try {
        while (buf.hasRemaining()) channel.write(buf);
      } catch (IOException e) {
        Runtime.getRuntime().halt(0);
      }
    });
    // A stop's interrupt ends the wait, not the write: the wait goes on and the interrupt is
    // kept for the cell's code to see.
    boolean interrupted = false;
    for (;;) {
      try {
        written.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        break; // the write failed: halted already
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF && !validSurrogate(s, i))) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"').toString();
  }

  private static boolean validSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }

  /** System.out/err: bytes buffered per write and sent as one protocol message on flush. */
  static final class Framed extends OutputStream {
    private final String kind;
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    Framed(String kind) {
      this.kind = kind;
    }

    @Override
    public synchronized void write(int b) {
      buf.write(b);
      if (buf.size() >= 8192) flush();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      buf.write(b, off, len);
      if (buf.size() >= 8192) flush();
    }

    @Override
    public synchronized void flush() {
      if (buf.size() == 0) return;
      String b64 = Base64.getEncoder().encodeToString(buf.toByteArray());
      buf.reset();
      send("{\"t\":\"" + kind + "\",\"b\":\"" + b64 + "\"}");
    }
  }
}
