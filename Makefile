# Top-level build. Kernel rules are added below; host tests live in host.mk.
all: host-build
include tests/host/host.mk
