SHELL := /bin/bash
# beamdump: the two entry points of the README, and a few conveniences.
#   make demo   installs what is missing, builds, and analyzes a bundled real dump
#   make check  installs what is missing, builds with ASan+UBSan, regenerates the
#               sample dumps with the real VM, runs every test, then fuzzes each
#               fuzz target for a few seconds
#   make fuzz   long fuzzing campaigns: FUZZ_TIME seconds (or FUZZ_RUNS executions)
#               per target, FUZZ_TARGETS="dump snapshot etf core"
BUILD       ?= build
CHECK_BUILD ?= build-check
JOBS        ?= 2
DEMO_DUMP   ?= samples/dumps/mailbox.dump.zst
FUZZ_BUILD  ?= build-fuzz
FUZZ_TIME   ?= 600
FUZZ_TARGETS ?= dump snapshot etf core
CHECK_FUZZ_TIME ?= 8

# make install: PREFIX (default /usr/local) and DESTDIR (staging root) as usual.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man/man1
COMPDIR     ?= $(PREFIX)/share/bash-completion/completions
# the crash guard (libbeamdump_guard.so) and its Erlang loader (ebin/, src/)
LIBDIR      ?= $(PREFIX)/lib/beamdump

.PHONY: all deps build check samples demo bench fuzz clean install uninstall

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) >$(BUILD)/build.log 2>&1 || (cat $(BUILD)/build.log; exit 1)

demo: build
	@echo "== beamdump info $(DEMO_DUMP)"
	@$(BUILD)/beamdump info $(DEMO_DUMP) || true
	@echo
	@if $(BUILD)/beamdump analyze --help >/dev/null 2>&1; then \
	  echo "== beamdump analyze $(DEMO_DUMP)"; $(BUILD)/beamdump analyze $(DEMO_DUMP) || true; \
	else \
	  echo "== beamdump top --by mq -n 5 $(DEMO_DUMP)"; $(BUILD)/beamdump top --by mq -n 5 $(DEMO_DUMP) || true; \
	fi

samples: deps
	@./samples/gen.sh $(CHECK_BUILD)/samples

check: deps
	@cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBD_SANITIZE=ON -DBD_WERROR=ON >/dev/null
	@cmake --build $(CHECK_BUILD) -j$(JOBS)
	@./samples/gen.sh $(CHECK_BUILD)/samples
	@./samples/ci/gen.sh $(CHECK_BUILD)/samples/ci
	@./samples/nif/gen.sh $(CHECK_BUILD)/samples/nif
	@./samples/nif/gen.sh --guard $(CHECK_BUILD)/libbeamdump_guard.so $(CHECK_BUILD)/samples/nif-guard
	@./samples/nif/gen.sh --core-limit 4096 $(CHECK_BUILD)/samples/nif null_deref
	@cd $(CHECK_BUILD) && BD_REQUIRE_SAMPLES=1 ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -V -j$(JOBS) --timeout 900 2>&1 \
	  | tee ctest.log | grep -E '^[0-9]+: \[  (PASSED|FAILED|ERROR|SKIPPED)|^[0-9]+: \[   LINE|tests passed|tests failed|^\s+[0-9]+ - ' ; \
	  status=$${PIPESTATUS[0]}; tail -n 3 ctest.log; exit $$status
	@./scripts/fuzz.sh -d $(FUZZ_BUILD) -t $(CHECK_FUZZ_TIME)

fuzz: deps
	@nice -n 19 ./scripts/fuzz.sh -d $(FUZZ_BUILD) $(if $(FUZZ_RUNS),-n $(FUZZ_RUNS),-t $(FUZZ_TIME)) $(FUZZ_TARGETS)

bench: build
	@./scripts/deps.sh bench
	@./bench/run.sh

# The man page is written by the program from its own command tables (beamdump __man),
# so it lists exactly the commands and options of the binary installed, and where the
# crash guard goes (LIBDIR).
install: build
	@$(BUILD)/beamdump __man "$(LIBDIR)" > $(BUILD)/beamdump.1
	@mkdir -p $(BUILD)/ebin && erlc -o $(BUILD)/ebin dump/beamdump_guard.erl
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(COMPDIR)" \
	  "$(DESTDIR)$(LIBDIR)/ebin" "$(DESTDIR)$(LIBDIR)/src"
	install -m 755 $(BUILD)/beamdump "$(DESTDIR)$(BINDIR)/beamdump"
	install -m 644 $(BUILD)/beamdump.1 "$(DESTDIR)$(MANDIR)/beamdump.1"
	install -m 644 scripts/beamdump-completion.bash "$(DESTDIR)$(COMPDIR)/beamdump"
	install -m 755 $(BUILD)/libbeamdump_guard.so "$(DESTDIR)$(LIBDIR)/libbeamdump_guard.so"
	install -m 644 $(BUILD)/ebin/beamdump_guard.beam "$(DESTDIR)$(LIBDIR)/ebin/beamdump_guard.beam"
	install -m 644 dump/beamdump_guard.erl "$(DESTDIR)$(LIBDIR)/src/beamdump_guard.erl"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/beamdump" "$(DESTDIR)$(MANDIR)/beamdump.1" \
	  "$(DESTDIR)$(COMPDIR)/beamdump" "$(DESTDIR)$(LIBDIR)/libbeamdump_guard.so" \
	  "$(DESTDIR)$(LIBDIR)/ebin/beamdump_guard.beam" "$(DESTDIR)$(LIBDIR)/src/beamdump_guard.erl"
	-rmdir "$(DESTDIR)$(LIBDIR)/ebin" "$(DESTDIR)$(LIBDIR)/src" "$(DESTDIR)$(LIBDIR)" 2>/dev/null

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(FUZZ_BUILD)
