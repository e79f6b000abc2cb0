# SPDX-License-Identifier: GPL-2.0
#
# make            the module (against KDIR) and the userspace programs
# make setup      install what the tests need (Debian 12, as root)
# make check      run every test in QEMU on the 6.1, 6.12 and debug host
#                 kernels (KERNELS="6.1 6.12 debug" picks among them)
# make debug-kernel  the debug host kernel (KASAN, lockdep, kmemleak...)
# make demo       boot a guest on the module in QEMU, show console and TLV
# make bench      the benchmark in QEMU on the 6.12 host kernel (not a test)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# The running kernel's build dir if it has one, else the newest Debian
# headers installed.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

# The host kernels `make check` tests (selftests/vm/run.sh's KERNELS); debug
# is built first.  Not exported: make bench has its own default.
KERNELS ?= 6.1 6.12 debug

.PHONY: all module userspace guest debug-kernel selftests setup check bench \
	demo checkpatch clean

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

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

setup:
	bash $(TOP)/selftests/vm/setup.sh

check: selftests userspace guest $(if $(filter debug,$(KERNELS)),debug-kernel)
	KERNELS="$(KERNELS)" bash $(TOP)/selftests/vm/run.sh

# The main job: boot a guest on the module, show its console and its TLV.
demo: userspace guest
	bash $(TOP)/userspace-vmm/guest/demo.sh

bench: selftests userspace guest
	$(MAKE) -C $(TOP)/selftests/bench
	bash $(TOP)/selftests/bench/run-bench.sh

checkpatch:
	perl $(TOP)/build/linux-src/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
		$(shell cd $(TOP) && git ls-files '*.c' '*.h')

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(TOP)/build/selftests
