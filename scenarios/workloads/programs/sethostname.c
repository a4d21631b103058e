/*
 * One iteration of a reproducer, the way syzbot's C reproducers are run by
 * leaklab (workload: { program: ... }): do the suspect system call once and
 * exit 0. Here: sethostname(), which the v6.1-unit-leaks calibration kernel
 * leaks one kmalloc-128 object for; v6.1 as shipped leaks nothing.
 * A failing call exits non-zero, and leaklab reports the run that failed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "leaklab-guest";
  if (sethostname(name, strlen(name)) != 0) {
    perror("sethostname");
    return 1;
  }
  return 0;
}
