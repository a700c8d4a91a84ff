# netd — build, test, install.
#
#   make                 build/netd and build/netdctl
#   make check           every test (unit, config golden files, daemon, fuzz smoke)
#   make bench-scale     one netd against 1,000 and 10,000 sites of build/netd-load
#   make check-all       scripts/deps, then `make check` and `make asan` (what CI runs)
#   make demo            scripts/deps, build, then the demo (scripts/demo)
#   make asan            the same build and `make check` under ASan + UBSan (build/san/)
#   make fuzz            longer libFuzzer runs of every harness
#   make install         honours PREFIX and DESTDIR
#   make deb             a Debian package in build/ (needs debhelper: scripts/deps)
#
# Sources are picked up by directory: netd/*.c (less the two mains) form libnetd.a,
# kernel-helpers/*.c form libkh.a, tests/unit/test_*.c each become a cmocka binary and
# tests/fuzz/fuzz_*.c each become a libFuzzer harness.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
MANDIR   ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR  ?= /lib/systemd/system
DESTDIR  ?=

CC       ?= cc
PKG_CONFIG ?= pkg-config
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SANITIZE),1)
BUILD    ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD    ?= build
SANFLAGS :=
endif

# libev ships no pkg-config file in Debian; it is linked as -lev.
PKGS     := libconfig jansson libsodium libmnl libnftnl libnl-3.0 libnl-route-3.0 libcap-ng
# libmicrohttpd is loaded only when the metrics endpoint is configured (netd/httpd.c): its
# headers at build time, its shared object's name at run time.
MHD_SONAME := $(shell objdump -p $$($(PKG_CONFIG) --variable=libdir libmicrohttpd)/libmicrohttpd.so 2>/dev/null | \
                awk '$$1 == "SONAME" {print $$2}')
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) libmicrohttpd) \
              $(if $(MHD_SONAME),-DNETD_MHD_SONAME=\"$(MHD_SONAME)\")
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lev

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
ALL_CFLAGS := $(CPPFLAGS) -std=c17 -D_GNU_SOURCE -DNETD_VERSION=\"$(VERSION)\" \
              -DNETD_SYSCONFDIR=\"$(SYSCONFDIR)\" -DNETD_LOCALSTATEDIR=\"$(LOCALSTATEDIR)\" $(WARN) -I. $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)

MAINS      := netd/main.c netd/netdctl.c
# The address vocabulary sits below both libraries: kernel-helpers and netd use it.
ADDR_SRCS  := netd/addr.c
NETD_SRCS  := $(filter-out $(MAINS) $(ADDR_SRCS),$(wildcard netd/*.c))
KH_SRCS    := $(wildcard kernel-helpers/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRCS  := $(wildcard tests/kernel/*.c)
FAKE_SRCS  := $(wildcard kernel-helpers/fake/*.c)
FAKE_UNIT_SRCS := $(wildcard tests/unit/fake/test_*.c)
# What the fake-kernel tests share (keys, configs, views), linked into each of them.
FAKE_FIXTURE_SRCS := $(filter-out $(FAKE_UNIT_SRCS),$(wildcard tests/unit/fake/*.c))
SIM_SRCS   := $(wildcard tests/sim/*.c)

NETD_OBJS  := $(NETD_SRCS:%.c=$(BUILD)/obj/%.o)
KH_OBJS    := $(KH_SRCS:%.c=$(BUILD)/obj/%.o)
ADDR_OBJS  := $(ADDR_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOL_BINS  := $(TOOL_SRCS:tests/kernel/%.c=$(BUILD)/%)
FAKE_OBJS  := $(FAKE_SRCS:%.c=$(BUILD)/obj/%.o)
FAKE_UNIT_BINS := $(FAKE_UNIT_SRCS:tests/unit/fake/%.c=$(BUILD)/tests/fake/%)
FAKE_FIXTURE_OBJS := $(FAKE_FIXTURE_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_OBJS   := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_BIN    := $(if $(SIM_SRCS),$(BUILD)/netd-sim)
LOAD_BIN   := $(BUILD)/netd-load

all: $(BUILD)/netd $(BUILD)/netdctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libnetd.a: $(NETD_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libkh.a: $(KH_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libaddr.a: $(ADDR_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

LIBS_ALL := $(BUILD)/libnetd.a $(BUILD)/libkh.a $(BUILD)/libaddr.a

# The fake kernel: the kernel-helpers interface in memory. Tests of the layers above link
# it ahead of libkh.a, so its definitions win and only kernel-helpers' pure data helpers
# come from the real library.
$(BUILD)/libkhfake.a: $(FAKE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

LIBS_FAKE := $(BUILD)/libnetd.a $(BUILD)/libkhfake.a $(BUILD)/libkh.a $(BUILD)/libaddr.a

$(BUILD)/netd: $(BUILD)/obj/netd/main.o $(LIBS_ALL)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS)

$(BUILD)/netdctl: $(BUILD)/obj/netd/netdctl.o $(LIBS_ALL)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS_ALL)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS) -lcmocka

$(FAKE_UNIT_BINS): $(FAKE_FIXTURE_OBJS)
$(BUILD)/tests/fake/%: $(BUILD)/obj/tests/unit/fake/%.o $(LIBS_FAKE)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(FAKE_FIXTURE_OBJS) $(LIBS_FAKE) $(PKG_LIBS) -lcmocka

# The gossip simulator: the real core, codec and crypto, many sites in one process.
$(BUILD)/netd-sim: $(SIM_OBJS) $(LIBS_ALL)
	$(CC) $(ALL_LDFLAGS) -o $@ $(SIM_OBJS) $(LIBS_ALL) $(PKG_LIBS) -lm

# The load generator: many simulated sites on real UDP sockets against one real netd.
# Its sites answer netd's WireGuard handshakes (tests/load/wgresp.c), which has a unit test.
LOAD_OBJS  := $(BUILD)/obj/tests/load/load.o $(BUILD)/obj/tests/load/wgresp.o
$(BUILD)/netd-load: $(LOAD_OBJS) $(LIBS_ALL)
	$(CC) $(ALL_LDFLAGS) -o $@ $(LOAD_OBJS) $(LIBS_ALL) $(PKG_LIBS)

$(BUILD)/tests/test_wgresp: $(BUILD)/obj/tests/unit/test_wgresp.o $(BUILD)/obj/tests/load/wgresp.o
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

# Small programs that drive kernel-helpers directly, for the namespace and VM tests.
$(BUILD)/%: $(BUILD)/obj/tests/kernel/%.o $(LIBS_ALL)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS)

# Fuzz harnesses need clang's libFuzzer. The library sources are compiled once with
# coverage instrumentation (fuzzer-no-link) into libfuzz.a; each harness links against it.
FUZZ_CC     ?= clang
FUZZ_SANS   := address,undefined
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -DNETD_VERSION=\"$(VERSION)\" \
               -DNETD_SYSCONFDIR=\"$(SYSCONFDIR)\" -DNETD_LOCALSTATEDIR=\"$(LOCALSTATEDIR)\" -I. $(PKG_CFLAGS) -g -O1 \
               -fno-sanitize-recover=all
FUZZ_OBJS   := $(NETD_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(KH_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) \
               $(ADDR_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(BUILD)/fuzz/obj/tests/load/wgresp.o

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SANS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libfuzz.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SANS) -o $@ $< $(BUILD)/fuzz/libfuzz.a \
		$(PKG_LIBS)

tests: $(UNIT_BINS) $(FAKE_UNIT_BINS) $(TOOL_BINS) $(SIM_BIN) $(LOAD_BIN)
fuzzers: $(FUZZ_BINS)

# FUZZ_SECONDS is per harness: a smoke run in `make check`, a longer one in `make fuzz`.
# The harnesses are always built with ASan and UBSan, so the sanitizer pass neither builds
# nor runs them a second time.
check: all tests $(if $(filter 1,$(SANITIZE)),,fuzzers)
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) FUZZ_SECONDS=$${FUZZ_SECONDS:-5} tests/run

asan:
	$(MAKE) SANITIZE=1 check

# The README's test command: dependencies, then every test in the normal and the
# sanitizer build.
check-all:
	scripts/deps
	$(MAKE) check
	$(MAKE) asan

# The README's main command: dependencies, build, then the demo.
demo:
	scripts/deps
	$(MAKE) all
	BUILD=$(BUILD) scripts/demo

fuzz: fuzzers
	BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/run fuzz/

# Benchmarks write their results under $(BUILD)/bench/ and print a table; BENCHMARKS.md
# records the numbers with the commands that produced them.
bench: bench-kernel bench-gossip bench-mesh bench-drift

bench-kernel: all tests
	BUILD=$(BUILD) scripts/bench-kernel

bench-gossip: tests
	BUILD=$(BUILD) scripts/bench-gossip

# The mesh in the lab: convergence, crash-to-withdrawal, memory with 3 and 100 sites.
bench-mesh: all
	BUILD=$(BUILD) NETD=$(BUILD)/netd NETDCTL=$(BUILD)/netdctl scripts/bench-mesh

# The WireGuard drift check's cost: a read of the device and its comparison at 100 and 1,000
# peers.
bench-drift: tests
	BUILD=$(BUILD) scripts/bench-drift

# netd's memory by the number of sites its config trusts (0, 1,000, 2,000).
bench-mem: all
	BUILD=$(BUILD) scripts/bench-mem

# One netd against 3, 1,000 and 10,000 simulated sites (build/netd-load): time to every peer,
# route and FDB entry, idle CPU, gossip bytes, RSS.
bench-scale: all tests
	BUILD=$(BUILD) scripts/bench-scale

# The accuracy run (10^7 site-probe periods at 5% loss) takes long enough to stand alone.
bench-gossip-long: tests
	BUILD=$(BUILD) scripts/bench-gossip long

# Accuracy over sizes 10 .. 1,000 (either side of each power of ten) and 5-20% loss, a seed
# drawn per run; SWEEP_PERIODS site-probe periods per point.
bench-gossip-sweep: tests
	BUILD=$(BUILD) scripts/bench-gossip sweep

# The Debian package: the tracked sources (every file, outside a git checkout) copied to
# $(BUILD)/deb/ with conf/debian as debian/, built there by dpkg-buildpackage, which runs
# this Makefile's `all` and `install`. The .deb is left in $(BUILD)/.
DEB_SRC := $(BUILD)/deb/netd-$(VERSION)
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	if git -C . rev-parse --git-dir >/dev/null 2>&1; then git ls-files -z; \
		else find . -path ./build -prune -o -path ./.git -prune -o -type f -print0; fi | \
		xargs -0 cp --parents -t $(DEB_SRC)
	rm -rf $(DEB_SRC)/build && cp -r conf/debian $(DEB_SRC)/debian
	printf 'netd (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
		'$(VERSION)' '$(VERSION)' 'netd developers <netd@example.org>' "$$(date -R)" \
		>$(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	mv $(BUILD)/deb/netd_$(VERSION)_*.deb $(BUILD)/

format:
	clang-format -i $(wildcard netd/*.[ch] kernel-helpers/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/kernel/*.[ch] \
		kernel-helpers/fake/*.[ch] tests/unit/fake/*.[ch] tests/sim/*.[ch] tests/load/*.[ch])

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/netd \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(BUILD)/netd $(DESTDIR)$(SBINDIR)/netd
	install -m 0755 $(BUILD)/netdctl $(DESTDIR)$(BINDIR)/netdctl
	install -m 0644 conf/netd.conf.example $(DESTDIR)$(SYSCONFDIR)/netd/netd.conf.example
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' conf/netd.service.in \
		> $(DESTDIR)$(UNITDIR)/netd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/netd.service
	install -m 0644 conf/netd.8 conf/netdctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 conf/netd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 conf/bash-completion/netd conf/bash-completion/netdctl $(DESTDIR)$(COMPLETIONDIR)/

clean:
	rm -rf build

.PHONY: all tests fuzzers check asan check-all demo fuzz deb bench bench-kernel bench-gossip bench-gossip-long bench-gossip-sweep bench-mesh bench-drift bench-mem bench-scale format install clean
-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
