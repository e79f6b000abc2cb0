// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-vconsole benchmark, userspace-as-guest mode: the process plays the
 * guest of one or more device instances (selftests/vconsole/vc_driver.c),
 * as the selftests do, and measures each figure next to a baseline taken
 * in the same run, on the same kernel, in the same VM:
 *
 *   part 1  port-1 TX throughput with 64 B, 4 KiB and 64 KiB chains (a
 *           64 KiB chain is two 32 KiB descriptors, the device's cap),
 *           a reader thread on /dev/ktstr-port1; baseline pipe(2) with
 *           the same write size between two threads; memcpy of the same
 *           bytes in the same pieces for scale.  The tx_*_batch rows are
 *           the same with one kick per batch instead of one per chain,
 *           interleaved with them: what suppressing kicks could give
 *   part 2  port-0 RX wake latency: one byte written to /dev/ktstr-port0
 *           until the guest sees the used entry and the call eventfd;
 *           baseline the same round trip through a pair of pipes and an
 *           echo thread
 *   part 5  port-1 TX of 1, 2 and 4 instances (slots 0-3) at once,
 *           total and per instance; baseline as many pipe pairs at once
 *
 * Run as root inside the test VM with ktstr_vconsole loaded (nr_slots >=
 * 4 for part 5).  Output: TAP (one result per part) with progress as
 * comments, then the rows as a JSON list between two marker lines, a row
 * over a few lines of at most 900 characters (what /init passes through
 * /dev/kmsg; selftests/bench/run-bench.sh collects them):
 *
 *   # ktstr-bench: json begin
 *   [
 *   {"id": "tx_64k", ...},
 *   ...
 *   ]
 *   # ktstr-bench: json end
 *
 * Options, as key=value arguments or environment variables bench_<key>
 * (the kernel command line of the test VM passes those to /init):
 *   reps=5        repetitions of every measurement (>= 5 for the spread)
 *   scale=1       factor on the bytes moved and round trips per repetition
 *   parts=1,2,5   which parts to run
 *   iters=10000   round trips per repetition in part 2 (before scale)
 *   kick=chain    chain: the guest kicks after every chain it publishes
 *                 (as Linux's virtio_console does, unless the device sets
 *                 VRING_USED_F_NO_NOTIFY); batch: once per batch
 *   irq=on        off: the guest sets VRING_AVAIL_F_NO_INTERRUPT on TX
 *                 and yields while it waits (a diagnostic variant)
 *   chunk5=65536  chain and write size of part 5
 *   sizes=64,4096,65536  the chain sizes of part 1
 *   baseline=1    0: skip the baselines of parts 1 and 5 (for profiling)
 *
 * Each row's "diag" says what the device did (its statistics) and where
 * the CPU time went: per chain (or pipe write), the CPU time and the
 * sleeps (voluntary context switches) of the guest thread, the reader and
 * the module's worker thread ktstr-vc<slot>.  In the test VM all vCPUs
 * take turns on one host thread (TCG, thread=single) while guest time
 * runs on for all of them, so a thread is charged for turns its vCPU did
 * not get: compare these figures with each other, not with wall time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "vc_driver.h"

#define KIB		1024ul
#define MIB		(1024ul * KIB)
#define DESC_MAX	(32 * KIB)	/* the device's per-descriptor cap */
#define RING_NUM	256u		/* entries per queue (the maximum) */
#define DATA_SIZE	(RING_NUM * DESC_MAX)
#define READ_BUF	MIB		/* the readers' buffer */
#define RX_LEN		64u		/* port-0 RX buffers of part 2 */
#define RX_POSTED	32u		/* RX chains kept posted in part 2 */
#define WAIT_MS		20000		/* no progress for this long: fail */
#define MAX_INST	4
#define MAX_REPS	32
#define MAX_SAMPLES	(MAX_REPS * MAX_INST)
#define MAX_ROWS	32
#define MAX_CHAIN_DESC	8
#define WAKE_BYTE	KTSTR_VC_WAKE_DUMP

#define JSON_BEGIN	"# ktstr-bench: json begin"
#define JSON_END	"# ktstr-bench: json end"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* Bytes per repetition of part 1 at scale 1, by chain size. */
static const struct {
	size_t chunk;
	size_t total;
	const char *id;
	const char *id_batch;
	const char *name;
} tx_sizes[] = {
	{ 64,		2 * MIB,	"tx_64b", "tx_64b_batch",	"64 B" },
	{ 4 * KIB,	32 * MIB,	"tx_4k", "tx_4k_batch",	"4 KiB" },
	{ 64 * KIB,	64 * MIB,	"tx_64k", "tx_64k_batch",	"64 KiB" },
};

#define SCALE_TOTAL	(32 * MIB)	/* per instance, part 5, scale 1 */

static struct {
	unsigned int reps;
	double scale;
	char parts[32];
	unsigned int iters;
	bool kick_batch;
	bool irq_off;
	size_t chunk5;
	char sizes[64];
	bool baseline;
} opt = {
	.reps = 5,
	.scale = 1.0,
	.parts = "1,2,5",
	.iters = 10000,
	.chunk5 = 64 * KIB,
	.sizes = "64,4096,65536",
	.baseline = true,
};

/* CPU time (s) and sleeps (voluntary context switches) of a thread. */
struct acct {
	double cpu;
	double sleeps;
};

/* What one kind of run cost, summed over its runs. */
struct tally {
	double units;			/* chains or pipe writes */
	double reads;			/* read() calls that returned bytes */
	struct acct writer;		/* the guest, or the pipe writer */
	struct acct reader;
	struct acct worker;		/* the module's thread (not for pipes) */
	struct ktstr_vc_queue_stats q;	/* port-1 TX, summed over instances */
};

/* One device instance and the host side of its port 1. */
struct inst {
	struct vc_guest g;
	bool up;
	unsigned int slot;
	int port1;			/* reader, O_NONBLOCK */
	__u64 data;			/* gpa of DATA_SIZE bytes of TX buffers */
	__u64 rx0;			/* gpa of port-0 RX buffers */
	__u8 *rbuf;
	int pipe[2];			/* baseline: the pipe of this pair */
	__u8 *wbuf;			/* baseline: what the writer writes */
	pid_t worker;			/* the module's ktstr-vc<slot>, or 0 */

	/* One run. */
	size_t chunk;
	size_t total;
	bool use_pipe;
	bool kick_batch;
	double t_start;
	double t_end;
	size_t got;
	size_t reads;
	struct acct w_acct;
	struct acct r_acct;
	int err;
	pthread_t writer;
	pthread_t reader;
};

/* A set of samples: one per repetition (or per instance and repetition). */
struct series {
	double v[MAX_SAMPLES];
	unsigned int n;
};

struct row {
	const char *id;
	int part;
	char what[96];
	const char *unit;
	bool lower_better;
	char base_name[64];
	struct series ours;
	struct series base;
	struct series memcpy_mbps;	/* part 1 only */
	char diag[640];			/* a JSON object's members, or "" */
	char note[160];
};

static struct inst insts[MAX_INST];
static unsigned int nr_slots;
static struct row rows[MAX_ROWS];
static unsigned int nrows;
static unsigned int tap_n;
static unsigned int tap_plan;
static char kernel_release[65];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A TAP comment, "# " before each of its lines. */
static void msg(const char *fmt, ...)
{
	char buf[2048], *line, *next;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		printf("# %s\n", line);
	}
	fflush(stdout);
}

static void print_json(void);

/* A part failed: say so, keep what was measured, stop. */
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("not ok %u - ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	while (tap_n < tap_plan)
		printf("not ok %u - skipped after an earlier failure\n",
		       ++tap_n);
	print_json();
	fflush(stdout);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n values, nearest rank; sorts v. */
static double quantile(double *v, unsigned int n, double q)
{
	unsigned int rank;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	rank = (unsigned int)ceil(q * n);
	return v[rank ? rank - 1 : 0];
}

static void series_add(struct series *s, double v)
{
	if (s->n < MAX_SAMPLES)
		s->v[s->n++] = v;
}

struct spread {
	double min, median, max;
};

static struct spread series_spread(const struct series *s)
{
	double v[MAX_SAMPLES];
	struct spread sp;

	memcpy(v, s->v, s->n * sizeof(v[0]));
	sp.median = quantile(v, s->n, 0.5);
	sp.min = s->n ? v[0] : NAN;
	sp.max = s->n ? v[s->n - 1] : NAN;
	return sp;
}

static struct row *row_new(const char *id, int part, const char *unit,
			   bool lower_better)
{
	struct row *r;

	if (nrows == MAX_ROWS)
		die("more than %d rows", MAX_ROWS);
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->part = part;
	r->unit = unit;
	r->lower_better = lower_better;
	return r;
}

/* A JSON number, or null for what could not be measured. */
static void json_num(const char *key, double v)
{
	if (isfinite(v))
		printf(", \"%s\": %.6g", key, v);
	else
		printf(", \"%s\": null", key);
}

static void print_row(const struct row *r)
{
	struct spread o = series_spread(&r->ours);
	struct spread b = series_spread(&r->base);

	printf("{\"id\": \"%s\", \"part\": %d, \"source\": \"vc_bench\"",
	       r->id, r->part);
	printf(", \"kernel\": \"%s\", \"what\": \"%s\", \"unit\": \"%s\"",
	       kernel_release, r->what, r->unit);
	printf(", \"better\": \"%s\", \"samples\": %u",
	       r->lower_better ? "lower" : "higher", r->ours.n);
	json_num("figure", o.median);
	json_num("min", o.min);
	json_num("median", o.median);
	json_num("max", o.max);
	printf(", \"baseline_name\": \"%s\"", r->base_name);
	json_num("baseline", b.median);
	json_num("base_min", b.min);
	json_num("base_median", b.median);
	json_num("base_max", b.max);
	json_num("ratio", o.median / b.median);
	/* Lines of at most 900 characters: /init passes lines to /dev/kmsg. */
	if (r->memcpy_mbps.n) {
		struct spread m = series_spread(&r->memcpy_mbps);

		printf("\n");
		json_num("memcpy", m.median);
		json_num("memcpy_min", m.min);
		json_num("memcpy_max", m.max);
		json_num("ratio_memcpy", o.median / m.median);
	}
	if (r->diag[0])
		printf(", \"diag\": {%s}", r->diag);
	if (r->note[0])
		printf(",\n\"note\": \"%s\"", r->note);
	printf("}");
}

static void print_json(void)
{
	unsigned int i;

	puts(JSON_BEGIN);
	puts("[");
	for (i = 0; i < nrows; i++) {
		print_row(&rows[i]);
		puts(i + 1 < nrows ? "," : "");
	}
	puts("]");
	puts(JSON_END);
	fflush(stdout);
}

/* ---- options ---- */

static void set_option(const char *key, const char *val)
{
	if (!strcmp(key, "reps"))
		opt.reps = strtoul(val, NULL, 0);
	else if (!strcmp(key, "scale"))
		opt.scale = strtod(val, NULL);
	else if (!strcmp(key, "parts"))
		snprintf(opt.parts, sizeof(opt.parts), "%s", val);
	else if (!strcmp(key, "iters"))
		opt.iters = strtoul(val, NULL, 0);
	else if (!strcmp(key, "kick"))
		opt.kick_batch = !strcmp(val, "batch");
	else if (!strcmp(key, "irq"))
		opt.irq_off = !strcmp(val, "off");
	else if (!strcmp(key, "chunk5"))
		opt.chunk5 = strtoul(val, NULL, 0);
	else if (!strcmp(key, "sizes"))
		snprintf(opt.sizes, sizeof(opt.sizes), "%s", val);
	else if (!strcmp(key, "baseline"))
		opt.baseline = strtoul(val, NULL, 0);
	else
		fprintf(stderr, "vc_bench: unknown option %s\n", key);
}

static const char * const opt_keys[] = {
	"reps", "scale", "parts", "iters", "kick", "irq", "chunk5", "sizes",
	"baseline",
};

static void parse_options(int argc, char **argv)
{
	char name[32], key[32];
	const char *val;
	unsigned int i;
	int a;

	for (i = 0; i < ARRAY_SIZE(opt_keys); i++) {
		snprintf(name, sizeof(name), "bench_%s", opt_keys[i]);
		val = getenv(name);
		if (val)
			set_option(opt_keys[i], val);
	}
	for (a = 1; a < argc; a++) {
		val = strchr(argv[a], '=');
		if (!val || (size_t)(val - argv[a]) >= sizeof(key)) {
			fprintf(stderr, "vc_bench: expected key=value: %s\n",
				argv[a]);
			exit(2);
		}
		snprintf(key, sizeof(key), "%.*s", (int)(val - argv[a]),
			 argv[a]);
		set_option(key, val + 1);
	}
	if (opt.reps < 1)
		opt.reps = 1;
	if (opt.reps > MAX_REPS)
		opt.reps = MAX_REPS;
	if (!(opt.scale > 0))
		opt.scale = 1.0;
	if (opt.iters < 10)
		opt.iters = 10;
	if (!opt.chunk5 || opt.chunk5 > MAX_CHAIN_DESC * DESC_MAX)
		opt.chunk5 = 64 * KIB;
}

/* Is the number v in the comma-separated list? */
static bool in_list(const char *list, unsigned long v)
{
	const char *p = list;
	char want[24];
	size_t n;

	snprintf(want, sizeof(want), "%lu", v);
	n = strlen(want);
	while (*p) {
		if (!strncmp(p, want, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return false;
}

static bool part_selected(int part)
{
	return in_list(opt.parts, part);
}

/* Bytes per repetition: total scaled, a whole number of chunks. */
static size_t scaled_total(size_t total, size_t chunk)
{
	size_t n = (size_t)(total * opt.scale) / chunk;

	return (n ? n : 1) * chunk;
}

/* ---- accounting ---- */

static void thread_acct(struct acct *a)
{
	struct timespec ts;
	struct rusage ru;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	a->cpu = ts.tv_sec + ts.tv_nsec / 1e9;
	a->sleeps = getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_nvcsw;
}

static void acct_add_diff(struct acct *sum, const struct acct *a,
			  const struct acct *b)
{
	sum->cpu += b->cpu - a->cpu;
	sum->sleeps += b->sleeps - a->sleeps;
}

/* The module's worker: its CPU time from schedstat, sleeps from status. */
static void worker_acct(pid_t pid, struct acct *a)
{
	unsigned long long ns = 0;
	char path[64], line[128];
	unsigned long n;
	FILE *f;

	memset(a, 0, sizeof(*a));
	if (!pid)
		return;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &ns) == 1)
			a->cpu = ns / 1e9;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %lu", &n) == 1)
			a->sleeps = n;
	fclose(f);
}

/* The pid of the kernel thread called name, or 0. */
static pid_t find_thread(const char *name)
{
	char path[300], comm[64];
	struct dirent *de;
	pid_t pid = 0;
	DIR *d;
	FILE *f;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			if (!strcmp(comm, name))
				pid = atoi(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return pid;
}

/* One diag member: {"writer": w, "reader": r[, "worker": k]}. */
static void diag_triple(char *buf, size_t len, const char *key, double w,
			double r, double k, bool worker)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n,
		 "\"%s\": {\"writer\": %.3g, \"reader\": %.3g", key, w, r);
	n = strlen(buf);
	if (worker)
		snprintf(buf + n, len - n, ", \"worker\": %.3g}, ", k);
	else
		snprintf(buf + n, len - n, "}, ");
}

/*
 * What t says, per unit (chain or pipe write), as diag members named
 * <what>_us_per_<unit>, <what>_sleeps_per_<unit>, <what>_reads_per_<unit>.
 */
static void tally_diag(char *buf, size_t len, const char *what,
		       const char *unit, const struct tally *t, bool worker)
{
	double u = t->units ? t->units : 1;
	char key[48];
	size_t n;

	n = strlen(buf);
	snprintf(buf + n, len - n, "%s\n", n ? "," : "");
	snprintf(key, sizeof(key), "%s_us_per_%s", what, unit);
	diag_triple(buf, len, key, t->writer.cpu * 1e6 / u,
		    t->reader.cpu * 1e6 / u, t->worker.cpu * 1e6 / u, worker);
	snprintf(key, sizeof(key), "%s_sleeps_per_%s", what, unit);
	diag_triple(buf, len, key, t->writer.sleeps / u, t->reader.sleeps / u,
		    t->worker.sleeps / u, worker);
	n = strlen(buf);
	snprintf(buf + n, len - n, "\"%s_reads_per_%s\": %.3g", what, unit,
		 t->reads / u);
}

/* ---- the guest side ---- */

static void port_path(char *buf, size_t len, unsigned int slot,
		      unsigned int port)
{
	if (slot)
		snprintf(buf, len, "/dev/" KTSTR_VC_SLOT_PORT_FMT, slot, port);
	else
		snprintf(buf, len, "/dev/" KTSTR_VC_SLOT0_PORT_FMT, port);
}

/* Bring up slot's instance: queues, kick eventfds, handshake, buffers. */
static int inst_setup(struct inst *in, unsigned int slot)
{
	char path[64];
	int ret;

	in->slot = slot;
	in->port1 = -1;
	in->pipe[0] = -1;
	in->pipe[1] = -1;
	ret = vc_guest_init(&in->g, slot);
	if (!ret)
		ret = vc_guest_start(&in->g, VC_ALL_QUEUES, RING_NUM,
				     VC_DEVICE_FEATURES, true);
	if (!ret)
		ret = vc_guest_use_kick_fds(&in->g, VC_ALL_QUEUES);
	if (!ret)
		ret = vc_guest_handshake(&in->g);
	if (ret)
		return ret;
	in->data = vc_guest_alloc(&in->g, DATA_SIZE);
	in->rx0 = vc_guest_alloc(&in->g, RING_NUM * RX_LEN);
	/* Touched once, so that no page fault lands in a measurement. */
	memset(vc_gpa_to_hva(&in->g, in->data), 0x5a, DATA_SIZE);
	memset(vc_gpa_to_hva(&in->g, in->rx0), 0, RING_NUM * RX_LEN);
	in->rbuf = malloc(READ_BUF);
	in->wbuf = malloc(MAX_CHAIN_DESC * DESC_MAX);
	if (!in->rbuf || !in->wbuf)
		return -ENOMEM;
	memset(in->rbuf, 0, READ_BUF);
	memset(in->wbuf, 0x5a, MAX_CHAIN_DESC * DESC_MAX);

	port_path(path, sizeof(path), slot, 1);
	in->port1 = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (in->port1 < 0)
		return -errno;
	while (read(in->port1, in->rbuf, READ_BUF) > 0)
		;
	snprintf(path, sizeof(path), "ktstr-vc%u", slot);
	in->worker = find_thread(path);
	in->up = true;
	return 0;
}

/* Kick unless the device asked not to be notified. */
static void guest_kick(struct vc_guest *g, unsigned int q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->vq[q].used->flags, __ATOMIC_RELAXED) &
	    VRING_USED_F_NO_NOTIFY)
		return;
	vc_kick(g, q);
}

/*
 * Wait until queue q's used ring moves past what the guest has seen: the
 * new used entries, or -ETIMEDOUT.  The used index is looked at first;
 * only when nothing is new does the guest sleep on the call eventfd
 * (drained only after it fired, so no call is lost between the look and
 * the sleep).  With irq=off it yields instead.
 */
static int guest_reap(struct vc_guest *g, unsigned int q, bool irq)
{
	struct pollfd pfd = { .fd = g->call_fd, .events = POLLIN };
	struct vc_vq *vq = &g->vq[q];
	double deadline = 0;
	__u64 cnt;
	__u16 idx;
	int ret;

	for (;;) {
		idx = vc_used_idx(g, q);
		if (idx != vq->last_used) {
			ret = (__u16)(idx - vq->last_used);
			vq->last_used = idx;
			return ret;
		}
		if (!irq) {
			if (!deadline)
				deadline = now_s() + WAIT_MS / 1000.0;
			else if (now_s() > deadline)
				return -ETIMEDOUT;
			sched_yield();
			continue;
		}
		ret = poll(&pfd, 1, WAIT_MS);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (!ret)
			return -ETIMEDOUT;
		if (read(g->call_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			return -errno;
	}
}

/*
 * Publish total bytes on port-1 TX as chunk-byte chains, as many in
 * flight as the ring holds, and take them back as they come.  The bytes
 * are whatever the buffers hold (copying a pattern in would measure the
 * guest, not the device; the pipe writer does not fill either).
 */
static int guest_tx(struct inst *in, size_t chunk, size_t total)
{
	const unsigned int q = KTSTR_VC_Q_PORT1_TX;
	struct vc_guest *g = &in->g;
	struct vc_vq *vq = &g->vq[q];
	unsigned int ndesc = (chunk + DESC_MAX - 1) / DESC_MAX;
	unsigned int max_inflight = vq->num / ndesc;
	size_t nchains = total / chunk, pub = 0, done = 0;
	struct vc_buf_spec spec[MAX_CHAIN_DESC];
	unsigned int i;
	int ret;

	if (opt.irq_off)
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	while (done < nchains) {
		bool unkicked = false;

		while (pub < nchains && pub - done < max_inflight) {
			__u16 d = vq->next_desc;

			for (i = 0; i < ndesc; i++) {
				size_t left = chunk - i * DESC_MAX;

				spec[i].gpa = in->data +
					(__u64)((d + i) % vq->num) * DESC_MAX;
				spec[i].len = left < DESC_MAX ? left : DESC_MAX;
				spec[i].write = false;
			}
			vc_vq_publish(g, q, vc_vq_add(g, q, spec, ndesc));
			pub++;
			if (in->kick_batch)
				unkicked = true;
			else
				guest_kick(g, q);
		}
		if (unkicked)
			guest_kick(g, q);
		ret = guest_reap(g, q, !opt.irq_off);
		if (ret < 0)
			break;
		done += ret;
	}
	vq->avail->flags = 0;
	return done == nchains ? 0 : -ETIMEDOUT;
}

/* ---- threads of one run: a writer (guest or pipe) and a reader ---- */

static void *tx_writer(void *arg)
{
	struct inst *in = arg;
	struct acct a0, a1;
	size_t sent = 0;
	char name[16];
	ssize_t n;

	/* Named, so that a profile tells the threads apart. */
	snprintf(name, sizeof(name), "%s%u", in->use_pipe ? "pipe-w" : "guest-tx",
		 in->slot);
	pthread_setname_np(pthread_self(), name);
	thread_acct(&a0);
	in->t_start = now_s();
	if (!in->use_pipe)
		in->err = guest_tx(in, in->chunk, in->total);
	while (in->use_pipe && sent < in->total) {
		n = write(in->pipe[1], in->wbuf, in->chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in->err = n ? -errno : -EIO;
			break;
		}
		sent += n;
	}
	thread_acct(&a1);
	memset(&in->w_acct, 0, sizeof(in->w_acct));
	acct_add_diff(&in->w_acct, &a0, &a1);
	return NULL;
}

/* Read until total bytes came, with a large buffer; wait in poll(). */
static void *tx_reader(void *arg)
{
	struct inst *in = arg;
	int fd = in->use_pipe ? in->pipe[0] : in->port1;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct acct a0, a1;
	char name[16];
	ssize_t n;
	int ret;

	snprintf(name, sizeof(name), "%s%u", in->use_pipe ? "pipe-r" : "reader",
		 in->slot);
	pthread_setname_np(pthread_self(), name);
	thread_acct(&a0);
	in->got = 0;
	in->reads = 0;
	while (in->got < in->total) {
		n = read(fd, in->rbuf, READ_BUF);
		if (n > 0) {
			in->got += n;
			in->reads++;
			continue;
		}
		if (!n) {
			in->err = -EPIPE;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			in->err = -errno;
			break;
		}
		ret = poll(&pfd, 1, WAIT_MS);
		if (!ret) {
			in->err = -ETIMEDOUT;
			break;
		}
	}
	in->t_end = now_s();
	thread_acct(&a1);
	memset(&in->r_acct, 0, sizeof(in->r_acct));
	acct_add_diff(&in->r_acct, &a0, &a1);
	return NULL;
}

static int pipe_open(struct inst *in)
{
	if (pipe2(in->pipe, O_CLOEXEC))
		return -errno;
	/* The reader waits in poll(), as on the port. */
	return fcntl(in->pipe[0], F_SETFL, O_NONBLOCK) ? -errno : 0;
}

static void pipe_close(struct inst *in)
{
	close(in->pipe[0]);
	close(in->pipe[1]);
	in->pipe[0] = -1;
	in->pipe[1] = -1;
}

/* What the device did for a queue (the difference of two snapshots). */
static void queue_diag(char *buf, size_t len,
		       const struct ktstr_vc_queue_stats *d)
{
	size_t n = strlen(buf);
	double chains = d->chains;

	snprintf(buf + n, len - n,
		 "%s\n\"chains\": %.0f, \"kicks\": %.0f, \"interrupts\": %.0f, \"bytes\": %.0f, \"chains_per_interrupt\": %.4g, \"kicks_per_chain\": %.4g",
		 n ? "," : "", chains, (double)d->kicks,
		 (double)d->interrupts, (double)d->bytes,
		 d->interrupts ? chains / d->interrupts : 0,
		 chains ? d->kicks / chains : 0);
}

static void queue_delta(struct ktstr_vc_queue_stats *sum,
			const struct ktstr_vc_stats *a,
			const struct ktstr_vc_stats *b, unsigned int q)
{
	sum->chains += b->queue[q].chains - a->queue[q].chains;
	sum->kicks += b->queue[q].kicks - a->queue[q].kicks;
	sum->interrupts += b->queue[q].interrupts - a->queue[q].interrupts;
	sum->bytes += b->queue[q].bytes - a->queue[q].bytes;
}

static void get_stats(struct inst *in, struct ktstr_vc_stats *st)
{
	int ret = __vc_get_stats(in->g.fd, st);

	if (ret)
		die("KTSTR_VC_GET_STATS: %s", strerror(-ret));
}

enum run_kind {
	RUN_DEVICE,		/* the guest kicks as opt.kick_batch says */
	RUN_DEVICE_BATCH,	/* the guest kicks once per batch */
	RUN_PIPE,
};

/* Instance in, ready for a run; a baseline's pipe opened. */
static void stream_prepare(struct inst *in, enum run_kind kind, size_t chunk,
			   size_t total)
{
	int ret;

	in->chunk = chunk;
	in->total = total;
	in->use_pipe = kind == RUN_PIPE;
	in->kick_batch = opt.kick_batch || kind == RUN_DEVICE_BATCH;
	in->err = 0;
	if (in->use_pipe) {
		ret = pipe_open(in);
		if (ret)
			die("pipe: %s", strerror(-ret));
	}
}

/* Waits for instance in's threads; dies unless all its bytes came. */
static void stream_join(struct inst *in)
{
	pthread_join(in->writer, NULL);
	pthread_join(in->reader, NULL);
	if (in->use_pipe)
		pipe_close(in);
	if (in->err || in->got != in->total)
		die("%s %u: %zu of %zu bytes: %s",
		    in->use_pipe ? "pipe" : "slot", in->slot, in->got,
		    in->total, strerror(-in->err));
}

/* What instance in's run cost, added to t; k0 and st0 from before it. */
static void stream_tally(struct inst *in, const struct acct *k0,
			 const struct ktstr_vc_stats *st0, struct tally *t)
{
	struct ktstr_vc_stats st1;
	struct acct k1;

	worker_acct(in->use_pipe ? 0 : in->worker, &k1);
	acct_add_diff(&t->worker, k0, &k1);
	if (!in->use_pipe) {
		get_stats(in, &st1);
		queue_delta(&t->q, st0, &st1, KTSTR_VC_Q_PORT1_TX);
	}
	t->writer.cpu += in->w_acct.cpu;
	t->writer.sleeps += in->w_acct.sleeps;
	t->reader.cpu += in->r_acct.cpu;
	t->reader.sleeps += in->r_acct.sleeps;
	t->reads += in->reads;
	t->units += in->total / in->chunk;
}

/*
 * One run of n instances at once (device or pipes): each moves total
 * bytes in chunk-byte chains or writes.  mbps[i] gets instance i's
 * throughput, t (if any) what it cost; returns the aggregate (all bytes
 * over the whole span).
 */
static double run_streams(unsigned int n, enum run_kind kind, size_t chunk,
			  size_t total, double *mbps, struct tally *t)
{
	bool use_pipe = kind == RUN_PIPE;
	struct ktstr_vc_stats st0[MAX_INST];
	struct acct k0[MAX_INST];
	double t0 = INFINITY, t1 = 0;
	struct inst *in;
	unsigned int i;

	for (i = 0; i < n; i++)
		stream_prepare(&insts[i], kind, chunk, total);
	for (i = 0; i < n; i++) {
		worker_acct(use_pipe ? 0 : insts[i].worker, &k0[i]);
		if (t && !use_pipe)
			get_stats(&insts[i], &st0[i]);
	}
	for (i = 0; i < n; i++) {
		in = &insts[i];
		if (pthread_create(&in->reader, NULL, tx_reader, in) ||
		    pthread_create(&in->writer, NULL, tx_writer, in))
			die("pthread_create failed");
	}
	for (i = 0; i < n; i++) {
		in = &insts[i];
		stream_join(in);
		mbps[i] = total / (in->t_end - in->t_start) / 1e6;
		if (in->t_start < t0)
			t0 = in->t_start;
		if (in->t_end > t1)
			t1 = in->t_end;
		if (t)
			stream_tally(in, &k0[i], &st0[i], t);
	}
	return (double)n * total / (t1 - t0) / 1e6;
}

/* memcpy of total bytes in chunk-byte pieces, MB/s. */
static double run_memcpy(struct inst *in, size_t chunk, size_t total)
{
	const __u8 *src = vc_gpa_to_hva(&in->g, in->data);
	size_t off = 0, soff = 0, done;
	double t0 = now_s();

	for (done = 0; done < total; done += chunk) {
		if (off + chunk > READ_BUF)
			off = 0;
		if (soff + chunk > DATA_SIZE)
			soff = 0;
		memcpy(in->rbuf + off, src + soff, chunk);
		/* The copy is used: keep the compiler from dropping it. */
		__asm__ volatile("" : : "r"(in->rbuf) : "memory");
		off += chunk;
		soff += chunk;
	}
	return total / (now_s() - t0) / 1e6;
}

static const char *guest_mode(void)
{
	if (opt.irq_off)
		return opt.kick_batch ? "batch kicks, no interrupts" :
			"kick per chain, no interrupts";
	return opt.kick_batch ? "batch kicks" : "kick per chain";
}

/* ---- part 1: port-1 TX throughput ---- */

/* What one chain size's runs cost, summed over the repetitions. */
struct tx_tallies {
	struct tally ours;
	struct tally batch;
	struct tally pipe;
};

/*
 * The row of tx_sizes[i] and, unless the guest kicks per batch anyway,
 * its twin with one kick per batch in *rb: what suppressing kicks could
 * give, at most.
 */
static struct row *tx_rows(unsigned int i, size_t total, struct row **rb)
{
	struct row *r = row_new(tx_sizes[i].id, 1, "MB/s", false);

	*rb = NULL;
	if (!opt.kick_batch) {
		*rb = row_new(tx_sizes[i].id_batch, 1, "MB/s", false);
		snprintf((*rb)->what, sizeof((*rb)->what),
			 "port-1 TX, %s chains, one kick per batch",
			 tx_sizes[i].name);
		snprintf((*rb)->base_name, sizeof((*rb)->base_name),
			 "pipe(2), %s writes", tx_sizes[i].name);
		snprintf((*rb)->note, sizeof((*rb)->note),
			 "diagnostic: the upper bound of kick suppression; same baseline samples as %s",
			 r->id);
	}
	snprintf(r->what, sizeof(r->what), "port-1 TX, %s chains (%s)",
		 tx_sizes[i].name, guest_mode());
	snprintf(r->base_name, sizeof(r->base_name), "pipe(2), %s writes",
		 tx_sizes[i].name);
	snprintf(r->note, sizeof(r->note), "%zu bytes per repetition", total);
	return r;
}

/* One repetition: the device, its batch-kick twin, a pipe, memcpy. */
static void tx_rep(struct row *r, struct row *rb, unsigned int rep,
		   size_t chunk, size_t total, struct tx_tallies *t)
{
	double ours, batch = NAN, pipe = NAN, mc = NAN;
	double mbps[MAX_INST];

	ours = run_streams(1, RUN_DEVICE, chunk, total, mbps, &t->ours);
	series_add(&r->ours, ours);
	if (rb) {
		batch = run_streams(1, RUN_DEVICE_BATCH, chunk, total, mbps,
				    &t->batch);
		series_add(&rb->ours, batch);
	}
	if (opt.baseline) {
		pipe = run_streams(1, RUN_PIPE, chunk, total, mbps, &t->pipe);
		mc = run_memcpy(&insts[0], chunk, total);
		series_add(&r->base, pipe);
		series_add(&r->memcpy_mbps, mc);
		if (rb)
			series_add(&rb->base, pipe);
	}
	msg("%s rep %u: ours %.2f (batch kicks %.2f), pipe %.2f, memcpy %.1f MB/s",
	    r->id, rep, ours, batch, pipe, mc);
}

static void tx_diag(struct row *r, struct row *rb,
		    const struct tx_tallies *t)
{
	queue_diag(r->diag, sizeof(r->diag), &t->ours.q);
	if (rb) {
		queue_diag(rb->diag, sizeof(rb->diag), &t->batch.q);
		tally_diag(rb->diag, sizeof(rb->diag), "ours", "chain",
			   &t->batch, true);
		msg("%s diag: %s", rb->id, rb->diag);
	}
	tally_diag(r->diag, sizeof(r->diag), "ours", "chain", &t->ours, true);
	if (opt.baseline)
		tally_diag(r->diag, sizeof(r->diag), "pipe", "write", &t->pipe,
			   false);
	msg("%s diag: %s", r->id, r->diag);
}

static void bench_tx_throughput(void)
{
	unsigned int i, rep;

	for (i = 0; i < ARRAY_SIZE(tx_sizes); i++) {
		size_t chunk = tx_sizes[i].chunk;
		size_t total = scaled_total(tx_sizes[i].total, chunk);
		struct tx_tallies t = { 0 };
		struct row *r, *rb;

		if (!in_list(opt.sizes, chunk))
			continue;
		r = tx_rows(i, total, &rb);
		for (rep = 0; rep < opt.reps; rep++)
			tx_rep(r, rb, rep, chunk, total, &t);
		tx_diag(r, rb, &t);
	}
}

/* ---- part 2: port-0 RX wake latency ---- */

/* Post one port-0 RX buffer: descriptor d's own RX_LEN bytes. */
static void rx_post(struct inst *in)
{
	struct vc_guest *g = &in->g;
	__u16 d = g->vq[KTSTR_VC_Q_PORT0_RX].next_desc;

	vc_vq_add_buf(g, KTSTR_VC_Q_PORT0_RX, in->rx0 + (__u64)d * RX_LEN,
		      RX_LEN, true);
}

/*
 * Until the call eventfd fired and the used ring of q moved: the guest
 * sleeps in poll() on the call, then looks at the ring.
 */
static int wait_call_and_used(struct vc_guest *g, unsigned int q)
{
	struct pollfd pfd = { .fd = g->call_fd, .events = POLLIN };
	__u64 cnt;
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, WAIT_MS);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return ret ? -errno : -ETIMEDOUT;
		if (read(g->call_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			return -errno;
		if (vc_used_idx(g, q) != g->vq[q].last_used)
			return 0;
	}
}

/* iters wake bytes through port 0; lat gets each round trip in us. */
static int rt_ours(struct inst *in, int wfd, unsigned int iters, double *lat)
{
	const unsigned int q = KTSTR_VC_Q_PORT0_RX;
	struct vc_guest *g = &in->g;
	struct vc_vq *vq = &g->vq[q];
	struct vring_used_elem e;
	__u8 b = WAKE_BYTE, *got;
	unsigned int i;
	double t0;
	__u64 cnt;
	int ret;

	for (i = 0; i < iters; i++) {
		/* Calls that belong to no round trip (none are expected). */
		while (read(g->call_fd, &cnt, sizeof(cnt)) > 0)
			;
		t0 = now_s();
		if (write(wfd, &b, 1) != 1)
			return -errno;
		ret = wait_call_and_used(g, q);
		lat[i] = (now_s() - t0) * 1e6;
		if (ret)
			return ret;
		e = vc_used_elem(g, q, vq->last_used);
		got = vc_gpa_to_hva(g, vq->desc[e.id].addr);
		if (e.len != 1 || *got != b)
			return -EPROTO;
		vq->last_used++;
		if (vc_used_idx(g, q) != vq->last_used)
			return -EPROTO;		/* one byte, one chain */
		/* Give the buffer back, as the guest driver does. */
		rx_post(in);
		guest_kick(g, q);
	}
	return 0;
}

struct echo {
	int in;
	int out;
};

static void *echo_fn(void *arg)
{
	struct echo *e = arg;
	__u8 c;

	pthread_setname_np(pthread_self(), "pipe-echo");
	while (read(e->in, &c, 1) == 1)
		if (write(e->out, &c, 1) != 1)
			break;
	return NULL;
}

/* The same round trips through two pipes and an echo thread. */
static int rt_pipe(unsigned int iters, double *lat)
{
	int p1[2], p2[2], ret = 0;
	__u8 b = WAKE_BYTE, c;
	struct pollfd pfd;
	struct echo e;
	pthread_t th;
	unsigned int i;
	double t0;

	if (pipe2(p1, O_CLOEXEC) || pipe2(p2, O_CLOEXEC))
		return -errno;
	e.in = p1[0];
	e.out = p2[1];
	if (pthread_create(&th, NULL, echo_fn, &e))
		return -EAGAIN;
	pfd = (struct pollfd){ .fd = p2[0], .events = POLLIN };
	for (i = 0; i < iters; i++) {
		t0 = now_s();
		if (write(p1[1], &b, 1) != 1) {
			ret = -errno;
			break;
		}
		if (poll(&pfd, 1, WAIT_MS) != 1 || read(p2[0], &c, 1) != 1) {
			ret = -ETIMEDOUT;
			break;
		}
		lat[i] = (now_s() - t0) * 1e6;
	}
	close(p1[1]);
	pthread_join(th, NULL);
	close(p1[0]);
	close(p2[0]);
	close(p2[1]);
	return ret;
}

/* Opens port 0 for the host's writes; the guest's RX buffers posted. */
static int rx_open(struct inst *in)
{
	char path[64];
	unsigned int i;
	int wfd;

	port_path(path, sizeof(path), 0, 0);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	if (wfd < 0)
		die("open %s: %s", path, strerror(errno));
	for (i = 0; i < RX_POSTED; i++)
		rx_post(in);
	guest_kick(&in->g, KTSTR_VC_Q_PORT0_RX);
	return wfd;
}

/* The median and the p99 rows differ only in the quantile. */
static struct row *rx_row(const char *id, const char *which,
			  unsigned int iters)
{
	struct row *r = row_new(id, 2, "us", true);

	snprintf(r->what, sizeof(r->what),
		 "port-0 wake byte to used entry + call, %s", which);
	snprintf(r->base_name, sizeof(r->base_name),
		 "pipe pair + echo thread, %s", which);
	snprintf(r->note, sizeof(r->note), "%u round trips per repetition",
		 iters);
	return r;
}

/* One repetition, ours then the pipes; the worker's CPU time added to k. */
static void rx_rep(struct inst *in, int wfd, unsigned int iters,
		   unsigned int rep, double *lat, struct row *med,
		   struct row *p99, struct acct *k)
{
	double om, o99, pm, p99v;
	struct acct k0, k1;
	int ret;

	worker_acct(in->worker, &k0);
	ret = rt_ours(in, wfd, iters, lat);
	if (ret)
		die("port-0 round trip: %s", strerror(-ret));
	worker_acct(in->worker, &k1);
	acct_add_diff(k, &k0, &k1);
	om = quantile(lat, iters, 0.5);
	o99 = quantile(lat, iters, 0.99);
	ret = rt_pipe(iters, lat);
	if (ret)
		die("pipe round trip: %s", strerror(-ret));
	pm = quantile(lat, iters, 0.5);
	p99v = quantile(lat, iters, 0.99);
	series_add(&med->ours, om);
	series_add(&p99->ours, o99);
	series_add(&med->base, pm);
	series_add(&p99->base, p99v);
	msg("rx_rt rep %u: ours median %.1f p99 %.1f us, pipe %.1f / %.1f us",
	    rep, om, o99, pm, p99v);
}

/* Port-0 RX as the device counted it, the worker's cost per round trip. */
static void rx_diag(struct row *med, struct row *p99,
		    const struct ktstr_vc_stats *s0,
		    const struct ktstr_vc_stats *s1, const struct acct *k,
		    unsigned int iters)
{
	struct ktstr_vc_queue_stats q;
	size_t n;

	memset(&q, 0, sizeof(q));
	queue_delta(&q, s0, s1, KTSTR_VC_Q_PORT0_RX);
	queue_diag(med->diag, sizeof(med->diag), &q);
	n = strlen(med->diag);
	snprintf(med->diag + n, sizeof(med->diag) - n,
		 ",\n\"worker_us_per_rt\": %.3g, \"worker_sleeps_per_rt\": %.3g",
		 k->cpu * 1e6 / (iters * opt.reps),
		 k->sleeps / (iters * opt.reps));
	memcpy(p99->diag, med->diag, sizeof(p99->diag));
	msg("rx_rt diag: %s", med->diag);
}

static void bench_rx_latency(void)
{
	unsigned int iters = (unsigned int)(opt.iters * opt.scale);
	struct inst *in = &insts[0];
	struct ktstr_vc_stats s0, s1;
	struct acct k = { 0 };
	struct row *med, *p99;
	unsigned int rep;
	double *lat;
	int wfd;

	if (iters < 100)
		iters = 100;
	lat = calloc(iters, sizeof(*lat));
	if (!lat)
		die("out of memory");
	wfd = rx_open(in);
	med = rx_row("rx_rt_median", "median", iters);
	p99 = rx_row("rx_rt_p99", "p99", iters);

	get_stats(in, &s0);
	for (rep = 0; rep < opt.reps; rep++)
		rx_rep(in, wfd, iters, rep, lat, med, p99, &k);
	get_stats(in, &s1);
	rx_diag(med, p99, &s0, &s1, &k, iters);
	close(wfd);
	free(lat);
}

/* ---- part 5: instances at once ---- */

/* Slots 0..n-1 up; false (said) when the module has fewer. */
static bool scale_insts_up(unsigned int n)
{
	unsigned int i;
	int ret;

	if (n > nr_slots) {
		msg("%u instances: only %u slots, skipped", n, nr_slots);
		return false;
	}
	for (i = 0; i < n; i++) {
		if (insts[i].up)
			continue;
		ret = inst_setup(&insts[i], i);
		if (ret)
			die("slot %u: %s", i, strerror(-ret));
	}
	return true;
}

/* The total row of n instances and, with each_id, the per-instance one. */
static struct row *scale_rows(unsigned int n, const char *tot_id,
			      const char *each_id, size_t chunk, size_t total,
			      struct row **each)
{
	struct row *tot = row_new(tot_id, 5, "MB/s", false);

	snprintf(tot->what, sizeof(tot->what),
		 "%u instance%s at once, total, %zu B chains",
		 n, n > 1 ? "s" : "", chunk);
	snprintf(tot->base_name, sizeof(tot->base_name),
		 "%u pipe pair%s at once, total", n, n > 1 ? "s" : "");
	snprintf(tot->note, sizeof(tot->note),
		 "%zu bytes per instance and repetition", total);
	*each = NULL;
	if (!each_id)
		return tot;
	*each = row_new(each_id, 5, "MB/s", false);
	snprintf((*each)->what, sizeof((*each)->what),
		 "%u instances at once, each, %zu B chains", n, chunk);
	snprintf((*each)->base_name, sizeof((*each)->base_name),
		 "%u pipe pairs at once, each", n);
	snprintf((*each)->note, sizeof((*each)->note),
		 "one sample per instance and repetition");
	return tot;
}

/* One repetition: n instances at once, then n pipe pairs at once. */
static void scale_rep(unsigned int n, unsigned int rep, size_t chunk,
		      size_t total, struct row *tot, struct row *each,
		      struct tally *ours_t, struct tally *pipe_t)
{
	double mbps[MAX_INST];
	double ours, pipe = NAN;
	unsigned int i;

	ours = run_streams(n, RUN_DEVICE, chunk, total, mbps, ours_t);
	series_add(&tot->ours, ours);
	for (i = 0; each && i < n; i++)
		series_add(&each->ours, mbps[i]);
	if (opt.baseline) {
		pipe = run_streams(n, RUN_PIPE, chunk, total, mbps, pipe_t);
		series_add(&tot->base, pipe);
		for (i = 0; each && i < n; i++)
			series_add(&each->base, mbps[i]);
	}
	msg("%s rep %u: ours %.2f MB/s, pipes %.2f MB/s", tot->id, rep, ours,
	    pipe);
}

static void scale_diag(struct row *tot, const struct tally *ours_t,
		       const struct tally *pipe_t)
{
	queue_diag(tot->diag, sizeof(tot->diag), &ours_t->q);
	tally_diag(tot->diag, sizeof(tot->diag), "ours", "chain", ours_t,
		   true);
	if (opt.baseline)
		tally_diag(tot->diag, sizeof(tot->diag), "pipe", "write",
			   pipe_t, false);
	msg("%s diag: %s", tot->id, tot->diag);
}

static void bench_instances(void)
{
	static const unsigned int counts[] = { 1, 2, 4 };
	static const char * const ids[][2] = {
		{ "scale_1_total", NULL },
		{ "scale_2_total", "scale_2_each" },
		{ "scale_4_total", "scale_4_each" },
	};
	size_t chunk = opt.chunk5;
	size_t total = scaled_total(SCALE_TOTAL, chunk);
	struct tally ours_t, pipe_t;
	struct row *tot, *each;
	unsigned int c, rep;

	for (c = 0; c < 3; c++) {
		if (!scale_insts_up(counts[c]))
			continue;
		tot = scale_rows(counts[c], ids[c][0], ids[c][1], chunk, total,
				 &each);
		memset(&ours_t, 0, sizeof(ours_t));
		memset(&pipe_t, 0, sizeof(pipe_t));
		for (rep = 0; rep < opt.reps; rep++)
			scale_rep(counts[c], rep, chunk, total, tot, each,
				  &ours_t, &pipe_t);
		scale_diag(tot, &ours_t, &pipe_t);
	}
}

int main(int argc, char **argv)
{
	struct ktstr_vc_info info;
	struct utsname u;
	int ret;

	parse_options(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!uname(&u))
		snprintf(kernel_release, sizeof(kernel_release), "%s",
			 u.release);
	tap_plan = part_selected(1) + part_selected(2) + part_selected(5);
	printf("TAP version 13\n1..%u\n", tap_plan);
	msg("vc_bench on %s: reps=%u scale=%g iters=%u kick=%s irq=%s chunk5=%zu",
	    kernel_release, opt.reps, opt.scale, opt.iters,
	    opt.kick_batch ? "batch" : "chain", opt.irq_off ? "off" : "on",
	    opt.chunk5);

	ret = inst_setup(&insts[0], 0);
	if (ret)
		die("slot 0: %s (is ktstr_vconsole loaded?)", strerror(-ret));
	ret = __vc_get_info(insts[0].g.fd, &info);
	if (ret)
		die("KTSTR_VC_GET_INFO: %s", strerror(-ret));
	nr_slots = info.nr_slots < MAX_INST ? info.nr_slots : MAX_INST;

	if (part_selected(1)) {
		bench_tx_throughput();
		printf("ok %u - part 1: port-1 TX throughput\n", ++tap_n);
	}
	if (part_selected(2)) {
		bench_rx_latency();
		printf("ok %u - part 2: port-0 RX wake latency\n", ++tap_n);
	}
	if (part_selected(5)) {
		bench_instances();
		printf("ok %u - part 5: instances at once\n", ++tap_n);
	}
	print_json();
	return 0;
}
