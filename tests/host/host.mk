# Host-built tests of the portable code, under ASan + UBSan, with cmocka.
# Each test is tests/host/test_NAME.c plus the sources listed in NAME_SRCS.
# Run: make host-test (part of make test).

HOST_CC      ?= gcc
HOST_BUILD   := build/host
HOST_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -DHOST_TEST
HOST_LDLIBS  := -lcmocka -lpthread

HOST_TESTS := format bootinfo memmap acpi frame_alloc cmdline cpu_list \
	      vmx_caps svm_caps loader memslot tdp guest_walk_unit ref_walk \
	      guest_walk emulate emulate_addr emulate_alu emulate_atomic \
	      emulate_string emulate_fuzz emulate_sys \
	      emulate_group7 shadow shadow_prop

HOST_COMMON     := tests/host/capture_printk.c
format_SRCS      := build/host/format_renamed.o
bootinfo_SRCS    := kernel/bootinfo.c kernel/memmap.c kernel/strutil.c $(HOST_COMMON)
memmap_SRCS      := kernel/memmap.c $(HOST_COMMON)
acpi_SRCS        := arch/x86/acpi.c $(HOST_COMMON)
frame_alloc_SRCS := kernel/frame_alloc.c kernel/memmap.c $(HOST_COMMON)
cmdline_SRCS     := kernel/cmdline.c $(HOST_COMMON)
cpu_list_SRCS    := smp/cpu_list.c $(HOST_COMMON)
loader_SRCS      := virt/loader.c kernel/cmdline.c $(HOST_COMMON)
vmx_caps_SRCS    := arch/x86/vmx/vmx_caps.c $(HOST_COMMON)
svm_caps_SRCS    := arch/x86/svm/svm_caps.c $(HOST_COMMON)
memslot_SRCS     := mmu/memslot.c $(HOST_COMMON)
HOST_MMU         := mmu/tdp.c mmu/memslot.c tests/host/mmu_platform_host.c \
		    tests/host/tdp_oracle.c
tdp_SRCS         := $(HOST_MMU) $(HOST_COMMON)
guest_walk_unit_SRCS := mmu/guest_walk.c $(HOST_COMMON)
ref_walk_SRCS    := tests/host/ref_walk.c
guest_walk_SRCS  := mmu/guest_walk.c tests/host/ref_walk.c $(HOST_COMMON)
HOST_SHADOW      := mmu/shadow.c mmu/shadow_page.c mmu/shadow_rmap.c \
		    mmu/shadow_fault.c mmu/shadow_sync.c mmu/shadow_audit.c \
		    mmu/guest_walk.c mmu/memslot.c \
		    tests/host/mmu_platform_host.c tests/host/ref_walk.c \
		    tests/host/shadow_sim.c
shadow_SRCS      := $(HOST_SHADOW) $(HOST_COMMON)
shadow_prop_SRCS := $(HOST_SHADOW) tests/host/shadow_oracle.c \
		    tests/host/shadow_guest.c $(HOST_COMMON)
EMULATE_SRCS     := virt/emulate.c virt/emulate_decode.c virt/emulate_alu.c \
		    virt/emulate_sys.c \
		    tests/host/emu_fake.c $(HOST_COMMON)
emulate_SRCS        := $(EMULATE_SRCS)
emulate_addr_SRCS   := $(EMULATE_SRCS)
emulate_alu_SRCS    := $(EMULATE_SRCS)
emulate_atomic_SRCS := $(EMULATE_SRCS)
emulate_string_SRCS := $(EMULATE_SRCS)
emulate_fuzz_SRCS   := $(EMULATE_SRCS)
emulate_sys_SRCS    := $(EMULATE_SRCS)
emulate_group7_SRCS := $(EMULATE_SRCS)

# Concurrent code runs under ThreadSanitizer instead (TSan and ASan do not
# mix in one binary).
HOST_TSAN_TESTS := kick tdp_concurrent shadow_concurrent
HOST_TSAN_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. \
		    -fsanitize=thread -fno-omit-frame-pointer -DHOST_TEST
kick_SRCS        :=
tdp_concurrent_SRCS := $(HOST_MMU)
shadow_concurrent_SRCS := mmu/shadow.c mmu/shadow_page.c mmu/shadow_rmap.c \
		    mmu/shadow_fault.c mmu/shadow_sync.c mmu/shadow_audit.c \
		    mmu/guest_walk.c mmu/memslot.c tests/host/mmu_platform_host.c

HOST_BINS := $(HOST_TESTS:%=$(HOST_BUILD)/test_%) \
	     $(HOST_TSAN_TESTS:%=$(HOST_BUILD)/tsan/test_%)

# The kernel's formatter is built under other names so the test can compare
# it with the C library's.
$(HOST_BUILD)/format_renamed.o: kernel/format.c kernel/printk.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -Dvsnprintf=kfmt_vsnprintf \
		-Dsnprintf=kfmt_snprintf -c $< -o $@

.SECONDEXPANSION:
$(HOST_BUILD)/tsan/test_%: tests/host/test_%.c $$($$*_SRCS) $$(wildcard smp/*.h kernel/*.h mmu/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_TSAN_CFLAGS) -o $@ $< $($*_SRCS) $(HOST_LDLIBS)

$(HOST_BUILD)/test_%: tests/host/test_%.c $$($$*_SRCS) $$(wildcard kernel/*.h arch/x86/*.h arch/x86/*/*.h virt/*.h smp/*.h mmu/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $< $($*_SRCS) $(HOST_LDLIBS)

.PHONY: host-build host-test
host-build: $(HOST_BINS)

# Runs every host test; tests/run/host.sh prints the summary line.
host-test: host-build
	@tests/run/host.sh $(HOST_BINS)
