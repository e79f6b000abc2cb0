// SPDX-License-Identifier: GPL-2.0
/*
 * What to do when /dev/kvm or /dev/ktstr-vconsole cannot be used.  An
 * errno alone ("No such file or directory", "Permission denied") leaves
 * a new user guessing between a missing module, a missing group, a
 * missing udev rule and a firmware switch, so each failure is told with
 * its cause, read off what the system shows: /sys/module, the CPU flags
 * in /proc/cpuinfo, the node's group and mode, this process's groups.
 * Every message is one "ktstr-vmm: " line; the hints follow it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/ktstr_vconsole.h>

#include "ktstr-vmm.h"

#define DIAG_KVM_PATH	"/dev/kvm"
#define DIAG_CTRL_PATH	"/dev/" KTSTR_VC_CTRL_NAME
#define DIAG_MAX_GROUPS	256

static bool module_loaded(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return !access(path, F_OK);
}

/* Is word one of the CPU flags (the first "flags" line of cpuinfo)? */
static bool cpu_flag(const char *word)
{
	char line[8192], *colon, *tok, *save;
	bool found = false;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		colon = strchr(line, ':');
		if (strncmp(line, "flags", 5) || !colon)
			continue;
		for (tok = strtok_r(colon + 1, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			found |= !strcmp(tok, word);
		break;
	}
	fclose(f);
	return found;
}

/*
 * The group's name from /etc/group, else its number: a static binary
 * cannot rely on NSS, and this is only for a message.
 */
static void group_name(gid_t gid, char *buf, size_t size)
{
	char line[1024], *name, *gid_s, *save;
	FILE *f;

	snprintf(buf, size, "%u", (unsigned int)gid);
	f = fopen("/etc/group", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		name = strtok_r(line, ":", &save);
		if (!name || !strtok_r(NULL, ":", &save))
			continue;
		gid_s = strtok_r(NULL, ":\n", &save);
		if (gid_s && strtoul(gid_s, NULL, 10) == gid) {
			snprintf(buf, size, "%s", name);
			break;
		}
	}
	fclose(f);
}

static bool in_group(gid_t gid)
{
	gid_t groups[DIAG_MAX_GROUPS];
	int n, i;

	if (getegid() == gid)
		return true;
	n = getgroups(DIAG_MAX_GROUPS, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* EACCES on a node: whose it is, and how this user gets it. */
static void diag_permission(const char *path, const char *root_only)
{
	char group[64];
	struct stat st;

	if (stat(path, &st))
		return;
	group_name(st.st_gid, group, sizeof(group));
	vmm_log("hint: %s is group %s, mode %04o", path, group,
		(unsigned int)(st.st_mode & 07777));
	if (st.st_gid && (st.st_mode & 0060) == 0060 && !in_group(st.st_gid)) {
		vmm_log("hint: this process is not in group %s: add the user,", group);
		vmm_log("hint: sudo adduser $USER %s, and log in again (or: newgrp %s)",
			group, group);
		return;
	}
	if (st.st_gid && (st.st_mode & 0060) == 0060) {
		vmm_log("hint: this process is in group %s: what refuses it is", group);
		vmm_log("hint: something else (a security module, a container's device rules)");
		return;
	}
	vmm_log("hint: only root may open it: %s", root_only);
}

/* No /dev/kvm: KVM not loaded, or the CPU's virtualization hidden. */
static void diag_kvm_missing(void)
{
	bool vmx = cpu_flag("vmx"), svm = cpu_flag("svm");

	if (module_loaded("kvm_intel") || module_loaded("kvm_amd")) {
		vmm_log("hint: KVM is loaded but %s is not there: is udev running?",
			DIAG_KVM_PATH);
		return;
	}
	if (vmx || svm) {
		vmm_log("hint: KVM is not loaded: sudo modprobe %s",
			vmx ? "kvm_intel" : "kvm_amd");
		vmm_log("hint: if that says \"Operation not supported\", virtualization is");
		vmm_log("hint: disabled in the firmware: turn on %s in its setup",
			vmx ? "Intel VT-x" : "AMD-V (SVM)");
		return;
	}
	if (cpu_flag("hypervisor")) {
		vmm_log("hint: this is a VM whose CPU shows no vmx or svm flag: turn on");
		vmm_log("hint: nested virtualization on its host (kvm_intel nested=1 or");
		vmm_log("hint: kvm_amd nested=1, and a CPU with vmx or svm: QEMU -cpu host)");
		return;
	}
	vmm_log("hint: the CPU shows no vmx or svm flag: virtualization is disabled");
	vmm_log("hint: in the firmware (turn on Intel VT-x or AMD-V/SVM in its setup)");
	vmm_log("hint: or the CPU has none");
}

noreturn void diag_kvm_open(int err)
{
	vmm_log("%s: %s: cannot run a VM", DIAG_KVM_PATH, strerror(err));
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		diag_kvm_missing();
	else if (err == EACCES || err == EPERM)
		diag_permission(DIAG_KVM_PATH,
				"Debian's udev rules make it group kvm, mode 0660: is udev running?");
	exit(VMM_ERROR);
}

noreturn void diag_create_vm(int err)
{
	vmm_log("KVM_CREATE_VM: %s", strerror(err));
	if (err == EBUSY) {
		vmm_log("hint: another hypervisor (VirtualBox, VMware) may hold");
		vmm_log("hint: the CPU's virtualization extensions: stop it");
	}
	exit(VMM_ERROR);
}

noreturn void diag_ctrl_open(int err)
{
	vmm_log("%s: %s: no ktstr_vconsole device", DIAG_CTRL_PATH,
		strerror(err));
	if ((err == ENOENT || err == ENODEV || err == ENXIO) &&
	    module_loaded("ktstr_vconsole")) {
		vmm_log("hint: ktstr_vconsole is loaded but the node is not there:");
		vmm_log("hint: is udev running?");
	} else if (err == ENOENT || err == ENODEV || err == ENXIO) {
		vmm_log("hint: the ktstr_vconsole module is not loaded: in the source tree,");
		vmm_log("hint: sudo insmod vconsole/ktstr_vconsole.ko");
		vmm_log("hint: (sudo modprobe ktstr_vconsole once it is installed)");
	} else if (err == EACCES || err == EPERM) {
		diag_permission(DIAG_CTRL_PATH,
				"a udev rule giving it group kvm, mode 0660 lets the members of kvm use it (see the README)");
	}
	vmm_log("hint: --no-device boots the guest without the device");
	exit(VMM_ERROR);
}
