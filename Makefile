# SPDX-License-Identifier: GPL-2.0
#
# make            the module (against KDIR) and the userspace programs
# make setup      install what the tests need (Debian 12, as root)
# make check      run every test in QEMU on the 6.1 and 6.12 host kernels
# make demo       boot a guest on the module in QEMU, show console and TLV
# make bench      the benchmark in QEMU on the 6.12 host kernel (not a test)
# make stress     the randomized stress test alone in QEMU [STRESS_SECS=N SEED=S KERNELS=...]

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# The running kernel's build dir if it has one, else the newest Debian
# headers installed.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

.PHONY: all module userspace guest selftests setup check bench demo \
	stress checkpatch clean

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

userspace:
	$(MAKE) -C $(TOP)/userspace-vmm

# The guest kernel of the VM test, from linux-source-6.12 (cached).
guest:
	bash $(TOP)/userspace-vmm/guest/build-kernel.sh $(TOP)/build/guest

selftests:
	$(MAKE) -C $(TOP)/selftests/vconsole
	$(MAKE) -C $(TOP)/selftests/tlv
	$(MAKE) -C $(TOP)/selftests/stress

setup:
	bash $(TOP)/selftests/vm/setup.sh

check: selftests userspace guest
	bash $(TOP)/selftests/vm/run.sh

# The main job: boot a guest on the module, show its console and its TLV.
demo: userspace guest
	bash $(TOP)/userspace-vmm/guest/demo.sh

bench: selftests userspace guest
	$(MAKE) -C $(TOP)/selftests/bench
	bash $(TOP)/selftests/bench/run-bench.sh

# selftests/stress/README.md.  The test ends by its deadline + 240 s at
# worst (its own alarm); the VM gets a minute more to boot and load.
STRESS_SECS ?= 60
stress:
	$(MAKE) -C $(TOP)/selftests/stress
	VM_TESTS=$(TOP)/build/selftests/stress VM_OUT=$(TOP)/build/stress \
	VMM_TEST=0 PACKAGE_CHECK=0 TEST_TIMEOUT=$$(($(STRESS_SECS) + 260)) \
	VM_TIMEOUT=$$(($(STRESS_SECS) + 330)) $(if $(KERNELS),KERNELS="$(KERNELS)") \
	VM_APPEND="STRESS_SECS=$(STRESS_SECS)$(if $(SEED), SEED=$(SEED))$(if $(STRESS_NO), STRESS_NO=$(STRESS_NO))" \
	bash $(TOP)/selftests/vm/run.sh

checkpatch:
	perl $(TOP)/build/linux-src/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
		$(shell cd $(TOP) && git ls-files '*.c' '*.h')

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(TOP)/build/selftests
