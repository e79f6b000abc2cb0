# SPDX-License-Identifier: GPL-2.0
#
# make            the module (against KDIR) and the userspace programs
# make setup      install what the tests need (Debian 12, as root)
# make check      run every test in QEMU on the 6.1, 6.12 and debug host
#                 kernels (KERNELS="6.1 6.12 debug" picks among them)
# make debug-kernel  the debug host kernel (KASAN, lockdep, kmemleak...)
# make demo       boot a guest on the module in QEMU, show console and TLV
# make bench      the benchmark in QEMU on the 6.12 host kernel (not a test)
# make stress     the randomized stress test alone in QEMU
#                 [STRESS_SECS=N SEED=S KERNELS=... STRESS_NO=action,...]
#
# make install          the tools, the uapi header, the udev rule, the man
#                       pages and the examples, under PREFIX (/usr/local),
#                       staged under DESTDIR if given
# make modules_install  the module into /lib/modules/<KDIR's release>/updates
#                       (under DESTDIR if given), then depmod
# make dkms-source      the module's sources and dkms.conf as DKMS wants
#                       them: $(DESTDIR)/usr/src/ktstr-vconsole-<VERSION>
# make uninstall        what make install installed (same PREFIX, DESTDIR)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VERSION := $(strip $(file <$(TOP)/VERSION))

# The module is built for the running kernel unless KDIR names another
# kernel's build tree.  Never a guess: a module built for another kernel
# than the one that loads it fails with "Invalid module format".
ifeq ($(origin KVER),undefined)
KVER := $(shell uname -r)
kver_running := (the running one)
endif
kdir := $(or $(KDIR),/lib/modules/$(KVER)/build)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/ktstr-vconsole
# udev reads /usr/local/lib/udev/rules.d as well as /usr/lib/udev/rules.d.
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
DKMS_SRCDIR ?= /usr/src/ktstr-vconsole-$(VERSION)
INSTALL ?= install

# The host kernels `make check` and `make stress` test (selftests/vm/run.sh's
# KERNELS); debug is built first.  Not exported: make bench has its own
# default.
KERNELS ?= 6.1 6.12 debug
debug_kernel_dep := $(if $(filter debug,$(KERNELS)),debug-kernel)

.PHONY: all module userspace guest debug-kernel selftests setup check bench \
	demo stress checkpatch layers clean
.PHONY: kdir-check install uninstall modules_install dkms-source

all: module userspace

module: kdir-check
	$(MAKE) -C $(kdir) M=$(TOP) modules

# Stops a module build that has no kernel build tree, saying what to install.
kdir-check:
	@if [ ! -f "$(kdir)/Makefile" ]; then \
		if [ -n "$(KDIR)" ]; then \
			echo "KDIR=$(KDIR) is not a kernel build tree (no Makefile there)."; \
		else \
			echo "No headers for kernel $(KVER)$(if $(kver_running), $(kver_running)): $(kdir) does not exist."; \
			echo "Install them (Debian, Ubuntu: apt-get install linux-headers-$(KVER);"; \
			echo "Fedora: dnf install kernel-devel-$(KVER)), or build for another"; \
			echo "kernel with make KDIR=<its build tree>; those installed:"; \
			for d in /lib/modules/*/build; do \
				[ -f "$$d/Makefile" ] && echo "    $$d"; \
			done; \
			echo "(a module built for another kernel than the running one fails to"; \
			echo "load with \"Invalid module format\")."; \
		fi >&2; \
		exit 1; \
	fi

# The host tools (dynamic, build/host) and the static copies the guest
# and the test VMs run (build/userspace-vmm); see userspace-vmm/Makefile.
userspace:
	$(MAKE) -C $(TOP)/userspace-vmm

# The guest kernel of the VM test, from linux-source-6.12 (cached).
guest:
	bash $(TOP)/userspace-vmm/guest/build-kernel.sh $(TOP)/build/guest

# The debug host kernel of make check, from linux-source-6.12 (cached).
debug-kernel:
	bash $(TOP)/selftests/vm/build-debug-kernel.sh $(TOP)/build/debug-kernel

selftests:
	$(MAKE) -C $(TOP)/selftests/vconsole
	$(MAKE) -C $(TOP)/selftests/tlv
	$(MAKE) -C $(TOP)/selftests/stress

setup:
	bash $(TOP)/selftests/vm/setup.sh

# make check's stress run leaves out the steady guests' nice -20 spinners
# (STRESS_NO=priority): on the two-vCPU first-level VM two of them starve
# every other thread, page faults queue for seconds behind an mm lock, and
# the stress test's 10 s watch reports the VMM's own ioctls (seen on 6.1,
# seed 527766825370).  `make stress` keeps them.
CHECK_STRESS_NO ?= priority
check: selftests userspace guest $(debug_kernel_dep)
	KERNELS="$(KERNELS)" \
	VM_APPEND="STRESS_NO=$(CHECK_STRESS_NO)$(if $(VM_APPEND), $(VM_APPEND))" \
		bash $(TOP)/selftests/vm/run.sh

# The main job: boot a guest on the module, show its console and its TLV.
demo: userspace guest
	bash $(TOP)/userspace-vmm/guest/demo.sh

bench: selftests userspace guest
	$(MAKE) -C $(TOP)/selftests/bench
	bash $(TOP)/selftests/bench/run-bench.sh

# The stress test alone, for long runs (selftests/stress/README.md).  It
# ends by its deadline + 240 s at worst (its own alarm); the VM gets a
# minute more to boot and load, on the debug kernel five (its boot, and
# kmemleak's four scans at the end take a minute each).
STRESS_SECS ?= 60
stress: userspace $(debug_kernel_dep)
	$(MAKE) -C $(TOP)/selftests/stress
	VM_TESTS=$(TOP)/build/selftests/stress VM_OUT=$(TOP)/build/stress \
	VMM_TEST=0 PACKAGE_CHECK=0 TEST_TIMEOUT=$$(($(STRESS_SECS) + 260)) \
	VM_TIMEOUT=$$(($(STRESS_SECS) + 330)) \
	DEBUG_VM_TIMEOUT=$$(($(STRESS_SECS) + 600)) KERNELS="$(KERNELS)" \
	VM_APPEND="STRESS_SECS=$(STRESS_SECS)$(if $(SEED), SEED=$(SEED))$(if $(STRESS_NO), STRESS_NO=$(STRESS_NO))" \
	bash $(TOP)/selftests/vm/run.sh

# Which file calls which, and no cycle (selftests/layers.sh).
layers:
	bash $(TOP)/selftests/layers.sh

checkpatch:
	perl $(TOP)/build/linux-src/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
		$(shell cd $(TOP) && git ls-files '*.c' '*.h')

# What make install puts where: "source:destination:mode" (source
# relative to the top, destination under DESTDIR).  The port-node rule
# is an example only: the port nodes stay root's unless a single-user
# machine opts in (udev/61-ktstr-port-kvm.rules says how).
INSTALL_FILES := \
	build/host/ktstr-vmm:$(BINDIR)/ktstr-vmm:0755 \
	build/host/ktstr-tlv:$(BINDIR)/ktstr-tlv:0755 \
	uapi/linux/ktstr_vconsole.h:$(INCLUDEDIR)/linux/ktstr_vconsole.h:0644 \
	udev/60-ktstr-vconsole.rules:$(UDEVRULESDIR)/60-ktstr-vconsole.rules:0644 \
	man/ktstr-vmm.1:$(MANDIR)/man1/ktstr-vmm.1:0644 \
	man/ktstr-tlv.1:$(MANDIR)/man1/ktstr-tlv.1:0644 \
	man/ktstr-vconsole.4:$(MANDIR)/man4/ktstr-vconsole.4:0644 \
	README.md:$(DOCDIR)/README.md:0644 \
	NEWS:$(DOCDIR)/NEWS:0644 \
	udev/61-ktstr-port-kvm.rules:$(DOCDIR)/examples/udev/61-ktstr-port-kvm.rules:0644 \
	examples/modprobe.d/ktstr-vconsole.conf:$(DOCDIR)/examples/modprobe.d/ktstr-vconsole.conf:0644 \
	examples/modules-load.d/ktstr-vconsole.conf:$(DOCDIR)/examples/modules-load.d/ktstr-vconsole.conf:0644

install_src = $(word 1,$(subst :, ,$(1)))
install_dst = $(DESTDIR)$(word 2,$(subst :, ,$(1)))
install_mode = $(word 3,$(subst :, ,$(1)))

# Builds the host tools if needed, not the module (modules_install).
# Into the running system (no DESTDIR) it also has a running udev read
# the rule and apply it to a control device already there.
install:
	$(MAKE) -C $(TOP)/userspace-vmm host
	$(foreach f,$(INSTALL_FILES),$(INSTALL) -D -m $(call install_mode,$(f)) \
		$(TOP)/$(call install_src,$(f)) $(call install_dst,$(f))$(newline))
	$(if $(DESTDIR),,$(UDEV_RELOAD))

UDEV_RELOAD := if udevadm control --reload 2> /dev/null; then \
		udevadm trigger --action=change --sysname-match=ktstr-vconsole; \
	else \
		echo "udev is not running: the rule applies when it starts"; \
	fi

# Directories go only when they are ours (DOCDIR's); bin/, man1/ and the
# others are shared.
uninstall:
	rm -f $(foreach f,$(INSTALL_FILES),$(call install_dst,$(f)))
	rmdir $(addprefix $(DESTDIR)$(DOCDIR)/,examples/udev examples/modprobe.d \
		examples/modules-load.d examples) $(DESTDIR)$(DOCDIR) 2> /dev/null || true

# Into /lib/modules/<release>/updates (INSTALL_MOD_DIR), which depmod
# prefers to the kernel's own directories; depmod only when installing
# into the running system (a staged tree is a packager's, whose package
# runs depmod when installed).  kbuild signs the module when the kernel
# signs all of its own (CONFIG_MODULE_SIG_ALL, as Debian's do) with the
# kernel's key, which a headers package does not ship: without the key
# the module is installed unsigned, without sign-file's errors.
INSTALL_MOD_DIR ?= updates
kdir_sig_key = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' \
	$(kdir)/include/config/auto.conf 2> /dev/null)
kdir_nosign = $(if $(wildcard $(kdir_sig_key) $(kdir)/$(kdir_sig_key)),,CONFIG_MODULE_SIG_ALL=)

modules_install: module
	$(MAKE) -C $(kdir) M=$(TOP) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) $(kdir_nosign) modules_install
	$(if $(DESTDIR),,depmod -a $$(cat $(kdir)/include/config/kernel.release))

# The tree dkms.conf builds from: the top Makefile, kbuild files, the
# module's sources and the uapi header; nothing built.
DKMS_FILES := Makefile Kbuild VERSION dkms.conf vconsole/Kbuild \
	$(patsubst $(TOP)/%,%,$(filter-out %.mod.c,$(wildcard $(TOP)/vconsole/*.[ch]))) \
	uapi/linux/ktstr_vconsole.h

dkms-source:
	$(foreach f,$(DKMS_FILES),$(INSTALL) -D -m 0644 $(TOP)/$(f) \
		$(DESTDIR)$(DKMS_SRCDIR)/$(f)$(newline))

# Also in the DKMS tree (dkms.conf's CLEAN), which has no userspace-vmm/.
# kbuild's clean of an external module is the same for every kernel: any
# build tree will do when KDIR's is missing.
clean_kdir = $(patsubst %/Makefile,%,$(firstword $(wildcard $(kdir)/Makefile /lib/modules/*/build/Makefile)))

clean:
	$(if $(clean_kdir),$(MAKE) -C $(clean_kdir) M=$(TOP) clean)
	if [ -d $(TOP)/userspace-vmm ]; then $(MAKE) -C $(TOP)/userspace-vmm clean; fi
	rm -rf $(TOP)/build/selftests

define newline


endef
