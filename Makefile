# frugal: `make` builds ./frugal; `make test` and `make demo` also install
# missing Debian packages first (scripts/deps.sh).
CC      ?= gcc
MPI     ?= 0
ifeq ($(MPI),1)
CC      := mpicc
endif
PKGS    := hdf5 jansson zlib libpng libdeflate gsl nettle gmp libsecp256k1
# The EVM's precompiled contracts (vm/evm/precompile.c): SHA-256 and
# RIPEMD-160, modexp, ecrecover. The fuzz targets link them too.
EVM_LIBS   := $(shell pkg-config --libs nettle gmp libsecp256k1 2>/dev/null)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhdf5_hl
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifdef CI
WARN    += -Werror
endif
ifdef WERROR
WARN    += -Werror
endif
DEFS    := -DFRUGAL_VERSION='"0.1.0"'
# The commit a build is made of, for --version and every run file's
# frugal_commit ("-dirty": with changes not committed). A generated header,
# rewritten only when it changes, so that the objects that include it are
# rebuilt with it (a -D flag would leave them with an earlier commit).
COMMIT  := $(shell git describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
GEN     := build/gen
$(shell mkdir -p $(GEN); h='#define FRUGAL_COMMIT "$(COMMIT)"'; \
  [ "$$(cat $(GEN)/frugal_commit.h 2>/dev/null)" = "$$h" ] || echo "$$h" > $(GEN)/frugal_commit.h)
ifeq ($(MPI),1)
DEFS    += -DFRUGAL_MPI=1
endif
BASE_CFLAGS := -std=gnu11 $(WARN) -g -fopenmp -MMD -MP -I. -I$(GEN) $(PKG_CFLAGS) $(DEFS)
# x86-64: __builtin_prefetch(p, 1) becomes PREFETCHW (a no-op on CPUs
# without it) rather than a read prefetch (evolve/run.c, fetch_for_write)
ifeq ($(shell uname -m),x86_64)
BASE_CFLAGS += -mprfchw
endif
# Link-time optimisation lets the hot cross-module calls (fitness -> vm,
# evolve -> fitness) inline: about 6% more evaluations/s in bench gp.
OPT     ?= -O2 -flto=auto
LDLIBS  := -fopenmp $(PKG_LIBS) -lm

MODULES := base vm vm/evm evolve store fitness experiments experiments/bench analysis
SRC     := $(filter-out experiments/main.c,$(wildcard $(addsuffix /*.c,$(MODULES))))
TEST_SRC:= $(wildcard tests/*.c)

# Release build (MPI=1: its own folder, so that the two builds never mix objects)
B       := build
ifeq ($(MPI),1)
B       := build/mpi
endif
OBJ     := $(SRC:%.c=$(B)/%.o) $(B)/vm/interp_nometer.o
# Sanitizer build
A       := build/asan
AOBJ    := $(SRC:%.c=$(A)/%.o) $(A)/vm/interp_nometer.o
# The sanitizer build also exercises the interpreter's switch dispatch, so
# that both dispatch paths run the whole suite.
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
           -DVM_DISPATCH_SWITCH

.PHONY: all deps node-deps test demo asan bench format format-check clean difftest fuzz test-mpi bench-mpi docs
all: frugal

frugal: $(B)/frugal
	cp $< $@

$(B)/frugal: $(OBJ) $(B)/experiments/main.o
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

$(B)/frugal-tests: $(OBJ) $(TEST_SRC:%.c=$(B)/%.o)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS) -lcriterion

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) -c -o $@ $<

# The interpreter once more with metering compiled out, for `bench vm`.
$(B)/vm/interp_nometer.o: vm/interp.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) -DVM_NO_METER -c -o $@ $<

$(A)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN) -c -o $@ $<

$(A)/vm/interp_nometer.o: vm/interp.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN) -DVM_NO_METER -c -o $@ $<

$(A)/frugal: $(AOBJ) $(A)/experiments/main.o
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(A)/frugal-tests: $(AOBJ) $(TEST_SRC:%.c=$(A)/%.o)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) -lcriterion

deps:
	@scripts/deps.sh

# Tests run from the repo root; FRUGAL points them at the binary under test.
# When mpicc and mpirun are installed, the MPI build (build/mpi/frugal) is made
# too and FRUGAL_MPI_BIN points tests/test_mpi.c at it (they skip otherwise).
HAVE_MPI := $(if $(shell command -v mpicc 2>/dev/null),$(if $(shell command -v mpirun 2>/dev/null),1))
MPI_BIN  := $(if $(HAVE_MPI),$(CURDIR)/build/mpi/frugal)
# The EVM differential tests need the pinned ethereumjs (npm ci, once).
NODE_EVM := tests/node/node_modules/@ethereumjs/evm
node-deps:
	@test -d $(NODE_EVM) || tests/node/install.sh

test: deps node-deps
	$(MAKE) all $(B)/frugal-tests
	$(if $(MPI_BIN),$(MAKE) MPI=1 build/mpi/frugal)
	FRUGAL=$(CURDIR)/$(B)/frugal FRUGAL_MPI_BIN=$(MPI_BIN) $(B)/frugal-tests --jobs 2

# Rewrite the tables in docs/ that are made from the code's tables (task
# registry, selection methods, run-file columns, spec keys): tests/test_docs.c
# checks them, and this target writes what it expects.
docs:
	$(MAKE) all $(B)/frugal-tests
	FRUGAL_DOCS_UPDATE=1 $(B)/frugal-tests --filter 'docs/*' --jobs 1

# The MPI tests alone (and the MPI build they need).
test-mpi:
	$(MAKE) all $(B)/frugal-tests
	$(MAKE) MPI=1 build/mpi/frugal
	FRUGAL=$(CURDIR)/$(B)/frugal FRUGAL_MPI_BIN=$(CURDIR)/build/mpi/frugal \
	  $(B)/frugal-tests --filter 'mpi/*'

# Weak scaling and exchange cost under mpirun (tests/mpi/bench.sh).
bench-mpi:
	$(MAKE) MPI=1 build/mpi/frugal
	tests/mpi/bench.sh $(CURDIR)/build/mpi/frugal

asan: deps node-deps
	$(MAKE) $(A)/frugal $(A)/frugal-tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  FRUGAL=$(CURDIR)/$(A)/frugal FRUGAL_SANITIZED=1 $(A)/frugal-tests --jobs 2

# More differential EVM tests than make test runs: make difftest N=100000
N ?= 100000
difftest: deps node-deps
	$(MAKE) all $(B)/frugal-tests
	FRUGAL_DIFFTEST_N=$(N) FRUGAL=$(CURDIR)/$(B)/frugal $(B)/frugal-tests --filter 'evm_diff/random*'

demo: deps
	$(MAKE) all
	./frugal demo

bench: all
	./frugal bench all

# libFuzzer targets (tests/fuzz/*.c) over the VM, each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
FUZZ_SRC := $(wildcard base/*.c vm/*.c vm/evm/*.c)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/*.c))
FUZZ_FLAGS := -std=gnu11 -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# Each source is compiled once for all targets (the EVM loop is slow to
# compile with sanitizers); -MMD tracks the headers, .inc and .def files.
FUZZ_OBJ := $(FUZZ_SRC:%.c=build/fuzz/obj/%.o) build/fuzz/obj/vm/interp_nometer.o
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fopenmp -MMD -MP -I$(GEN) $(PKG_CFLAGS) $(DEFS) -c -o $@ $<
build/fuzz/obj/vm/interp_nometer.o: vm/interp.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -MMD -MP -DVM_NO_METER -c -o $@ $<
.SECONDARY: $(FUZZ_OBJ)
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	clang $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJ) -lz -lm $(EVM_LIBS) -pthread
# fuzz_spec reaches the whole program (specs, tasks, data files): every
# source, with clang's OpenMP (libomp).
FUZZ_ALL_OBJ := $(SRC:%.c=build/fuzz/obj/%.o) build/fuzz/obj/vm/interp_nometer.o
.SECONDARY: $(FUZZ_ALL_OBJ)
build/fuzz/fuzz_spec: tests/fuzz/fuzz_spec.c $(FUZZ_ALL_OBJ)
	clang $(FUZZ_FLAGS) -fopenmp -I$(GEN) $(PKG_CFLAGS) -o $@ $< $(FUZZ_ALL_OBJ) $(PKG_LIBS) -lm
fuzz: deps all
	$(MAKE) -j2 $(FUZZ_TARGETS)
	@mkdir -p build/fuzz/corpus-fuzz_snapshot
	@cp tests/data/fuzz-snapshot/* build/fuzz/corpus-fuzz_snapshot/ # past findings
	@./frugal exec examples/credit.s --gas 50000 \
	  --snapshot build/fuzz/corpus-fuzz_snapshot/credit.snap >/dev/null 2>&1 || true
	@./frugal exec examples/evm.s --gas 40000 \
	  --snapshot build/fuzz/corpus-fuzz_snapshot/evm.snap >/dev/null 2>&1 || true
	@./frugal exec examples/evm_calls.s --gas 29000 \
	  --snapshot build/fuzz/corpus-fuzz_snapshot/evm_calls.snap >/dev/null 2>&1 || true
	@mkdir -p build/fuzz/corpus-fuzz_image # a process image in its page (4096 bytes)
	@./frugal exec examples/jump_out.s \
	  --page-out build/fuzz/corpus-fuzz_image/jump.img >/dev/null 2>&1 || true
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus-$$(basename $$t); \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  if $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=0 \
	      -artifact_prefix=build/fuzz/ build/fuzz/corpus-$$(basename $$t) > $$t.log 2>&1; \
	  then tail -n 3 $$t.log; else tail -n 60 $$t.log; exit 1; fi; \
	done

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

# CI: fails, naming the file and line, when a C file is not formatted.
format-check: deps
	clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build frugal

-include $(OBJ:.o=.d) $(AOBJ:.o=.d) $(B)/experiments/main.d $(A)/experiments/main.d $(FUZZ_OBJ:.o=.d) $(TEST_SRC:%.c=$(B)/%.d) $(TEST_SRC:%.c=$(A)/%.d)
