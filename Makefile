# hv: a bare-metal x86_64 hypervisor.
#
#   make run        build, boot in QEMU (TCG, -smp 4) with the default guests
#   make test       every test: host unit tests, then boot tests
#   make iso        build/hv.iso: GRUB image for BIOS and UEFI (USB stick)
#   make run-bochs  boot the ISO in Bochs (Intel VMX)
#   make run-kvm    QEMU with KVM (nested VMX/SVM on the host)
#   make run-uefi   QEMU with OVMF firmware

CC      := gcc
LD      := ld
NASM    := nasm
BUILD   := build

KCFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector \
	   -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
	   -mgeneral-regs-only -fno-omit-frame-pointer \
	   -mno-omit-leaf-frame-pointer -fno-asynchronous-unwind-tables \
	   -fno-tree-loop-distribute-patterns \
	   -Wall -Wextra -Werror -I. -MMD -MP
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
	    --no-warn-rwx-segments -T linker.ld

KERNEL_DIRS := kernel arch/x86 arch/x86/vmx arch/x86/svm drivers/serial \
	       smp mmu virt
KERNEL_C    := $(foreach d,$(KERNEL_DIRS),$(wildcard $(d)/*.c))
KERNEL_ASM  := $(wildcard boot/*.asm) \
	       $(foreach d,$(KERNEL_DIRS),$(wildcard $(d)/*.asm))
KERNEL_OBJS := $(KERNEL_C:%.c=$(BUILD)/%.o) $(KERNEL_ASM:%.asm=$(BUILD)/%.o)

HV_ELF := $(BUILD)/hv.elf
HV_ISO := $(BUILD)/hv.iso

.PHONY: all deps kernel iso guests run run-uefi run-bochs run-kvm test \
	boot-test bench-shadow clean
all: kernel iso host-build

deps:
	@tools/deps.sh

kernel: $(HV_ELF)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@$(NASM) -f elf64 -g -F dwarf -MD $(@:.o=.d) -o $@ $<

# Two links: the first gives the addresses of the text symbols, which go
# into a table (.ksyms, after .rodata) for stack traces. The table sits
# after the text, so the text does not move; the check proves it.
$(BUILD)/ksyms_empty.c:
	@mkdir -p $(dir $@)
	printf '#include "kernel/ksyms.h"\nconst struct ksym ksyms[1];\nconst unsigned ksym_count = 0;\n' > $@

$(BUILD)/ksyms_empty.o $(BUILD)/ksyms.o: $(BUILD)/%.o: $(BUILD)/%.c
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/hv.pass1.elf: $(KERNEL_OBJS) $(BUILD)/ksyms_empty.o linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms_empty.o

$(BUILD)/ksyms.c: $(BUILD)/hv.pass1.elf tools/gen-ksyms.sh
	tools/gen-ksyms.sh $< > $@

$(HV_ELF): $(KERNEL_OBJS) $(BUILD)/ksyms.o linker.ld tools/check-image.sh
	@echo "  LD      $@"
	@$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms.o
	@nm -n $(BUILD)/hv.pass1.elf | grep ' [tT] ' > $(BUILD)/text1.syms
	@nm -n $@ | grep ' [tT] ' > $(BUILD)/text2.syms
	@cmp -s $(BUILD)/text1.syms $(BUILD)/text2.syms || \
		{ echo "text moved between links: stack-trace symbols would be wrong"; rm -f $@; exit 1; }
	@tools/check-image.sh $@ || { rm -f $@; exit 1; }

include tests/guest/guest.mk
include tests/host/host.mk

# The GRUB image: one hybrid ISO for BIOS (i386-pc) and UEFI (x86_64-efi).
$(HV_ISO): $(HV_ELF) $(GUEST_ELFS) tools/mkiso.sh tests/guest/guest.mk
	tools/mkiso.sh $@ $(HV_ELF) "" $(DEFAULT_GUEST_MODULES)

iso: deps $(HV_ISO)

QEMU_COMMON := -machine q35 -smp 4 -m 512M -nographic -no-reboot \
	       -device isa-debug-exit,iobase=0xf4,iosize=0x04
QEMU_FLAGS  := $(QEMU_COMMON) -cpu max
OVMF_CODE  := /usr/share/OVMF/OVMF_CODE_4M.fd

run: deps $(HV_ISO)
	@echo "== booting build/hv.iso in QEMU (TCG, -smp 4); Ctrl-A X quits =="
	@tools/run-qemu.sh 300 $(QEMU_FLAGS) -cdrom $(HV_ISO)

run-uefi: deps $(HV_ISO)
	@tools/run-qemu.sh 300 $(QEMU_FLAGS) \
		-drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
		-cdrom $(HV_ISO)

# Needs /dev/kvm and nested virtualization on the host (docs/booting.md).
run-kvm: deps $(HV_ISO)
	@tools/run-qemu.sh 300 -enable-kvm $(QEMU_COMMON) -cpu host \
		-cdrom $(HV_ISO)

run-bochs: deps $(HV_ISO)
	@tests/run/bochs-run.sh $(HV_ISO)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run/all.sh

boot-test: kernel iso
	@tests/run/boot.sh

# The shadow-paging benchmark (docs/benchmarks.md): forkbench under each MMU
# configuration. Not part of make test.
bench-shadow: kernel guests
	@tests/run/bench-shadow.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
