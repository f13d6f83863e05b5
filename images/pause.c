// pause: the init process of a pod sandbox.
//
// It holds the pod's namespaces open and does nothing else: it blocks in sigsuspend() forever,
// reaps every child that is reparented to it (as PID 1 of the pod's PID namespace it inherits
// the orphans of every container that shares that namespace), and exits 0 on SIGINT or
// SIGTERM. As PID 1 a signal without a handler is ignored by the kernel, so the handlers here
// are what make the sandbox stoppable with SIGTERM.
//
// `pause -v` prints the version and exits. Built statically (no libc in the image).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "3.10"
#endif

static volatile sig_atomic_t g_stop_signal = 0;
static volatile sig_atomic_t g_child_exited = 0;

static void OnStop(int sig) { g_stop_signal = sig; }
static void OnChild(int sig) {
  (void)sig;
  g_child_exited = 1;
}

static void Install(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) {
    fprintf(stderr, "pause: sigaction(%d): %s\n", sig, strerror(errno));
    exit(2);
  }
}

// Reaps every child that has exited; returns when none is left to reap right now.
static void ReapChildren(void) {
  for (;;) {
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0) continue;
    if (pid < 0 && errno == EINTR) continue;
    return;  // 0: children left, none exited; -1/ECHILD: no children at all
  }
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      printf("pause.c v%s (keelson)\n", PAUSE_VERSION);
      return 0;
    }
    fprintf(stderr, "usage: pause [-v]\n");
    return 2;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not running as PID 1\n");

  // The signals are blocked outside sigsuspend(), so a signal that arrives between the checks
  // of the flags and the next wait is not lost: it is delivered when sigsuspend() unblocks it.
  sigset_t blocked, wait_mask;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &blocked, &wait_mask) != 0) {
    fprintf(stderr, "pause: sigprocmask: %s\n", strerror(errno));
    return 2;
  }
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGCHLD);
  Install(SIGINT, OnStop, 0);
  Install(SIGTERM, OnStop, 0);
  Install(SIGCHLD, OnChild, SA_NOCLDSTOP);

  // Children may have been reparented to us before the handler was installed.
  ReapChildren();
  for (;;) {
    while (g_stop_signal == 0 && g_child_exited == 0) sigsuspend(&wait_mask);
    if (g_stop_signal != 0) {
      fprintf(stderr, "pause: shutting down, got signal %d\n", (int)g_stop_signal);
      return 0;
    }
    g_child_exited = 0;
    ReapChildren();
  }
}
