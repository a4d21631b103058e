/*
 * leaklab-run: runs a program COUNT times, one run after another, and
 * counts the runs that exited 0 in COUNTFILE (its number plus each run, so
 * the file holds every iteration of the guest's life). leaklab runs it in
 * the guest for `workload: { program: ... }`: an iteration is counted by
 * this tool as it happens, never assumed from what was asked.
 *
 * Each run gets SECONDS: one still running then is killed (SIGKILL, with
 * its process group) and reported as hung. A run that exits non-zero or is
 * killed by a signal ends the burst, reported with its status and the end
 * of what it printed (each run's output goes to OUTFILE, replaced per run:
 * 10,000 runs must not flood the guest's command channel).
 *
 *   leaklab-run COUNTFILE OUTFILE COUNT SECONDS PROGRAM [ARGS...]
 *
 * Exit 0: all COUNT runs exited 0. 3: a run exited non-zero. 4: a run was
 * killed by a signal. 5: a run hung. 2: this tool could not do its job.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "leaklab-run: %s: %s\n", what, strerror(errno));
  exit(2);
}

static long read_count(const char *path) {
  FILE *f = fopen(path, "r");
  long n = 0;
  if (!f) return 0;
  if (fscanf(f, "%ld", &n) != 1) n = 0;
  fclose(f);
  return n;
}

static void write_count(const char *path, long n) {
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) die(tmp);
  fprintf(f, "%ld\n", n);
  if (fclose(f) != 0) die(tmp);
  /* Renamed into place: a sample read between two runs sees the old count or the new, never half a number. */
  if (rename(tmp, path) != 0) die(path);
}

/* The last lines of what the failed run printed. */
static void show_output(const char *path) {
  char buf[2048];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  fprintf(stderr, "what it printed%s:\n%s%s", from > 0 ? " (the end)" : "", buf, buf[n - 1] == '\n' ? "" : "\n");
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* Waits for `child` for at most `seconds` (SIGCHLD is blocked: it is waited for, not polled); 1 with its status, 0 when it did not end in time. */
static int wait_for(pid_t child, double seconds, int *status, const sigset_t *chld) {
  double deadline = now() + seconds;
  for (;;) {
    pid_t r = waitpid(child, status, WNOHANG);
    if (r == child) return 1;
    if (r < 0 && errno != EINTR) die("waitpid");
    double left = deadline - now();
    if (left <= 0) return 0;
    struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
    sigtimedwait(chld, NULL, &ts);
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: leaklab-run COUNTFILE OUTFILE COUNT SECONDS PROGRAM [ARGS...]\n");
    return 2;
  }
  const char *countfile = argv[1], *outfile = argv[2];
  long count = atol(argv[3]);
  double seconds = atof(argv[4]);
  char **program = argv + 5;
  long done = read_count(countfile);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  for (long i = 1; i <= count; i++) {
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
      sigprocmask(SIG_UNBLOCK, &chld, NULL);
      setpgid(0, 0); /* its own group: a hung run is killed with what it started */
      int out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
      close(out);
      execv(program[0], program);
      fprintf(stderr, "leaklab-run: cannot run %s: %s\n", program[0], strerror(errno));
      _exit(127);
    }
    int status = 0;
    if (!wait_for(child, seconds, &status, &chld)) {
      kill(-child, SIGKILL);
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      fprintf(stderr, "leaklab-run: run %ld of %ld hung: still running after %g s, killed\n", i, count, seconds);
      show_output(outfile);
      return 5;
    }
    if (WIFSIGNALED(status)) {
      fprintf(stderr, "leaklab-run: run %ld of %ld was killed by signal %d (%s)%s\n", i, count, WTERMSIG(status), strsignal(WTERMSIG(status)),
              WCOREDUMP(status) ? ", core dumped" : "");
      show_output(outfile);
      return 4;
    }
    if (WEXITSTATUS(status) != 0) {
      fprintf(stderr, "leaklab-run: run %ld of %ld exited with status %d\n", i, count, WEXITSTATUS(status));
      show_output(outfile);
      return 3;
    }
    write_count(countfile, ++done);
    /* Whatever a run left in its group is not the next run's. */
    kill(-child, SIGKILL);
  }
  printf("iterations %ld\n", count);
  return 0;
}
