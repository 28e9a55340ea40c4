/* Pre-forking supervisor of the worker processes. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

/* One child slot. */
struct child {
	pid_t pid;          /* running child, 0 when none */
	int64_t respawn_us; /* monotonic time to respawn at, 0 when not due */
};

/* The supervisor's state. */
struct supervisor {
	struct child *kids;       /* n slots */
	int n;                    /* slots */
	int stopping;             /* SIGTERM / SIGINT received */
	sg_child_main child_main; /* body of a child */
	void *arg;                /* argument of child_main */
	sigset_t old_mask;        /* mask to restore in children */
};

static void
on_sigchld(int sig)
{
	(void)sig; /* only needs to exist: SIGCHLD is taken with sigtimedwait */
}

/* Forks child i. */
static void
spawn(struct supervisor *s, int i)
{
	char num[16];
	char pidtxt[16];
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		_exit(s->child_main(i, s->arg));
	}
	snprintf(num, sizeof(num), "%d", i);
	if (pid < 0) {
		log_error("fork failed", "child", num, "err", strerror(errno), NULL);
		s->kids[i].respawn_us = time_mono_us() + SG_SUPERVISOR_RESPAWN_MS * 1000LL;
		return;
	}
	snprintf(pidtxt, sizeof(pidtxt), "%ld", (long)pid);
	log_info("worker spawned", "child", num, "pid", pidtxt, NULL);
	s->kids[i].pid = pid;
	s->kids[i].respawn_us = 0;
}

/* Logs how a child ended. */
static void
log_exit(pid_t pid, int status, int stopping)
{
	char pidtxt[16];
	char how[32];

	snprintf(pidtxt, sizeof(pidtxt), "%ld", (long)pid);
	if (WIFSIGNALED(status)) {
		snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
	} else {
		snprintf(how, sizeof(how), "status %d", WEXITSTATUS(status));
	}
	if (stopping) {
		log_info("worker exited", "pid", pidtxt, "how", how, NULL);
	} else {
		log_warn("worker died, respawning", "pid", pidtxt, "how", how, NULL);
	}
}

/* Reaps every exited child; schedules respawns unless stopping. */
static void
reap(struct supervisor *s)
{
	int status = 0;
	pid_t pid = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->n; i++) {
			if (s->kids[i].pid != pid) {
				continue;
			}
			s->kids[i].pid = 0;
			s->kids[i].respawn_us =
			    s->stopping ? 0 : time_mono_us() + SG_SUPERVISOR_RESPAWN_MS * 1000LL;
			log_exit(pid, status, s->stopping);
		}
	}
}

static int
alive(const struct supervisor *s)
{
	int n = 0;

	for (int i = 0; i < s->n; i++) {
		n += s->kids[i].pid != 0;
	}
	return n;
}

/* Respawns the children that are due; returns the wait until the next one (us). */
static int64_t
respawn_due(struct supervisor *s)
{
	int64_t now = time_mono_us();
	int64_t wait = 1000000;

	for (int i = 0; i < s->n && !s->stopping; i++) {
		if (s->kids[i].pid != 0 || s->kids[i].respawn_us == 0) {
			continue;
		}
		if (s->kids[i].respawn_us <= now) {
			spawn(s, i);
		} else if (s->kids[i].respawn_us - now < wait) {
			wait = s->kids[i].respawn_us - now;
		}
	}
	return wait;
}

static void
stop_all(struct supervisor *s)
{
	s->stopping = 1;
	for (int i = 0; i < s->n; i++) {
		if (s->kids[i].pid != 0) {
			kill(s->kids[i].pid, SIGTERM);
		}
	}
}

/* The supervision loop: wait for a signal or a respawn time. */
static void
supervise(struct supervisor *s, const sigset_t *set)
{
	struct timespec ts = {0, 0};
	int64_t wait = 0;
	int sig = 0;

	for (;;) {
		reap(s);
		if (s->stopping && alive(s) == 0) {
			return;
		}
		wait = respawn_due(s);
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (long)(wait % 1000000) * 1000L;
		sig = sigtimedwait(set, NULL, &ts);
		if ((sig == SIGTERM || sig == SIGINT) && !s->stopping) {
			log_info("stopping workers", NULL);
			stop_all(s);
		}
	}
}

int
supervisor_run(int n, sg_child_main child_main, void *arg)
{
	struct supervisor s;
	struct sigaction sa;
	sigset_t set;

	memset(&s, 0, sizeof(s));
	memset(&sa, 0, sizeof(sa));
	s.kids = calloc((size_t)n, sizeof(*s.kids));
	if (s.kids == NULL) {
		return 1;
	}
	s.n = n;
	s.child_main = child_main;
	s.arg = arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	if (sigprocmask(SIG_BLOCK, &set, &s.old_mask) < 0 || sigaction(SIGCHLD, &sa, NULL) < 0) {
		free(s.kids);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		spawn(&s, i);
	}
	supervise(&s, &set);
	log_info("all workers exited", NULL);
	free(s.kids);
	return 0;
}
