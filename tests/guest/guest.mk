# Test guests: 32-bit multiboot1 kernels (elf32-i386, loaded at 1 MiB), so
# the same image boots on bare QEMU (-kernel) and under the hypervisor.
# Each guest is tests/guest/NAME/*.c and *.asm linked with the runtime in
# lib/.

GUEST_CFLAGS := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding \
		-fno-stack-protector -fno-pic -fno-pie -mgeneral-regs-only \
		-fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
		-Wall -Wextra -Werror -I. -MMD -MP
GUEST_LDFLAGS := -m elf_i386 -nostdlib -static -z max-page-size=0x1000 \
		 -z noexecstack --no-warn-rwx-segments \
		 -T tests/guest/lib/guest.ld

GUEST_NAMES := hello cpuid paging memwalk unassigned triplefault jumpwild \
	       bench cpustate permmatrix ptwriter ctxswitch mmio forkbench \
	       smpmmu
GUEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/guest/%.o,$(wildcard tests/guest/lib/*.c)) \
		  $(patsubst %.asm,$(BUILD)/guest/%.o,$(wildcard tests/guest/lib/*.asm))
GUEST_ELFS := $(GUEST_NAMES:%=$(BUILD)/guests/%.elf)

# The modules the ISO (and make run) start by default: file, then options.
DEFAULT_GUEST_MODULES := \
	"$(BUILD)/guests/hello.elf name=hello vcpus=1 mem=16M mmu=tdp -- verbose seed=7" \
	"$(BUILD)/guests/cpuid.elf name=cpuid mem=16M -- seed=7" \
	"$(BUILD)/guests/paging.elf name=paging mem=32M -- seed=7" \
	"$(BUILD)/guests/memwalk.elf name=memwalk mem=32M mmu=shadow -- seed=7"

$(BUILD)/guest/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	@$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM32  $<"
	@$(NASM) -f elf32 -g -F dwarf -MD $(@:.o=.d) -o $@ $<

# NASM 2.16.01's -MD leaves %include files out of the .d file (-M alone
# lists them): name the shared include here.
$(BUILD)/guest/tests/guest/lib/traps32.o $(BUILD)/guest/tests/guest/lib/long64.o \
$(BUILD)/guest/tests/guest/ptwriter/pfhandler.o \
$(BUILD)/guest/tests/guest/forkbench/mm64.o \
$(BUILD)/guest/tests/guest/smpmmu/smp64.o: \
	tests/guest/lib/traps.inc

# One link rule per guest: its own objects plus the runtime.
define GUEST_template
$(1)_GUEST_OBJS := $$(patsubst %.c,$$(BUILD)/guest/%.o,$$(wildcard tests/guest/$(1)/*.c)) \
		   $$(patsubst %.asm,$$(BUILD)/guest/%.o,$$(wildcard tests/guest/$(1)/*.asm))
$$(BUILD)/guests/$(1).elf: $$($(1)_GUEST_OBJS) $$(GUEST_LIB_OBJS) tests/guest/lib/guest.ld
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(LD) $$(GUEST_LDFLAGS) -o $$@ $$($(1)_GUEST_OBJS) $$(GUEST_LIB_OBJS)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_template,$(g))))

.SECONDARY:

guests: $(GUEST_ELFS)

# Every guest directly on QEMU, against tests/guest/expect.txt.
.PHONY: guests-bare
guests-bare: guests
	@tests/run/guests-bare.sh
