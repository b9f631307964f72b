/* Shared helpers for the test suite (tests only). */
#ifndef FRUGAL_TESTUTIL_H
#define FRUGAL_TESTUTIL_H

#include "vm/vm.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* splitmix64: a tiny seeded generator for test inputs. */
static inline uint64_t tu_next(uint64_t *s) {
    return base_splitmix64(s);
}
static inline uint32_t tu_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(tu_next(s) % n);
}

/* tests/test_snapshot.c: every truncation of a snapshot image is an error
 * naming an offset; count random edits of its payload (checksum fixed) are
 * refused with an offset or run to a status. */
void tu_snapshot_truncations(const vm_buf *img);
void tu_snapshot_hostile(const vm_buf *img, uint64_t seed, int count);

/* Assemble or fail the test. */
static inline vm_buf tu_asm(const char *src) {
    vm_buf b = {0};
    char err[4096];
    cr_assert_eq(vm_asm(src, strlen(src), "<test>", &b, NULL, err, sizeof err), 0,
                 "assembly failed:\n%s\n%s", err, src);
    return b;
}

/* The whole of a file into *out: 0, or -1 with a message on stderr (the
 * tests' file reader; the command line has its own, with exit codes). */
static inline int tu_read_file(const char *path, vm_buf *out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = base_read_all(f, out, SIZE_MAX);
    if (rc) fprintf(stderr, "%s: cannot read (%d)\n", path, rc);
    fclose(f);
    return rc ? -1 : 0;
}

/* A native program file (.s is assembled): 0, or -1. */
static inline int tu_load_program(const char *path, vm_buf *code) {
    vm_buf src = {0};
    if (tu_read_file(path, &src)) return -1;
    size_t n = strlen(path);
    int rc = 0;
    if (n >= 2 && !strcmp(path + n - 2, ".s")) {
        char err[4096];
        rc = vm_asm((const char *)src.data, src.len, path, code, NULL, err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        vm_buf_free(&src);
    } else {
        *code = src;
    }
    return rc;
}

/* Emit one instruction into a byte buffer. */
static inline size_t tu_emit(uint8_t *c, size_t n, uint8_t op, int64_t imm) {
    c[n++] = op;
    unsigned sz = vm_opinfo_of(op)->name ? vm_imm_size(vm_opinfo_of(op)->imm) : 0;
    for (unsigned i = 0; i < sz; i++)
        c[n++] = (uint8_t)((uint64_t)imm >> (8 * i));
    return n;
}

/* Straight-line code: mostly the opcodes vm_run_cases batches, at times
 * another (a jump, a heap or meter instruction, an undefined byte). */
static inline size_t tu_straight_program(uint64_t *s, uint8_t *c, size_t cap, uint32_t nin) {
    static const uint8_t ops[] = {
        VM_OP_PUSH,  VM_OP_POP,  VM_OP_DUP,  VM_OP_SWAP,   VM_OP_OVER, VM_OP_ROT,   VM_OP_ARG,
        VM_OP_NARGS, VM_OP_ITEM, VM_OP_NOP,  VM_OP_INDEX,  VM_OP_ADD,  VM_OP_SUB,   VM_OP_MUL,
        VM_OP_DIV,   VM_OP_MOD,  VM_OP_NEG,  VM_OP_ABS,    VM_OP_MIN,  VM_OP_MAX,   VM_OP_LT,
        VM_OP_GT,    VM_OP_EQ,   VM_OP_NOT,  VM_OP_ISZERO, VM_OP_AND,  VM_OP_OR,    VM_OP_XOR,
        VM_OP_SHL,   VM_OP_SHR,  VM_OP_SAR,  VM_OP_FMUL,   VM_OP_FDIV, VM_OP_FSQRT, VM_OP_FSIN,
        VM_OP_FCOS,  VM_OP_FEXP, VM_OP_FLOG, VM_OP_ITOF,   VM_OP_FTOI, VM_OP_HALT};
    static const uint8_t other[] = {VM_OP_JMP, VM_OP_IF,      VM_OP_LOAD,  VM_OP_RAND,
                                    VM_OP_GAS, VM_OP_MEMLEFT, VM_OP_ALLOC, 0xff};
    static const vm_word words[] = {0, 1, -1, 2, 7, INT64_MIN, INT64_MAX, VM_FX_ONE, -VM_FX_ONE};
    size_t n = 0, k = tu_below(s, 40);
    for (size_t i = 0; i < k && n + 10 <= cap; i++) {
        uint8_t op = tu_below(s, 40) ? ops[tu_below(s, sizeof ops - (tu_below(s, 8) ? 1 : 0))]
                                     : other[tu_below(s, sizeof other)];
        c[n++] = op;
        vm_imm_kind ik = vm_opinfo_of(op)->imm;
        if (ik == VM_IMM_I64) {
            vm_word w = tu_below(s, 2) ? words[tu_below(s, 9)] : (vm_word)tu_next(s);
            base_le_put(c + n, (uint64_t)w, 8);
            n += 8;
        } else if (ik == VM_IMM_IDX) {
            c[n++] = (uint8_t)tu_below(s, 5);
        } else if (ik == VM_IMM_ARG) {
            c[n++] = (uint8_t)tu_below(s, nin + 2);
        } else if (ik == VM_IMM_REL) {
            c[n++] = 0;
            c[n++] = 0;
        }
    }
    return n;
}

/* A random, mostly well-formed program: real opcodes, small constants, jumps
 * to instruction boundaries, sometimes raw random bytes. Returns its length. */
static inline size_t tu_random_program(uint64_t *s, uint8_t *c, size_t cap) {
    size_t ninsn = 1 + tu_below(s, 40);
    uint32_t starts[64];
    int rel_at[64], nrel = 0;
    size_t n = 0;
    int defined[256], nd = 0;
    for (int op = 0; op < 256; op++)
        if (vm_opinfo_of((uint8_t)op)->name) defined[nd++] = op;
    size_t count = 0;
    for (size_t i = 0; i < ninsn && n + 16 < cap; i++) {
        starts[i] = (uint32_t)n;
        count = i + 1;
        uint32_t r = tu_below(s, 100);
        if (r < 3) {
            c[n++] = (uint8_t)tu_next(s); /* raw byte */
            continue;
        }
        uint8_t op = (uint8_t)defined[tu_below(s, (uint32_t)nd)];
        if (r < 25) op = VM_OP_PUSH;
        int64_t imm = 0;
        switch (vm_opinfo_of(op)->imm) {
        case VM_IMM_I64: imm = (int64_t)tu_below(s, 41) - 20; break;
        case VM_IMM_IDX: imm = tu_below(s, 4); break;
        case VM_IMM_ARG: imm = tu_below(s, 3); break;
        case VM_IMM_REL: rel_at[nrel++] = (int)i; break;
        default: break;
        }
        if (r >= 97) imm = (int64_t)tu_next(s);
        n = tu_emit(c, n, op, imm);
    }
    /* point each jump at a random instruction start (or the end) */
    for (int k = 0; k < nrel; k++) {
        size_t i = (size_t)rel_at[k];
        if (i >= count) continue;
        size_t t = tu_below(s, (uint32_t)count + 1);
        uint32_t target = t == count ? (uint32_t)n : starts[t];
        int64_t off = (int64_t)target - (starts[i] + 3);
        if (tu_below(s, 20) == 0) off += 1; /* sometimes a bad jump */
        c[starts[i] + 1] = (uint8_t)off;
        c[starts[i] + 2] = (uint8_t)((uint64_t)off >> 8);
    }
    if (tu_below(s, 10) == 0 && n > 1) n--; /* sometimes truncated */
    return n;
}

/* Does the linear decoding of c hold opcode op or op2? */
static inline bool tu_has_op(const uint8_t *c, size_t n, uint8_t op, uint8_t op2) {
    for (size_t pc = 0; pc < n;) {
        vm_insn in;
        vm_decode(c, n, pc, &in);
        if (in.defined && (in.op == op || in.op == op2)) return true;
        pc += in.len;
    }
    return false;
}

/* GAS and MEMLEFT read the budget itself, so a run that reads them may differ
 * under another budget: exact-resumption properties exclude them. */
static inline bool tu_reads_budget(const uint8_t *c, size_t n) {
    return tu_has_op(c, n, VM_OP_GAS, VM_OP_MEMLEFT);
}

/* Run a shell command; its whole stdout, malloc'd. */
static inline char *tu_run_cmd(const char *cmd) {
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    base_buf b = {0};
    cr_assert_eq(base_read_all(p, &b, SIZE_MAX), 0, "cannot read the output of %s", cmd);
    cr_assert_eq(base_buf_reserve(&b, 1), 0);
    b.data[b.len] = 0;
    pclose(p);
    return (char *)b.data;
}

/* A fresh temporary directory named after prefix, and its removal (without a
 * shell: a test may have cleared PATH). */
static inline void tu_tmpdir(char *dir, size_t cap, const char *prefix) {
    snprintf(dir, cap, "/tmp/%s-XXXXXX", prefix);
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}
static inline int tu_rmtree_at(int dfd, const char *name) {
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) return unlinkat(dfd, name, 0); /* a file or a link */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc |= tu_rmtree_at(dirfd(d), e->d_name);
    closedir(d);
    return unlinkat(dfd, name, AT_REMOVEDIR) | rc;
}
static inline void tu_rmtree(const char *dir) {
    if (!dir[0] || strncmp(dir, "/tmp/", 5) || access(dir, F_OK) != 0) return; /* only our own */
    if (tu_rmtree_at(AT_FDCWD, dir)) fprintf(stderr, "cannot remove %s\n", dir);
}

/* Run argv (argv[0] a path) with stdout and stderr to the files out and err
 * (NULL: /dev/null), calling prep() in the child first (may be NULL). Its
 * exit code, 128 + the signal that killed it, or -1 when it still runs after
 * `seconds`: a hang check, not a timing test (it is killed then, SIGTERM
 * first). */
static inline int tu_run_watched(char *const *argv, const char *out, const char *err,
                                 void (*prep)(void), int seconds) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        if (prep) prep();
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    for (long ms = 0; ms <= 1000L * seconds; ms += 5) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        cr_assert(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 400 && waitpid(pid, &st, WNOHANG) == 0; i++)
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Snapshot of the observable state of a run, for comparisons. */
typedef struct {
    vm_status status;
    uint32_t ip, depth, msize, calls;
    vm_meters m;
    vm_word stack[64], heap[64];
} tu_state;

static inline void tu_capture(const vm_machine *a, tu_state *t) {
    memset(t, 0, sizeof *t);
    t->status = vm_status_get(a);
    t->ip = vm_ip(a);
    t->depth = vm_depth(a);
    t->msize = vm_msize(a);
    t->calls = vm_call_depth(a);
    vm_meters_get(a, &t->m);
    for (uint32_t i = 0; i < t->depth && i < 64; i++)
        t->stack[i] = vm_stack(a)[i];
    for (uint32_t i = 0; i < t->msize && i < 64; i++)
        t->heap[i] = vm_heap(a)[i];
}

static inline bool tu_same(const tu_state *x, const tu_state *y) {
    return memcmp(x, y, sizeof *x) == 0;
}

#ifdef FRUGAL_VM_IMPL_H
/* Capabilities after program i ran (docs/isa.md, "Processes and keys"): no
 * right beyond the defined ones; a process key held by the owner alone; a
 * call key only calls, names a live process and is held below its owner; a
 * page key names a page of the holder or of an owner above it. Returns the
 * number of call keys. */
static inline int tu_key_invariants(const vm_machine *a, int i) {
    int call_keys = 0;
    for (uint32_t id = 0; id < vm_nprocs(a); id++) {
        vm_proc_info pi;
        vm_proc_get(a, id, &pi);
        if (!pi.live) continue;
        for (uint32_t k = 0; k < pi.nkeys; k++) {
            vm_key_kind kind;
            unsigned rights;
            uint32_t obj;
            vm_key_get(a, id, k, &kind, &rights, &obj);
            cr_assert_leq(rights, VM_RIGHTS_ALL);
            if (kind == VM_KEY_PROC) {
                vm_proc_info ci;
                vm_proc_get(a, obj, &ci);
                cr_assert_eq(ci.parent, id, "program %d: a process key held by a non-owner", i);
            }
            if (kind == VM_KEY_CALL) {
                call_keys++;
                cr_assert_eq(rights & ~VM_RIGHT_CALL, 0u, "program %d: a call key with %u", i,
                             rights);
                vm_proc_info ci, qi;
                vm_proc_get(a, obj, &ci);
                cr_assert(ci.live, "program %d: a call key to a dead process", i);
                uint32_t q = id;
                do {
                    vm_proc_get(a, q, &qi);
                    q = qi.parent;
                } while (q != ci.parent && q != UINT32_MAX);
                cr_assert_eq(q, ci.parent, "program %d: process %u calls %u from outside", i, id,
                             obj);
            }
            if (kind == VM_KEY_PAGE) {
                uint32_t owner = a->pages[obj].owner, q = id;
                while (q != owner && q != UINT32_MAX) {
                    vm_proc_info qi;
                    vm_proc_get(a, q, &qi);
                    q = qi.parent;
                }
                cr_assert_eq(q, owner, "program %d: process %u reaches page %u of process %u", i,
                             id, obj, owner);
            }
        }
    }
    return call_keys;
}
#endif

#endif
