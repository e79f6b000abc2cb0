# SPDX-License-Identifier: GPL-2.0
#
# make            the module (against KDIR) and the userspace programs
# make setup      install what the tests need (Debian 12, as root)
# make check      run every test in QEMU on the 6.1 and 6.12 host kernels

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# The running kernel's build dir if it has one, else the newest Debian
# headers installed.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

.PHONY: all module selftests setup check checkpatch clean

all: module

module:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

selftests:
	$(MAKE) -C $(TOP)/selftests/vconsole
	$(MAKE) -C $(TOP)/selftests/tlv

setup:
	bash $(TOP)/selftests/vm/setup.sh

check: selftests
	bash $(TOP)/selftests/vm/run.sh

checkpatch:
	perl $(TOP)/build/linux-src/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
		$(shell cd $(TOP) && git ls-files '*.c' '*.h')

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(TOP)/build/selftests
