/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vc_stress: the randomized hostile stress test of ktstr-vconsole and its
 * integrity mode (README.md in this directory says what it does and how
 * to run it).  This header is what its parts share.
 *
 * The supervisor maps one struct sx_shared before it forks anything, so
 * every guest and host process it starts counts into the same totals,
 * shows each call it has in flight in a heartbeat record the supervisor
 * watches for hangs, and logs through a shared ring of lines that the
 * supervisor prints as TAP comments.  Children never write to stdout: a
 * child stuck in the kernel must not keep the runner's pipe open.
 */
#ifndef VC_STRESS_H
#define VC_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

/* The kernel selftests' own __printf() and friends. */
#include "kselftest.h"
#include "vc_util.h"

#define SX_NS_PER_MS		1000000ull
#define SX_NS_PER_SEC		1000000000ull

#define SX_MAX_SLOTS		4
/* A call that must not wait may take this long before it is a hang. */
#define SX_HANG_NS		(10 * SX_NS_PER_SEC)
/* A process told to stop, or killed, must be gone within this. */
#define SX_EXIT_NS		(20 * SX_NS_PER_SEC)
#define SX_ERRNO_MAX		134
/* The most chains one run of a queue takes (vconsole/vconsole.h). */
#define SX_WEIGHT_PORT_CHAINS	64
#define SX_WEIGHT_CTRL_CHAINS	32

/* What a call was, for the totals by kind and errno. */
enum sx_kind {
	SX_K_CTRL_OPEN,
	SX_K_CTRL_CLOSE,
	SX_K_ATTACH,
	SX_K_DETACH,
	SX_K_GET_INFO,
	SX_K_GET_STATS,
	SX_K_MEM_TABLE,
	SX_K_KICK_FD,
	SX_K_CALL_FD,
	SX_K_MMIO,
	SX_K_BAD_IOCTL,
	SX_K_PORT_OPEN,
	SX_K_PORT_READ,
	SX_K_PORT_WRITE,
	SX_K_PORT_POLL,
	SX_K_PORT_IOCTL,
	SX_K_KICK,
	SX_K_MEMORY,
	SX_K_FORK,
	SX_NR_KINDS
};

/* Totals over every process of the run. */
enum sx_count {
	SX_C_ITERATIONS,
	SX_C_CHAINS_POSTED,
	SX_C_CHAINS_USED,
	SX_C_HOSTILE_CHAINS,
	SX_C_REWRITES,
	SX_C_REPOSTS,
	SX_C_REPOSTED,
	SX_C_INSTANCES,
	SX_C_ATTACHES,
	SX_C_DRIVER_OK,
	SX_C_HANDSHAKES,
	SX_C_RESETS,
	SX_C_CTRL_GARBAGE,
	SX_C_MEM_TABLES,
	SX_C_UNMAPS,
	SX_C_MPROTECTS,
	SX_C_FD_SWAPS,
	SX_C_FORKS,
	SX_C_FAULTS,
	SX_C_GUESTS,
	SX_C_HOSTS,
	SX_C_KILLS,
	SX_C_HOST_KILLS,
	SX_C_HOST_READ,
	SX_C_HOST_WRITTEN,
	SX_C_EOFS,
	SX_C_ERRORS,
	SX_C_UNEXPECTED,
	SX_C_HANGS,
	SX_C_CRASHES,
	SX_C_STALE_CHECKS,	/* resets checked for host bytes forgotten */
	SX_C_POLL_SWAPS,	/* tables swapped under a poll window's look */
	SX_C_KLOG_CHECKS,	/* rejections found in the kernel log */
	SX_C_FLOODS,		/* the flooder's rejected reads */
	SX_NR_COUNTS
};

/* One heartbeat record per thread: SX_HB_PER_SLOT of them per slot. */
enum sx_role {
	SX_R_GUEST_MAIN,
	SX_R_DRIVER,
	SX_R_MMIO0,
	SX_R_MMIO1,
	SX_R_RING,
	SX_R_REWRITE,
	SX_R_VMM,
	SX_R_STATS,
	SX_R_FORK_CHILD,
	SX_R_HOST_MAIN,
	SX_R_READ0,
	SX_R_READ1,
	SX_R_WRITE0,
	SX_R_WRITE1,
	SX_R_POLLER,
	SX_R_CYCLER,
	SX_R_IGUEST,
	SX_R_IREAD0,
	SX_R_IREAD1,
	SX_R_IROUND,
	SX_R_IEND,
	SX_HB_PER_SLOT
};

#define SX_NR_HB		(SX_MAX_SLOTS * SX_HB_PER_SLOT)

/*
 * A thread's call in flight.  start_ns is 0 between calls; a quick call
 * (one that must not wait) still in flight after SX_HANG_NS is a hang, and
 * so is a waiting call that a signal has not ended within SX_HANG_NS.
 */
struct sx_hb {
	__s32 pid;
	__s32 tid;
	__s32 slot;
	__u32 kind;
	__u32 quick;
	__u32 pad;
	__u64 start_ns;
	__u64 sig_ns;
	__u64 reported;			/* supervisor: start_ns reported */
	char name[24];
};

#define SX_LOG_LINES		512
#define SX_LOG_LEN		232

struct sx_log_line {
	__u64 seq;			/* index + 1 once the text is whole */
	char text[SX_LOG_LEN];
};

/* The last statistics of the instances of one guest incarnation. */
struct sx_slot_stats {
	__u64 valid;
	struct ktstr_vc_stats done;	/* instances closed */
	struct ktstr_vc_stats cur;	/* the open one, last look */
};

struct sx_shared {
	__u64 seed;
	__u64 t0_ns;
	__u32 stop;			/* the phase is over: finish */
	__u32 nr_slots;			/* the module's */
	__u32 no_mask;			/* actions left out (STRESS_NO) */
	__u32 wild;			/* every guest's wildness + 1, or 0 */
	__u64 counts[SX_NR_COUNTS];
	__u64 results[SX_NR_KINDS][SX_ERRNO_MAX];
	__u64 longest_ns[SX_NR_KINDS];	/* of the calls that must not wait */
	__u32 longest_hb[SX_NR_KINDS];	/* whose: an index into hb[] */
	__u8 said[SX_NR_KINDS][SX_ERRNO_MAX];
	struct sx_hb hb[SX_NR_HB];
	struct sx_slot_stats stats[SX_MAX_SLOTS];
	__u64 log_head;
	struct sx_log_line log[SX_LOG_LINES];
};

extern struct sx_shared *sx;

/* Actions STRESS_NO can leave out, to aim a run at one finding. */
enum sx_action {
	SX_A_REPOST,		/* zero-byte and looping chains without end */
	SX_A_DETACH,		/* DETACH/ATTACH cycles */
	SX_A_CLOSE,		/* close() and reopen of the control fd */
	SX_A_FORK,		/* fork() and the fd used from the child */
	SX_A_MEMORY,		/* munmap, mprotect, memory table swaps */
	SX_A_FDS,		/* kick and call fds swapped or closed */
	SX_A_RESET,		/* status resets by the chaos threads */
	SX_A_KILL,		/* SIGKILL of guests by the supervisor */
	SX_A_PRIORITY,		/* a steady guest's re-post at nice -20 */
	SX_NR_ACTIONS
};

static inline bool sx_allowed(enum sx_action a)
{
	return !(sx->no_mask & (1u << a));
}

/* One PRNG: splitmix64, a stream per thread, so a seed replays. */
struct sx_rng {
	__u64 s;
};

static inline __u64 sx_mix(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline __u64 sx_next(struct sx_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return sx_mix(r->s);
}

/* 0 .. n - 1 */
static inline __u64 sx_below(struct sx_rng *r, __u64 n)
{
	return n ? sx_next(r) % n : 0;
}

/* lo .. hi, both included */
static inline __u64 sx_range(struct sx_rng *r, __u64 lo, __u64 hi)
{
	return lo + sx_below(r, hi - lo + 1);
}

static inline bool sx_chance(struct sx_rng *r, unsigned int permille)
{
	return sx_below(r, 1000) < permille;
}

/* Thread streams: phase, slot, incarnation and thread in one number. */
#define SX_STREAM(phase, slot, inc, thread) \
	(((__u64)(phase) << 56) | ((__u64)(slot) << 48) | \
	 ((__u64)(inc) << 16) | (__u64)(thread))

void sx_rng_init(struct sx_rng *r, __u64 stream);
unsigned int sx_guest_wild(unsigned int slot, unsigned int inc);

/* Flags of one call. */
#define SX_F_WAIT		0x1	/* may wait: not a hang by itself */
#define SX_F_MUST_FAIL		0x2	/* success would be a bug */

__u64 sx_now_ns(void);
void sx_sleep_us(__u64 us);
double sx_uptime(void);
bool sx_stopping(void);

void sx_count(enum sx_count c, __u64 n);
void sx_hb_claim(int slot, enum sx_role role, const char *name);
void sx_begin(enum sx_kind kind, unsigned int flags);
int sx_end(enum sx_kind kind, int err, unsigned int flags);
int sx_ioctl(enum sx_kind kind, int fd, unsigned long cmd, void *arg,
	     unsigned int flags);
bool sx_errno_expected(int err);
const char *sx_errno_name(int err);
const char *sx_kind_name(enum sx_kind kind);

__printf(1, 2)
void sx_info(const char *fmt, ...);
__printf(1, 2)
void sx_err(const char *fmt, ...);
bool sx_weights_check(unsigned int slot, const struct ktstr_vc_stats *prev,
		      const struct ktstr_vc_stats *now);

/* Register access through the counted KTSTR_VC_MMIO. */
int sx_mmio(int fd, __u32 offset, __u32 len, bool write, __u8 *data,
	    unsigned int flags);
int sx_r32(int fd, __u32 offset, __u32 *val);
int sx_w32(int fd, __u32 offset, __u32 val);

int sx_port_open(unsigned int slot, unsigned int port, int flags);
int sx_ctrl_open(void);
void sx_ctrl_close(int fd);

/* Signals: SIGUSR1 ends a waiting call (EINTR); see sx_signals_init(). */
void sx_signals_init(void);
void sx_child_init(int slot, enum sx_role role, const char *name);

/*
 * The integrity pattern: byte p of a stream with key k is byte p % 8 of
 * the little-endian cell (p / 8) * SX_PAT_MUL ^ k, so any 15 bytes in a
 * row say where in the stream they are.
 */
void sx_pat_fill(__u8 *buf, size_t len, __u64 key, __u64 pos);
size_t sx_pat_check(const __u8 *buf, size_t len, __u64 key, __u64 pos);
bool sx_pat_locate(const __u8 *buf, size_t len, __u64 key, __u64 lo,
		   __u64 hi, __u64 *pos);

/* The integrity mode's verdicts: one TAP test each. */
enum sx_itest {
	SX_I_PORT1,		/* port 1 byte-exact and in order */
	SX_I_PORT0,		/* port 0 in order, gaps == drop counter */
	SX_I_KILL,		/* after SIGKILL: all consumed, then EOF */
	SX_I_END,		/* after close/DETACH: all consumed, then EOF */
	SX_I_LIVE,		/* handshake, progress, exits, no hang */
	SX_NR_ITESTS
};

struct sx_integrity_result {
	unsigned int rounds;
	unsigned int kill_rounds;
	unsigned int end_rounds;
	unsigned int no_session;
	unsigned int resets;
	unsigned int trickle_rounds;
	unsigned int trickle_unfilled;
	__u64 trickle_end_max_ms;
	__u64 port1_bytes;
	__u64 port0_bytes;
	__u64 port0_gaps;
	__u64 chains;
	__u64 unconsumed;
	__u64 stalls;
	unsigned int fail[SX_NR_ITESTS];
	char first[SX_NR_ITESTS][200];
};

/* The parts. */
void sx_integrity_start(unsigned int nslots, int flood_slot, __u64 secs);
bool sx_integrity_running(void);
void sx_integrity_cut_short(void);
void sx_integrity_finish(struct sx_integrity_result *res);
void sx_flood_start(unsigned int slot);
void sx_flood_stop(void);
void sx_hostile_guest(unsigned int slot, unsigned int inc);
void sx_hostile_host(unsigned int slot, unsigned int inc);
void sx_watch(void);
bool sx_kill_child(pid_t pid);
void sx_children_add(pid_t pid);
void sx_children_del(pid_t pid);
void sx_dump_stacks(pid_t pid, int tid);

#endif /* VC_STRESS_H */
