// SPDX-License-Identifier: GPL-2.0
/*
 * The messages of ktstr-vmm and the end of the VM: every file reports
 * and stops through these, so they sit below all of them and call none.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktstr-vmm.h"

void vmm_log_msg(const char *msg)
{
	char line[VMM_MSG_MAX + 16];
	int n;

	/* One write, so lines from several threads do not mix. */
	n = snprintf(line, sizeof(line), "ktstr-vmm: %s\n", msg);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

noreturn void vmm_die_msg(const char *msg)
{
	vmm_log_msg(msg);
	exit(VMM_ERROR);
}

noreturn void vmm_usage_msg(const char *msg)
{
	vmm_log_msg(msg);
	exit(VMM_USAGE);
}

void vmm_stop_msg(struct vmm *vm, enum vmm_status status, const char *msg)
{
	size_t len = strnlen(msg, sizeof(vm->reason) - 1);

	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->status = status;
		memcpy(vm->reason, msg, len);
		vm->reason[len] = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	/* The main thread acts on it. */
	pthread_kill(vm->main_thread, SIGUSR1);
}

bool vmm_stopping(struct vmm *vm)
{
	bool ret;

	pthread_mutex_lock(&vm->lock);
	ret = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}
