// SPDX-License-Identifier: GPL-2.0
/*
 * vc_stress: the randomized hostile stress test of ktstr-vconsole, with
 * its integrity mode, in one seeded, time-bounded run that prints TAP.
 *
 *	vc_stress [-t SECS] [-s SEED] [-m all|integrity|hostile] [-n SLOTS]
 *		  [-x ACTION,...] [-g GRACE]
 *
 * or the same from the environment (the VM runner passes kernel command
 * line words on as such): STRESS_SECS (60), SEED (from the clock; always
 * printed first), STRESS_MODE, STRESS_SLOTS, STRESS_NO, STRESS_HANG_GRACE
 * (15), STRESS_KLOG_STOP (1).  The first third of the time is the
 * integrity mode, the rest the hostile mix (README.md says what each
 * does).  The supervisor, this process, never drives the module itself
 * beyond reading ports: it forks guest and host processes per slot,
 * kills and restarts them at random, watches every call in flight, and
 * stops everything at the deadline.  Any hang is caught: a call that must
 * not wait still in flight after 10 s, a waiting call a signal does not
 * end within 10 s, a process not gone 20 s after it was told to stop or
 * killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define VS_USAGE "usage: vc_stress [-t SECS] [-s SEED] [-m all|integrity|hostile] [-n SLOTS] [-x ACTION,...] [-g GRACE] [-w WILD]\n"
#define VS_PLAN			7
#define VS_LOG_MAX		4000	/* shared-log lines printed, at most */
#define VS_KLOG_MAX		400	/* kernel log lines printed, at most */

enum vs_mode {
	VS_INTEGRITY = 1,
	VS_HOSTILE = 2,
};

static struct {
	__u64 secs;
	__u64 seed;
	unsigned int mode;
	unsigned int slots;
	__u64 grace_ns;
	bool klog_stop;
	unsigned int wild;
} vs = {
	.secs = 60,
	.mode = VS_INTEGRITY | VS_HOSTILE,
	.slots = SX_MAX_SLOTS,
	.grace_ns = 15 * SX_NS_PER_SEC,
	.klog_stop = true,
};

static const char * const vs_action_names[SX_NR_ACTIONS] = {
	[SX_A_REPOST] = "repost",
	[SX_A_DETACH] = "detach",
	[SX_A_CLOSE] = "close",
	[SX_A_FORK] = "fork",
	[SX_A_MEMORY] = "memory",
	[SX_A_FDS] = "fds",
	[SX_A_RESET] = "reset",
	[SX_A_KILL] = "kill",
	[SX_A_PRIORITY] = "priority",
};

/* One TAP comment line. */
static __printf(1, 2) void vs_info(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void vs_usage(void)
{
	fputs(VS_USAGE, stderr);
	exit(2);
}

static unsigned int vs_parse_no(const char *list)
{
	unsigned int mask = 0, a;
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (a = 0; a < SX_NR_ACTIONS; a++)
			if (!strcmp(tok, vs_action_names[a]))
				break;
		if (a == SX_NR_ACTIONS) {
			fprintf(stderr, "vc_stress: unknown action '%s'\n", tok);
			vs_usage();
		}
		mask |= 1u << a;
	}
	return mask;
}

static unsigned int vs_parse_mode(const char *s)
{
	if (!strcmp(s, "all"))
		return VS_INTEGRITY | VS_HOSTILE;
	if (!strcmp(s, "integrity"))
		return VS_INTEGRITY;
	if (!strcmp(s, "hostile"))
		return VS_HOSTILE;
	vs_usage();
	return 0;
}

static void vs_set(int opt, const char *val, bool *seeded, unsigned int *no)
{
	switch (opt) {
	case 't':
		vs.secs = strtoull(val, NULL, 0);
		break;
	case 's':
		vs.seed = strtoull(val, NULL, 0);
		*seeded = true;
		break;
	case 'm':
		vs.mode = vs_parse_mode(val);
		break;
	case 'n':
		vs.slots = strtoul(val, NULL, 0);
		break;
	case 'x':
		*no = vs_parse_no(val);
		break;
	case 'g':
		vs.grace_ns = strtoull(val, NULL, 0) * SX_NS_PER_SEC;
		break;
	case 'k':
		vs.klog_stop = strtoul(val, NULL, 0);
		break;
	case 'w':
		vs.wild = 1 + (strtoul(val, NULL, 0) & 3);
		break;
	}
}

static unsigned int vs_options(int argc, char **argv)
{
	static const struct {
		const char *env;
		int opt;
	} envs[] = {
		{ "STRESS_SECS", 't' }, { "SEED", 's' }, { "STRESS_MODE", 'm' },
		{ "STRESS_SLOTS", 'n' }, { "STRESS_NO", 'x' },
		{ "STRESS_HANG_GRACE", 'g' }, { "STRESS_KLOG_STOP", 'k' },
		{ "STRESS_WILD", 'w' },
	};
	unsigned int i, no = 0;
	bool seeded = false;
	const char *val;
	int opt;

	for (i = 0; i < ARRAY_SIZE(envs); i++) {
		val = getenv(envs[i].env);
		if (val && *val)
			vs_set(envs[i].opt, val, &seeded, &no);
	}
	while ((opt = getopt(argc, argv, "t:s:m:n:x:g:k:w:h")) != -1) {
		if (opt == 'h' || opt == '?')
			vs_usage();
		vs_set(opt, optarg, &seeded, &no);
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		vs.seed = sx_mix(ts.tv_sec * SX_NS_PER_SEC + ts.tv_nsec +
				 getpid()) % 1000000000000ull;
	}
	if (!vs.slots || vs.slots > SX_MAX_SLOTS)
		vs.slots = SX_MAX_SLOTS;
	if (!vs.secs)
		vs.secs = 1;
	return no;
}

/* Children: who they are and when they were killed, for the watchdog. */
static struct {
	pthread_mutex_t lock;
	struct {
		pid_t pid;
		__u64 killed_ns;
	} kid[64];
} vs_kids = { .lock = PTHREAD_MUTEX_INITIALIZER };

void sx_children_add(pid_t pid)
{
	unsigned int i;

	pthread_mutex_lock(&vs_kids.lock);
	for (i = 0; i < ARRAY_SIZE(vs_kids.kid); i++)
		if (!vs_kids.kid[i].pid) {
			vs_kids.kid[i].pid = pid;
			vs_kids.kid[i].killed_ns = 0;
			break;
		}
	pthread_mutex_unlock(&vs_kids.lock);
}

/* Gone: its heartbeats say nothing any more. */
void sx_children_del(pid_t pid)
{
	unsigned int i;

	pthread_mutex_lock(&vs_kids.lock);
	for (i = 0; i < ARRAY_SIZE(vs_kids.kid); i++)
		if (vs_kids.kid[i].pid == pid)
			vs_kids.kid[i].pid = 0;
	pthread_mutex_unlock(&vs_kids.lock);
	for (i = 0; i < SX_NR_HB; i++)
		if (sx->hb[i].pid == pid)
			__atomic_store_n(&sx->hb[i].start_ns, 0, __ATOMIC_RELEASE);
}

static __u64 vs_killed_ns(pid_t pid)
{
	__u64 ns = 0;
	unsigned int i;

	pthread_mutex_lock(&vs_kids.lock);
	for (i = 0; i < ARRAY_SIZE(vs_kids.kid); i++)
		if (vs_kids.kid[i].pid == pid)
			ns = vs_kids.kid[i].killed_ns;
	pthread_mutex_unlock(&vs_kids.lock);
	return ns;
}

/* SIGKILL to the child's whole process group, if it is still ours. */
bool sx_kill_child(pid_t pid)
{
	bool ours = false;
	unsigned int i;

	pthread_mutex_lock(&vs_kids.lock);
	for (i = 0; i < ARRAY_SIZE(vs_kids.kid); i++) {
		if (vs_kids.kid[i].pid != pid)
			continue;
		if (!vs_kids.kid[i].killed_ns)
			vs_kids.kid[i].killed_ns = sx_now_ns();
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		ours = true;
	}
	pthread_mutex_unlock(&vs_kids.lock);
	return ours;
}

static void vs_print_file(const char *path, const char *prefix,
			  unsigned int max)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (max-- && fgets(line, sizeof(line), f))
		printf("#   %s%s", prefix, line);
	fclose(f);
}

/* R (runnable: starved, not blocked), S, D, ... or '?' if gone. */
static char vs_task_state(pid_t pid, int tid)
{
	char path[64], buf[256], *p, state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return state;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		if (p && p[1] == ' ')
			state = p[2];
	}
	fclose(f);
	return state;
}

static void vs_task_stack(pid_t pid, int tid)
{
	char path[96], comm[64] = "", wchan[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(wchan, sizeof(wchan), f))
			wchan[0] = '\0';
		fclose(f);
	}
	vs_info("  task %d/%d (%s) state %c in %s:", pid, tid, comm,
		vs_task_state(pid, tid), wchan);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, tid);
	vs_print_file(path, "  ", 24);
}

/* The kernel stacks of a process's threads (or of one), for a report. */
void sx_dump_stacks(pid_t pid, int tid)
{
	char path[64];
	struct dirent *d;
	unsigned int n = 0;
	DIR *dir;

	if (tid) {
		vs_task_stack(pid, tid);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && n < 16)
		if (d->d_name[0] != '.') {
			vs_task_stack(pid, atoi(d->d_name));
			n++;
		}
	closedir(dir);
}

/* The module's worker threads (ktstr-vcN): where each one is. */
static void vs_dump_workers(void)
{
	char path[300], comm[32];
	struct dirent *d;
	unsigned int n = 0;
	DIR *dir = opendir("/proc");
	FILE *f;

	while (dir && (d = readdir(dir)) && n < 4096) {
		n++;
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "ktstr-vc", 8))
			vs_task_stack(atoi(d->d_name), atoi(d->d_name));
		fclose(f);
	}
	if (dir)
		closedir(dir);
}

/* Is this thread still there, and not a zombie? */
static bool vs_task_alive(pid_t pid, int tid)
{
	char state = vs_task_state(pid, tid);

	return state != '?' && state != 'Z' && state != 'X';
}

/*
 * A call that must not wait, of a process that is exiting (its leader a
 * zombie: killed, the
 * other threads on their way out) is past its system call; what is left
 * is the exit, which on the debug kernel can take more than 10 s by
 * itself (exit_mmap, object debugging).  It gets the 20 s of an exit.
 */
static __u64 vs_hang_ns(const struct sx_hb *hb)
{
	return vs_task_state(hb->pid, hb->pid) == 'Z' ? SX_EXIT_NS : SX_HANG_NS;
}

static struct {
	int fd;
	unsigned int complaints;
	unsigned int printed;
	unsigned int follow;		/* lines after a complaint to show */
	double first;
	char first_line[200];
} vs_klog = { .fd = -1 };

/* Hangs after an oops are mostly its aftermath: say so. */
static const char *vs_after_klog(void)
{
	return vs_klog.complaints ? " (after the kernel's complaint)" : "";
}

static struct {
	pid_t pid;
	__u64 due_ns;
} vs_pending_kill[16];

static void vs_schedule_kill(pid_t pid, __u64 due)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vs_pending_kill); i++)
		if (!vs_pending_kill[i].pid || vs_pending_kill[i].pid == pid) {
			vs_pending_kill[i].pid = pid;
			vs_pending_kill[i].due_ns = due;
			return;
		}
}

static pid_t vs_dumped_pid;

static void vs_report_hang(struct sx_hb *hb, __u64 start, __u64 now)
{
	sx_count(SX_C_HANGS, 1);
	sx_count(SX_C_ERRORS, 1);
	vs_info("HANG [%7.2f s] slot %d %s (pid %d tid %d): %s in flight for %.1f s%s%s; seed %llu",
		sx_uptime(), hb->slot, hb->name, hb->pid, hb->tid,
		sx_kind_name(hb->kind), (double)(now - start) / SX_NS_PER_SEC,
		hb->quick ? "" : ", through a signal", vs_after_klog(),
		(unsigned long long)sx->seed);
	/* The whole process once: the lock holder may be another thread. */
	if (hb->pid != vs_dumped_pid) {
		vs_dumped_pid = hb->pid;
		sx_dump_stacks(hb->pid, 0);
	} else {
		vs_task_stack(hb->pid, hb->tid);
	}
	vs_dump_workers();
	/* Kill after a grace: the kernel's own watchdogs may speak first. */
	vs_schedule_kill(hb->pid, now + vs.grace_ns);
}

/* ns since then, 0 for a time not past (set after we looked). */
static __u64 vs_since(__u64 then, __u64 now)
{
	return then && (__s64)(now - then) > 0 ? now - then : 0;
}

/* Every call in flight: a quick one past 10 s, or one a signal missed. */
void sx_watch(void)
{
	__u64 now, start, sig;
	struct sx_hb *hb;
	unsigned int i;
	bool hung;

	for (i = 0; i < SX_NR_HB; i++) {
		hb = &sx->hb[i];
		start = __atomic_load_n(&hb->start_ns, __ATOMIC_ACQUIRE);
		if (!start || start == hb->reported)
			continue;
		sig = __atomic_load_n(&hb->sig_ns, __ATOMIC_ACQUIRE);
		now = sx_now_ns();
		hung = hb->quick ? vs_since(start, now) > SX_HANG_NS &&
				   vs_since(start, now) > vs_hang_ns(hb) :
		       sig > start && vs_since(sig, now) > SX_HANG_NS;
		if (!hung)
			continue;
		hb->reported = start;
		if (!vs_task_alive(hb->pid, hb->tid)) {
			/* Killed in the call, and reaped by someone else. */
			vs_info("note: slot %d %s (pid %d tid %d) was in %s for %.1f s, and is gone",
				hb->slot, hb->name, hb->pid, hb->tid,
				sx_kind_name(hb->kind),
				(double)vs_since(start, now) / SX_NS_PER_SEC);
			continue;
		}
		vs_report_hang(hb, start, now);
	}
	now = sx_now_ns();
	for (i = 0; i < ARRAY_SIZE(vs_pending_kill); i++) {
		if (!vs_pending_kill[i].pid || now < vs_pending_kill[i].due_ns)
			continue;
		sx_kill_child(vs_pending_kill[i].pid);
		vs_pending_kill[i].pid = 0;
	}
}

static struct {
	__u64 tail;
	__u64 stuck_ns;
	unsigned int printed;
	unsigned int dropped;
} vs_log;

/* The children's lines, as TAP comments, in order. */
static void vs_log_drain(void)
{
	__u64 head = __atomic_load_n(&sx->log_head, __ATOMIC_ACQUIRE), seq;
	struct sx_log_line *line;

	while (vs_log.tail < head) {
		line = &sx->log[vs_log.tail % SX_LOG_LINES];
		seq = __atomic_load_n(&line->seq, __ATOMIC_ACQUIRE);
		if (seq != vs_log.tail + 1 &&
		    head - vs_log.tail <= SX_LOG_LINES) {
			/* Being written; or its writer died mid-line. */
			if (!vs_log.stuck_ns)
				vs_log.stuck_ns = sx_now_ns();
			if (sx_now_ns() - vs_log.stuck_ns < SX_NS_PER_SEC)
				return;
		}
		if (seq == vs_log.tail + 1 && vs_log.printed < VS_LOG_MAX) {
			vs_info("%.*s", SX_LOG_LEN, line->text);
			vs_log.printed++;
		} else {
			vs_log.dropped++;
		}
		vs_log.stuck_ns = 0;
		vs_log.tail++;
	}
}

static const char * const vs_klog_bad[] = {
	"Oops", "BUG:", "kernel BUG", "WARNING:", "Call Trace",
	"general protection", "UBSAN:", "KASAN:", "list_add corruption",
	"list_del corruption", "soft lockup", "self-detected stall",
	"detected stalls", "blocked for more than", "Kernel panic",
	"hard LOCKUP", "kmemleak",
};

static bool vs_klog_is_bad(const char *text)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vs_klog_bad); i++)
		if (strstr(text, vs_klog_bad[i]))
			return true;
	return false;
}

static void vs_klog_line(char *text)
{
	bool bad;

	text[strcspn(text, "\n")] = '\0';
	/* Our own output, echoed into the log by the VM's init. */
	if (strstr(text, "tap| "))
		return;
	bad = vs_klog_is_bad(text);
	if (bad && !vs_klog.complaints++) {
		vs_klog.first = sx_uptime();
		snprintf(vs_klog.first_line, sizeof(vs_klog.first_line), "%s",
			 text);
	}
	if (bad)
		vs_klog.follow = 40;
	else if (vs_klog.follow)
		vs_klog.follow--;
	else
		return;
	if (vs_klog.printed++ < VS_KLOG_MAX)
		vs_info("kmsg [%7.2f s]: %s", sx_uptime(), text);
}

static void vs_klog_scan(void)
{
	char rec[2048], *text;
	unsigned int i;
	ssize_t n;

	for (i = 0; vs_klog.fd >= 0 && i < 2000; i++) {
		n = read(vs_klog.fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records lost to the ring: go on */
		if (n <= 0)
			return;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (text)
			vs_klog_line(text + 1);
	}
}

static void vs_klog_open(void)
{
	vs_klog.fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (vs_klog.fd >= 0)
		lseek(vs_klog.fd, 0, SEEK_END);
}

static bool vs_cut;

static void vs_tick(void)
{
	sx_watch();
	vs_log_drain();
	vs_klog_scan();
	if (vs_klog.complaints && vs.klog_stop && !vs_cut) {
		vs_cut = true;
		vs_info("the kernel complained at %.2f s: stopping early (STRESS_KLOG_STOP=0 goes on)",
			vs_klog.first);
		sx_integrity_cut_short();
	}
	fflush(stdout);
}

static void vs_nap_ms(unsigned int ms)
{
	sx_sleep_us(ms * 1000ull);
}

/* The hostile phase's processes: a guest and a host per slot. */
struct vs_proc {
	pid_t pid;
	unsigned int slot;
	bool host;
	unsigned int inc;
	__u64 kill_ns;
	__u64 restart_ns;
	bool said;
};

static struct vs_proc vs_procs[2 * SX_MAX_SLOTS];
static unsigned int vs_nprocs;
static struct sx_rng vs_rng;

static void vs_spawn(struct vs_proc *p)
{
	unsigned int inc = p->inc;
	__u64 now = sx_now_ns();
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		if (p->host)
			sx_hostile_host(p->slot, inc);
		else
			sx_hostile_guest(p->slot, inc);
		_exit(0);
	}
	if (pid < 0) {
		p->restart_ns = now + 100 * SX_NS_PER_MS;
		return;
	}
	setpgid(pid, pid);
	sx_children_add(pid);
	p->pid = pid;
	p->said = false;
	p->inc++;
	sx_count(p->host ? SX_C_HOSTS : SX_C_GUESTS, 1);
	/* A steady guest lives long enough for a run without end. */
	p->kill_ns = p->host ?
		now + sx_range(&vs_rng, 5000, 40000) * SX_NS_PER_MS :
		!sx_guest_wild(p->slot, inc) ?
		now + sx_range(&vs_rng, 30000, 45000) * SX_NS_PER_MS :
		now + sx_range(&vs_rng, 500, 8000) * SX_NS_PER_MS;
	if (!sx_allowed(SX_A_KILL))
		p->kill_ns = ~0ull;
}

static const char *vs_who(const struct vs_proc *p)
{
	return p->host ? "host" : "guest";
}

/* A dead guest's instances: their last counters into the totals. */
static void vs_fold_stats(unsigned int slot)
{
	struct sx_slot_stats *ss = &sx->stats[slot];
	__u64 *done = (__u64 *)&ss->done, *cur = (__u64 *)&ss->cur;
	size_t i;

	for (i = 0; i < sizeof(ss->cur) / sizeof(__u64); i++)
		done[i] += cur[i];
	memset(&ss->cur, 0, sizeof(ss->cur));
}

static void vs_reaped(struct vs_proc *p, int status)
{
	__u64 killed = vs_killed_ns(p->pid);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	sx_children_del(p->pid);
	if (!p->host) {
		/* Its fork child died with it, maybe in a call. */
		__atomic_store_n(&sx->hb[p->slot * SX_HB_PER_SLOT +
					 SX_R_FORK_CHILD].start_ns, 0,
				 __ATOMIC_RELEASE);
		vs_fold_stats(p->slot);
	}
	if (killed && sig == SIGKILL) {
		/* Ours. */
	} else if (WIFEXITED(status) && !WEXITSTATUS(status)) {
		/* Its own end. */
	} else if (sig) {
		sx_count(SX_C_CRASHES, 1);
		sx_count(SX_C_ERRORS, 1);
		vs_info("ERROR: slot %u %s (incarnation %u, pid %d) died of signal %d (%s)%s; seed %llu",
			p->slot, vs_who(p), p->inc, p->pid, sig, strsignal(sig),
			sig == SIGKILL ? ", not sent by us" : "",
			(unsigned long long)sx->seed);
	} else {
		sx_count(SX_C_ERRORS, 1);
		vs_info("ERROR: slot %u %s (incarnation %u, pid %d) exited with status %d; seed %llu",
			p->slot, vs_who(p), p->inc, p->pid, WEXITSTATUS(status),
			(unsigned long long)sx->seed);
	}
	p->pid = 0;
	p->restart_ns = sx_now_ns() + sx_range(&vs_rng, 0, 300) * SX_NS_PER_MS;
}

/* Reap, kill when due, notice the unkillable; false if it is gone. */
static bool vs_look_after(struct vs_proc *p, bool kills)
{
	__u64 now = sx_now_ns(), killed;
	int status;

	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		vs_reaped(p, status);
		return false;
	}
	killed = vs_killed_ns(p->pid);
	if (!killed && kills && now >= p->kill_ns) {
		sx_kill_child(p->pid);
		sx_count(p->host ? SX_C_HOST_KILLS : SX_C_KILLS, 1);
	} else if (killed && now - killed > SX_EXIT_NS && !p->said) {
		p->said = true;
		sx_count(SX_C_HANGS, 1);
		sx_count(SX_C_ERRORS, 1);
		vs_info("HANG [%7.2f s] slot %u %s (pid %d) not gone %llu s after SIGKILL%s; seed %llu",
			sx_uptime(), p->slot, vs_who(p), p->pid,
			SX_EXIT_NS / SX_NS_PER_SEC, vs_after_klog(),
			(unsigned long long)sx->seed);
		sx_dump_stacks(p->pid, 0);
		vs_dump_workers();
	}
	return true;
}

static unsigned int vs_alive(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < vs_nprocs; i++)
		n += vs_procs[i].pid > 0;
	return n;
}

/* Stop everyone: 20 s to go, then SIGKILL, then 20 s more. */
static void vs_hostile_stop(void)
{
	__u64 end = sx_now_ns() + SX_EXIT_NS;
	unsigned int i;

	__atomic_store_n(&sx->stop, 1, __ATOMIC_RELEASE);
	while (vs_alive() && sx_now_ns() < end) {
		vs_tick();
		for (i = 0; i < vs_nprocs; i++)
			if (vs_procs[i].pid > 0)
				vs_look_after(&vs_procs[i], false);
		vs_nap_ms(20);
	}
	for (i = 0; i < vs_nprocs; i++) {
		struct vs_proc *p = &vs_procs[i];

		if (p->pid <= 0)
			continue;
		sx_count(SX_C_HANGS, 1);
		sx_count(SX_C_ERRORS, 1);
		vs_info("HANG slot %u %s (pid %d) still there %llu s after the stop%s; seed %llu",
			p->slot, vs_who(p), p->pid, SX_EXIT_NS / SX_NS_PER_SEC,
			vs_after_klog(), (unsigned long long)sx->seed);
		sx_dump_stacks(p->pid, 0);
		sx_kill_child(p->pid);
	}
	end = sx_now_ns() + SX_EXIT_NS + SX_NS_PER_SEC;
	while (vs_alive() && sx_now_ns() < end) {
		vs_tick();
		for (i = 0; i < vs_nprocs; i++)
			if (vs_procs[i].pid > 0)
				vs_look_after(&vs_procs[i], false);
		vs_nap_ms(20);
	}
}

static void vs_hostile(unsigned int nslots, __u64 secs)
{
	__u64 end = sx_now_ns() + secs * SX_NS_PER_SEC;
	unsigned int i;

	sx_rng_init(&vs_rng, SX_STREAM(1, 0xff, 0, 0));
	/* Ahead of a steady guest's rewriter; the children start at 0. */
	setpriority(PRIO_PROCESS, gettid(), -10);
	vs_nprocs = 2 * nslots;
	for (i = 0; i < vs_nprocs; i++) {
		vs_procs[i].slot = i / 2;
		vs_procs[i].host = i % 2;
		vs_spawn(&vs_procs[i]);
	}
	while (sx_now_ns() < end && !vs_cut) {
		vs_tick();
		for (i = 0; i < vs_nprocs; i++) {
			struct vs_proc *p = &vs_procs[i];

			if (p->pid > 0)
				vs_look_after(p, true);
			else if (sx_now_ns() >= p->restart_ns)
				vs_spawn(p);
		}
		vs_nap_ms(20);
	}
	vs_hostile_stop();
	setpriority(PRIO_PROCESS, gettid(), 0);
}

/* Up to three slots; a fourth, if there is one, floods the log. */
static void vs_integrity(unsigned int nslots, __u64 secs,
			 struct sx_integrity_result *res)
{
	unsigned int n = nslots < 3 ? nslots : 3;

	sx_integrity_start(n, nslots > n ? (int)n : -1, secs);
	while (sx_integrity_running()) {
		vs_tick();
		vs_nap_ms(50);
	}
	sx_integrity_finish(res);
	vs_tick();
}

static unsigned int vs_test;
static bool vs_failed;

__printf(3, 4)
static void vs_tap(bool ok, const char *skip, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", ok ? "ok" : "not ok", ++vs_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (skip)
		printf(" # SKIP %s", skip);
	printf("\n");
	if (!ok)
		vs_failed = true;
}

static const char * const vs_itest_names[SX_NR_ITESTS] = {
	[SX_I_PORT1] = "integrity: port 1 byte-exact and in order through reader stalls",
	[SX_I_PORT0] = "integrity: port 0 in order, its gaps exactly the drop counter",
	[SX_I_KILL] = "integrity: after SIGKILL every consumed byte arrives, then EOF",
	[SX_I_END] = "integrity: after close/DETACH/exit every consumed byte arrives, then EOF",
	[SX_I_LIVE] = "integrity: handshake, progress, guests end, no hang or unexpected errno",
};

static void vs_integrity_tap(bool ran, const struct sx_integrity_result *res,
			     __u64 hangs, __u64 unexpected, __u64 errors)
{
	unsigned int t, fails;
	const char *skip;

	for (t = 0; t < SX_NR_ITESTS; t++) {
		fails = res->fail[t];
		/* A guest's broken invariant, even if it was killed after. */
		if (t == SX_I_LIVE)
			fails += hangs + unexpected + errors;
		skip = !ran ? "integrity mode not run" :
		       t == SX_I_KILL && !res->kill_rounds ? "no round ended by SIGKILL" :
		       t == SX_I_END && !res->end_rounds ? "no round ended by itself" :
		       NULL;
		if (fails && res->first[t][0])
			vs_info("first failure: %s", res->first[t]);
		vs_tap(!fails, fails ? NULL : skip, "%s", vs_itest_names[t]);
	}
	if (!ran)
		return;
	vs_info("integrity: %u rounds (%u SIGKILL, %u ended, %u without a session)",
		res->rounds, res->kill_rounds, res->end_rounds, res->no_session);
	vs_info("integrity: %u trickle rounds (DETACH or close while the guest posts and port 1's reader trickles), %u without port 1 full, longest end %llu ms",
		res->trickle_rounds, res->trickle_unfilled,
		(unsigned long long)res->trickle_end_max_ms);
	vs_info("integrity: port 1 %llu bytes, port 0 %llu bytes read + %llu dropped, %llu reader stalls, %llu chains left unconsumed at the end",
		(unsigned long long)res->port1_bytes,
		(unsigned long long)res->port0_bytes,
		(unsigned long long)res->port0_gaps,
		(unsigned long long)res->stalls,
		(unsigned long long)res->unconsumed);
}

static void vs_print_results(void)
{
	unsigned int k, e;
	char line[1024];
	int n;

	for (k = 0; k < SX_NR_KINDS; k++) {
		__u64 total = 0;

		for (e = 0; e < SX_ERRNO_MAX; e++)
			total += sx->results[k][e];
		if (!total)
			continue;
		n = snprintf(line, sizeof(line),
			     "# calls %s: %llu, longest %.3f s (slot %d %s) (",
			     sx_kind_name(k), (unsigned long long)total,
			     (double)sx->longest_ns[k] / SX_NS_PER_SEC,
			     sx->hb[sx->longest_hb[k]].slot,
			     sx->hb[sx->longest_hb[k]].name);
		for (e = 0; e < SX_ERRNO_MAX && n < (int)sizeof(line) - 40; e++)
			if (sx->results[k][e])
				n += snprintf(line + n, sizeof(line) - n, "%s%s %llu",
					      line[n - 1] == '(' ? "" : ", ",
					      sx_errno_name(e),
					      (unsigned long long)sx->results[k][e]);
		printf("%s)\n", line);
	}
}

static void vs_print_module_stats(unsigned int nslots)
{
	struct ktstr_vc_stats t;
	__u64 *to = (__u64 *)&t, chains = 0, bytes = 0, runs = 0, stops = 0;
	unsigned int s, q;
	size_t i;
	int b;

	memset(&t, 0, sizeof(t));
	for (s = 0; s < nslots; s++) {
		const __u64 *d = (const __u64 *)&sx->stats[s].done;

		for (i = 0; i < sizeof(t) / sizeof(__u64); i++)
			to[i] += d[i];
	}
	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++) {
		chains += t.queue[q].chains;
		bytes += t.queue[q].bytes;
		runs += t.queue[q].runs;
		stops += t.queue[q].weight_stops;
	}
	vs_info("module (each hostile instance's last GET_STATS): chains %llu, bytes %llu, kicks %llu, interrupts %llu, runs %llu,",
		(unsigned long long)chains, (unsigned long long)bytes,
		(unsigned long long)t.kicks, (unsigned long long)t.interrupts,
		(unsigned long long)runs);
	vs_info("module: weight stops %llu, port 0 dropped %llu, torn %llu, rx discarded %llu",
		(unsigned long long)stops,
		(unsigned long long)t.port0_dropped,
		(unsigned long long)t.torn_writes,
		(unsigned long long)t.rx_discarded);
	printf("# module rejections:");
	for (b = 0; b < VC_BAD_NR; b++)
		printf(" %s %llu", vc_bad_name(b),
		       (unsigned long long)vc_bad_count(&t, b));
	printf("\n");
}

static __u64 vs_c(enum sx_count c)
{
	return __atomic_load_n(&sx->counts[c], __ATOMIC_ACQUIRE);
}

static void vs_totals(unsigned int nslots)
{
	vs_info("totals: iterations %llu, chains posted %llu, used %llu, hostile %llu, rewrites %llu",
		vs_c(SX_C_ITERATIONS), vs_c(SX_C_CHAINS_POSTED),
		vs_c(SX_C_CHAINS_USED), vs_c(SX_C_HOSTILE_CHAINS),
		vs_c(SX_C_REWRITES));
	vs_info("totals: endless re-posts %llu, chains the device took during them %llu",
		vs_c(SX_C_REPOSTS), vs_c(SX_C_REPOSTED));
	vs_info("totals: instances %llu, attaches %llu, guests %llu, hosts %llu, kills %llu (guests) %llu (hosts)",
		vs_c(SX_C_INSTANCES), vs_c(SX_C_ATTACHES), vs_c(SX_C_GUESTS),
		vs_c(SX_C_HOSTS), vs_c(SX_C_KILLS), vs_c(SX_C_HOST_KILLS));
	vs_info("totals: DRIVER_OK %llu, handshakes %llu, resets %llu",
		vs_c(SX_C_DRIVER_OK), vs_c(SX_C_HANDSHAKES), vs_c(SX_C_RESETS));
	vs_info("totals: control garbage %llu, memory tables %llu, unmaps %llu, mprotects %llu, fd swaps %llu, forks %llu, faults caught %llu",
		vs_c(SX_C_CTRL_GARBAGE), vs_c(SX_C_MEM_TABLES), vs_c(SX_C_UNMAPS),
		vs_c(SX_C_MPROTECTS), vs_c(SX_C_FD_SWAPS), vs_c(SX_C_FORKS),
		vs_c(SX_C_FAULTS));
	vs_info("totals: host read %llu bytes, wrote %llu bytes, %llu EOFs",
		vs_c(SX_C_HOST_READ), vs_c(SX_C_HOST_WRITTEN), vs_c(SX_C_EOFS));
	vs_info("totals: resets checked for stale host bytes %llu, table swaps under a poll window %llu, refusals found in the kernel log %llu (flood %llu)",
		vs_c(SX_C_STALE_CHECKS), vs_c(SX_C_POLL_SWAPS),
		vs_c(SX_C_KLOG_CHECKS), vs_c(SX_C_FLOODS));
	vs_info("totals: errors %llu (unexpected errnos %llu, hangs %llu, crashes %llu), kernel log complaints %u, log lines dropped %u",
		vs_c(SX_C_ERRORS), vs_c(SX_C_UNEXPECTED), vs_c(SX_C_HANGS),
		vs_c(SX_C_CRASHES), vs_klog.complaints, vs_log.dropped);
	vs_print_results();
	if (vs.mode & VS_HOSTILE)
		vs_print_module_stats(nslots);
}

static char vs_alarm_msg[256];

/* The last resort: the supervisor itself must end, and say why. */
static void vs_alarm(int sig)
{
	ssize_t n;

	(void)sig;
	n = write(STDOUT_FILENO, vs_alarm_msg, strlen(vs_alarm_msg));
	(void)n;
	_exit(1);
}

static int vs_probe(unsigned int *nr_slots)
{
	struct ktstr_vc_info info;
	int fd = open(VC_CTRL_PATH, O_RDWR | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = __vc_get_info(fd, &info);
	close(fd);
	if (err)
		return err;
	vs_info("module: ABI %u (this program: %u), %u slots, %u queues of %u",
		info.abi_version, KTSTR_VC_ABI_VERSION, info.nr_slots,
		info.num_queues, info.queue_max);
	*nr_slots = info.nr_slots;
	return 0;
}

static void vs_fail_all(const char *why)
{
	unsigned int t;

	for (t = 0; t < VS_PLAN; t++)
		vs_tap(false, NULL, "vc_stress test %u (%s)", t + 1, why);
}

int main(int argc, char **argv)
{
	struct sx_integrity_result ires = { 0 };
	__u64 isecs, hsecs, hangs, unexp, t_int;
	unsigned int no, nr_slots = 0, nslots;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	no = vs_options(argc, argv);
	vs_info("seed %llu", (unsigned long long)vs.seed);
	printf("TAP version 13\n1..%u\n", VS_PLAN);
	sx = mmap(NULL, sizeof(*sx), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sx == MAP_FAILED) {
		vs_fail_all("no shared memory");
		return 1;
	}
	sx->seed = vs.seed;
	sx->t0_ns = sx_now_ns();
	sx->no_mask = no;
	sx->wild = vs.wild;
	sx_signals_init();
	snprintf(vs_alarm_msg, sizeof(vs_alarm_msg),
		 "not ok %u - vc_stress watchdog: the supervisor itself ran %llu s over its deadline; seed %llu\n",
		 VS_PLAN + 1, 240ull, (unsigned long long)vs.seed);
	signal(SIGALRM, vs_alarm);
	alarm(vs.secs + 240);
	vs_klog_open();

	err = vs_probe(&nr_slots);
	if (err) {
		vs_info("%s: %s (is ktstr_vconsole loaded?)", VC_CTRL_PATH,
			strerror(-err));
		vs_fail_all("no module");
		return 1;
	}
	nslots = nr_slots < vs.slots ? nr_slots : vs.slots;
	sx->nr_slots = nr_slots;
	isecs = vs.mode == VS_INTEGRITY ? vs.secs :
		vs.mode & VS_INTEGRITY ? (vs.secs / 3 > 5 ? vs.secs / 3 : 5) : 0;
	hsecs = vs.mode & VS_HOSTILE ? (vs.secs > isecs ? vs.secs - isecs : 5) : 0;
	vs_info("%llu s: integrity %llu s on %u slots, hostile %llu s on %u slots; left out: %#x",
		(unsigned long long)vs.secs, (unsigned long long)isecs,
		nslots < 3 ? nslots : 3, (unsigned long long)hsecs, nslots, no);

	if (isecs)
		vs_integrity(nslots, isecs, &ires);
	hangs = vs_c(SX_C_HANGS);
	unexp = vs_c(SX_C_UNEXPECTED);
	t_int = vs_c(SX_C_ERRORS);
	if (hsecs && !vs_cut)
		vs_hostile(nslots, hsecs);
	vs_tick();

	vs_integrity_tap(isecs, &ires, hangs, unexp, t_int);
	vs_info("hostile: errors %llu (unexpected errnos %llu, hangs %llu, crashes %llu)",
		vs_c(SX_C_ERRORS) - t_int, vs_c(SX_C_UNEXPECTED) - unexp,
		vs_c(SX_C_HANGS) - hangs, vs_c(SX_C_CRASHES));
	vs_tap(vs_c(SX_C_ERRORS) == t_int, hsecs ? NULL : "hostile mode not run",
	       "hostile: no hang, crash, unexpected errno or broken invariant");
	if (vs_klog.complaints)
		vs_info("first kernel complaint at %.2f s: %s", vs_klog.first,
			vs_klog.first_line);
	vs_tap(!vs_klog.complaints, vs_klog.fd < 0 ? "no /dev/kmsg" : NULL,
	       "kernel log clean during the run");
	vs_totals(nslots);
	vs_info("seed %llu: replay with SEED=%llu STRESS_SECS=%llu%s",
		(unsigned long long)vs.seed, (unsigned long long)vs.seed,
		(unsigned long long)vs.secs, vs_failed ? " (FAILED)" : "");
	fflush(stdout);
	return vs_failed ? 1 : 0;
}
