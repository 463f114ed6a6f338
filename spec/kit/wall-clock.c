/*
 * A wall clock a test can step, for execd started with LD_PRELOAD: CLOCK_REALTIME (and
 * gettimeofday, time) as one 8-byte signed number in the file $FAKE_WALL_FILE says, read at
 * every call through a shared mapping: 0 the real clock; > 0 stands still at that many ns since
 * the epoch (a clock stepped back, and back again, as long as it stays); < 0 races, each read
 * that many ns (negated) past the one before (a clock stepped forward between any two reads).
 * CLOCK_MONOTONIC is left alone: it is what intervals are to be measured on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int64_t *ctl;
static int64_t raced;
static int (*real_clock_gettime)(clockid_t, struct timespec *);

static void setup(void) {
  if (!real_clock_gettime) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
  if (ctl) return;
  const char *path = getenv("FAKE_WALL_FILE");
  if (!path) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  void *m = mmap(0, 8, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m != MAP_FAILED) ctl = m;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  setup();
  int r = real_clock_gettime(id, ts);
  if (r != 0 || !ctl || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE)) return r;
  int64_t v = *ctl, ns;
  if (v == 0) return r;
  if (v > 0) {
    ns = v;
  } else {
    int64_t real = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    int64_t prev = __atomic_load_n(&raced, __ATOMIC_RELAXED);
    ns = (prev > real ? prev : real) - v;
    __atomic_store_n(&raced, ns, __ATOMIC_RELAXED);
  }
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
  (void)tz;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (tv) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return 0;
}

time_t time(time_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}
