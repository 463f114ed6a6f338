import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The helper's protocol channel to execd (a Unix socket): JSON lines out, written by one thread,
 * and the raw reads of execd's commands. Compiled with ExecdJShell.java, which it serves.
 */
final class ExecdChannel {
  private static SocketChannel channel;

  /**
   * Connects only into a dir of this user's alone, as execd made it (0700): the JVM takes a while
   * to start, and a dir removed meanwhile (a temp cleaner, a `rm -rf /tmp/*`) could be made again
   * by another user of TMPDIR, its name in the listing, with a socket of theirs at the name: this
   * JVM, root's, then ran the code they sent.
   */
  static void open(String path) throws IOException {
    Path dir = Path.of(path).getParent();
    Object me = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !owner.equals(me) || (mode & 077) != 0) {
      throw new IOException(
          "execd's channel dir " + dir + " is not this user's private dir: removed while java started?");
    }
    channel = SocketChannel.open(UnixDomainSocketAddress.of(path));
    startWriter();
  }

  /**
   * Direct channel reads: the streams of java.nio.channels.Channels share one lock between
   * reading and writing, which would block every send while execd's commands are awaited.
   */
  static int read(ByteBuffer buf) throws IOException {
    return channel.read(buf);
  }

  /**
   * Every channel write happens on one thread that is never interrupted or stopped: a stop's
   * interrupt reaching a cell's thread inside a write closed the channel (an interruptible
   * channel's rule), and Thread.stop could cut a line. A sender queues its line and waits until
   * it is written, so output stays in order with the cell's end and is out before a System.exit.
   *
   * JDK 17's stop (Thread.stop) throws into the cell's thread at any instruction, also inside
   * this hand-over: an executor's queue cut between enqueueing and signalling its taker left the
   * writer asleep beside a queued line, every later send (the cell's end) waited forever and the
   * grace had to end the JVM. So a sender only takes steps a stop cannot leave half done: a
   * lock-free enqueue (ConcurrentLinkedQueue), an unpark, a park; a lost unpark costs the writer
   * at most WAKE_NANOS, and the next sender's unpark wakes it anyway.
   */
  private static final ConcurrentLinkedQueue<Line> lines = new ConcurrentLinkedQueue<>();
  private static final long WAKE_NANOS = 100_000_000L;
  private static Thread writer;

  /** A protocol line for the writer: whole JSON, or output bytes it frames itself. */
  static final class Line {
    final String json;
    final String kind;
    final byte[] bytes;
    final Thread sender = Thread.currentThread();
    volatile boolean written;
    volatile Throwable failure;

    Line(String json, String kind, byte[] bytes) {
      this.json = json;
      this.kind = kind;
      this.bytes = bytes;
    }

    byte[] encode() {
      String s = json != null ? json
          : "{\"t\":\"" + kind + "\",\"b\":\"" + Base64.getEncoder().encodeToString(bytes) + "\"}";
      return (s + "\n").getBytes(StandardCharsets.UTF_8);
    }
  }

  private static void startWriter() {
    writer = new Thread(() -> {
      for (;;) {
        Line line = lines.poll();
        if (line == null) {
          LockSupport.parkNanos(WAKE_NANOS);
          continue;
        }
        try {
          ByteBuffer buf = ByteBuffer.wrap(line.encode());
          while (buf.hasRemaining()) channel.write(buf);
        } catch (IOException e) {
          Runtime.getRuntime().halt(0);
        } catch (Throwable t) {
          // A line that cannot be framed (out of memory) goes to its sender, which throws it as
          // the sender's own framing did; the writer lives on, or every later send would wait.
          line.failure = t;
        } finally {
          line.written = true;
          LockSupport.unpark(line.sender);
        }
      }
    }, "execd-channel");
    writer.setDaemon(true);
    writer.start();
  }

  static void send(String json) {
    send(new Line(json, null, null));
  }

  private static void send(Line line) {
    lines.offer(line);
    LockSupport.unpark(writer);
    // A stop's interrupt ends a park, not the wait: the wait goes on and the interrupt is kept
    // for the cell's code to see.
    boolean interrupted = false;
    while (!line.written) {
      LockSupport.park(line);
      if (Thread.interrupted()) interrupted = true;
    }
    if (interrupted) Thread.currentThread().interrupt();
    Throwable failed = line.failure;
    if (failed instanceof Error) throw (Error) failed;
    if (failed instanceof RuntimeException) throw (RuntimeException) failed;
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
      byte[] bytes = buf.toByteArray();
      buf.reset();
      send(new Line(null, kind, bytes));
    }
  }
}
