import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  private static volatile boolean running;
  private static volatile boolean stopped;
  private static volatile String cell = "0";
  /** The cell execd asked to stop: it may still be queued or compiling when STOP arrives. */
  private static volatile String stopTarget = "";
  /** A value's text is for reading, not for transport: a huge toString() is cut. */
  private static final int MAX_VALUE = 1 << 20;
  /**
   * Where each snippet came from, as "cellN:" and the cell line of its first line: jshell numbers
   * a frame's line within its snippet ("#26:1"), an id the user never sees, where the cell and
   * its own line are what they wrote (go names its frames "cell12:3" too). As many entries as
   * jshell keeps snippets.
   */
  private static final Map<String, int[]> origins = new ConcurrentHashMap<>();

  public static void main(String[] args) throws Exception {
    ExecdChannel.open(args[0]);
    PrintStream out = framed("out");
    PrintStream err = framed("err");
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
    ExecdChannel.send("{\"t\":\"ready\"}");
    try {
      serve(shell, cells, out, err);
    } finally {
      // A driver that fails ends its JVM at once: a thread a cell left running (not a daemon)
      // kept it alive, and the cell waiting on it, until that thread ended.
      Runtime.getRuntime().halt(1);
    }
  }

  private static void serve(JShell shell, LinkedBlockingQueue<String[]> cells, PrintStream out, PrintStream err)
      throws InterruptedException {
    for (;;) {
      String[] next = cells.take();
      cell = String.valueOf(Long.parseLong(next[0]));
      String code = next[1];
      stopped = cell.equals(stopTarget);
      // A cell's System.out.close() closed the driver's stream for good: a closed PrintStream
      // swallows what is written to it, so every later cell's output was dropped without a word.
      // The next cell gets a fresh one (python's and javascript's next cells print again too).
      if (System.out == out && isClosed(out)) System.setOut(out = framed("out"));
      if (System.err == err && isClosed(err)) System.setErr(err = framed("err"));
      running = true;
      try {
        runCell(shell, code);
      } catch (Throwable t) {
        sendError(t.getClass().getSimpleName(), t.getMessage() == null ? "" : t.getMessage(), List.of());
      } finally {
        running = false;
        // The driver's own streams: a cell may have replaced System.out (setOut(null) made this
        // flush throw, which ended the driver while a thread of the cell kept the JVM alive).
        out.flush();
        err.flush();
        ExecdChannel.send("{\"t\":\"done\",\"c\":" + cell + "}");
      }
    }
  }

  private static PrintStream framed(String kind) {
    return new PrintStream(new ExecdChannel.Framed(kind), true, StandardCharsets.UTF_8);
  }

  /** PrintStream has no isClosed: a write to a closed one sets its error flag, which stays set. */
  private static boolean isClosed(PrintStream stream) {
    stream.write(new byte[0], 0, 0);
    return stream.checkError();
  }

  private static void readCommands(JShell shell, LinkedBlockingQueue<String[]> cells) {
    try {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(65536);
      for (;;) {
        buf.clear();
        int n = ExecdChannel.read(buf);
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
      int firstLine = lineOf(code, rest);
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
      // jshell numbers a method's lines from 1 at its source's first line only when no blank
      // line comes before it (after two, a throw on the method's third line was at "#3:1").
      int blank = blankLines(source);
      source = source.substring(source.lastIndexOf('\n', firstNonBlank(source)) + 1);
      for (SnippetEvent e : shell.eval(source)) {
        if (e.causeSnippet() != null) continue; // a dependent snippet updated, not this input
        Snippet s = e.snippet();
        origins.put(s.id(), new int[] {Integer.parseInt(cell), firstLine + blank});
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
      ExecdChannel.send("{\"t\":\"value\",\"c\":" + cell + ",\"s\":" + ExecdChannel.quote(value) + "}");
    }
  }

  /** The cell line on which `rest`, the cell's part not yet run, begins. */
  private static int lineOf(String code, String rest) {
    return 1 + (int) code.substring(0, code.length() - rest.length()).chars().filter(ch -> ch == '\n').count();
  }

  /** The newlines before a source's first character. */
  private static int blankLines(String source) {
    int n = 0;
    for (int i = 0; i < firstNonBlank(source); i++) if (source.charAt(i) == '\n') n++;
    return n;
  }

  private static int firstNonBlank(String source) {
    int i = 0;
    while (i < source.length() && Character.isWhitespace(source.charAt(i))) i++;
    return i;
  }

  /** "cell12:3" for line `line` of snippet `id`, or jshell's own "#26:1" for one no cell made. */
  private static String where(String id, long line) {
    int[] o = origins.get(id);
    return o == null ? "#" + id + ":" + line : "cell" + o[0] + ":" + (o[1] + line - 1);
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
      String at = "";
      if (pos >= 0 && pos <= src.length()) {
        long line = 1 + src.substring(0, (int) pos).chars().filter(ch -> ch == '\n').count();
        int col = (int) pos - (src.lastIndexOf('\n', (int) Math.max(0, pos - 1)) + 1) + 1;
        at = where(s.id(), line) + ":" + col + ": ";
      }
      String prefix = at;
      d.getMessage(null).lines().filter(l -> !l.strip().startsWith("location:")).findFirst().ifPresent(l -> lines.add(prefix + l));
      d.getMessage(null).lines().filter(l -> !l.strip().startsWith("location:")).skip(1).forEach(lines::add);
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
    String evalue = ex.getMessage() == null ? "" : plain(ex.getMessage());
    List<String> trace = new ArrayList<>();
    for (Throwable t = ex; t != null; t = t.getCause()) {
      String cls = t instanceof EvalException ? ((EvalException) t).getExceptionClassName()
          : t.getClass().getName();
      trace.add((t == ex ? "" : "Caused by: ") + cls + (t.getMessage() == null ? "" : ": " + plain(t.getMessage())));
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

  /**
   * A helpful NullPointerException names a variable by the class jshell wrapped it in
   * ("because \"REPL.$JShell$21.s\" is null"): the user wrote `s`.
   */
  private static String plain(String message) {
    return message.replaceAll("\\bREPL\\.\\$JShell\\$\\d+[.$]", "");
  }

  /** Snippet frames as the jshell tool prints them, at the cell's line: "at f (cell3:2)"; others as Java does. */
  private static String frame(StackTraceElement f) {
    String file = f.getFileName();
    if (file != null && file.startsWith("#")) {
      String cls = f.getClassName().replaceFirst("^REPL\\.\\$JShell\\$\\d+\\$?", "");
      String method = f.getMethodName().equals("do_it$") ? "" : f.getMethodName();
      String name = cls.isEmpty() ? method : method.isEmpty() ? cls : cls + "." + method;
      return (name.isEmpty() ? "" : name + " ") + "(" + where(file.substring(1), f.getLineNumber()) + ")";
    }
    return f.toString();
  }

  private static void sendError(String ename, String evalue, List<String> traceback) {
    StringBuilder b = new StringBuilder("{\"t\":\"error\",\"c\":" + cell + ",\"ename\":").append(ExecdChannel.quote(ename))
        .append(",\"evalue\":").append(ExecdChannel.quote(evalue)).append(",\"traceback\":[");
    for (int i = 0; i < traceback.size(); i++) b.append(i == 0 ? "" : ",").append(ExecdChannel.quote(traceback.get(i)));
    ExecdChannel.send(b.append("]}").toString());
  }
}
