/* Nested sandboxes: refuel and resume in random nesting structures under
 * both resource models, memory that counts up the tree, isolation, and
 * capabilities that can only shrink. */
#include "vm/vm_impl.h" /* before testutil.h: tu_key_invariants reads pages */
#include "testutil.h"
#include "vm/evm/evm.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- building nested programs ---- */

typedef struct {
    uint8_t c[65536];
    size_t n;
} prog;

static void e(prog *p, uint8_t op, int64_t imm) {
    cr_assert_lt(p->n + 16, sizeof p->c);
    p->n = tu_emit(p->c, p->n, op, imm);
}

/* Put child code in page 0 and CREATE it as key 1, then PUSHTO its stack. */
static void make_child(prog *p, const uint8_t *code, size_t len, const vm_word *in, int nin) {
    size_t words = (len + 7) / 8;
    e(p, VM_OP_PUSH, (int64_t)(words ? words : 1));
    e(p, VM_OP_NEWPAGE, 0);
    e(p, VM_OP_POP, 0);
    for (size_t i = 0; i < words; i++) {
        uint64_t w = 0;
        for (size_t b = 0; b < 8 && i * 8 + b < len; b++)
            w |= (uint64_t)code[i * 8 + b] << (8 * b);
        e(p, VM_OP_PUSH, (int64_t)w);
        e(p, VM_OP_PUSH, 0);
        e(p, VM_OP_PUSH, (int64_t)i);
        e(p, VM_OP_PWRITE, 0);
    }
    e(p, VM_OP_PUSH, 0);
    e(p, VM_OP_PUSH, (int64_t)len);
    e(p, VM_OP_CREATE, 0);
    e(p, VM_OP_POP, 0);
    for (int i = 0; i < nin; i++) {
        e(p, VM_OP_PUSH, in[i]);
        e(p, VM_OP_PUSH, 1);
        e(p, VM_OP_PUSHTO, 0);
    }
}

static void jump(prog *p, uint8_t op, size_t target) {
    e(p, op, (int64_t)target - (int64_t)(p->n + 3));
}

/* A level that runs child key 1 in chunks: RECURSE with `gas` more (and
 * `mtf` times that of memory-time, or no own limit if mtf < 0), again with
 * twice as much while the child stops for gas or memory-time, then HALT with
 * the child's status on top. */
static void refuel_loop(prog *p, int mode, int64_t gas, int64_t mtf, int64_t mem) {
    e(p, VM_OP_PUSH, gas); /* cur */
    size_t loop = p->n;
    e(p, VM_OP_PUSH, 1);
    e(p, VM_OP_DUP, 1);
    e(p, VM_OP_PUSH, mem);
    if (mtf < 0) {
        e(p, VM_OP_PUSH, -1);
    } else {
        e(p, VM_OP_DUP, 1);
        e(p, VM_OP_PUSH, mtf);
        e(p, VM_OP_MUL, 0);
    }
    e(p, VM_OP_RECURSE, mode);
    e(p, VM_OP_POP, 0);
    e(p, VM_OP_POP, 0);
    e(p, VM_OP_POP, 0); /* cur st */
    e(p, VM_OP_DUP, 0);
    e(p, VM_OP_PUSH, VM_OUT_OF_GAS);
    e(p, VM_OP_EQ, 0);
    e(p, VM_OP_OVER, 0);
    e(p, VM_OP_PUSH, VM_OUT_OF_MEMTIME);
    e(p, VM_OP_EQ, 0);
    e(p, VM_OP_OR, 0); /* cur st again? */
    size_t jz = p->n;
    e(p, VM_OP_JZ, 0);
    e(p, VM_OP_POP, 0);
    e(p, VM_OP_DUP, 0);
    e(p, VM_OP_ADD, 0); /* twice as much next time, */
    e(p, VM_OP_PUSH, (int64_t)1 << 40);
    e(p, VM_OP_MIN, 0); /* up to a cap, so that it never wraps */
    jump(p, VM_OP_JMP, loop);
    size_t done = p->n;
    e(p, VM_OP_HALT, 0);
    int64_t off = (int64_t)done - (int64_t)(jz + 3);
    p->c[jz + 1] = (uint8_t)off;
    p->c[jz + 2] = (uint8_t)((uint64_t)off >> 8);
}

/* The state of process id, for comparison with a standalone run. */
typedef struct {
    vm_status status;
    uint32_t ip, depth, msize;
    uint64_t gas, memtime;
} pstate;

static void pcapture(const vm_machine *a, uint32_t id, pstate *s) {
    vm_proc_info pi;
    cr_assert_eq(vm_proc_get(a, id, &pi), 0);
    memset(s, 0, sizeof *s);
    s->status = pi.status;
    s->ip = pi.ip;
    s->depth = pi.depth;
    s->msize = pi.msize;
    s->gas = pi.m.gas;
    s->memtime = pi.m.memtime;
}

/* The process a chain of key-1 children leads to, depth levels down. */
static uint32_t descend(const vm_machine *a, int levels) {
    uint32_t id = 0;
    for (int i = 0; i < levels; i++) {
        vm_key_kind kind;
        unsigned rights;
        uint32_t obj;
        cr_assert_eq(vm_key_get(a, id, 1, &kind, &rights, &obj), 0);
        cr_assert_eq(kind, VM_KEY_PROC);
        id = obj;
    }
    return id;
}

/* The tree jumps: saved, restored in a fresh machine (which saves to the same
 * bytes) and continued there; the old machine is freed. */
static void jump_machine(vm_machine **ap) {
    vm_buf img = {0}, again = {0};
    cr_assert_eq(vm_snapshot_save(*ap, &img), 0);
    vm_machine *b = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(b, img.data, img.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(vm_snapshot_save(b, &again), 0);
    cr_assert_eq(again.len, img.len, "the restored tree saves to %zu bytes, not %zu", again.len,
                 img.len);
    cr_assert(!memcmp(again.data, img.data, img.len), "the restored tree saves differently");
    vm_machine_free(*ap);
    *ap = b;
    vm_buf_free(&img);
    vm_buf_free(&again);
}

/* Run the root from 1..first gas, refuelling it in growing chunks (a
 * transfer can only pass on what the root has at once) while it stops for
 * gas; with `jump`, the tree moves to a fresh machine through a snapshot at
 * every stop. Counts the stops inside a child, and inside a nested EVM
 * frame. */
static vm_status refuel_root(vm_machine **ap, uint64_t *seed, uint32_t first, uint32_t step,
                             bool jump, int *in_child, int *in_evm_call) {
    vm_limits l = {.gas = 1 + tu_below(seed, first), .mem = 10000000};
    vm_set_limits(*ap, &l);
    vm_status st;
    int rounds = 0;
    uint64_t inc = 0;
    while ((st = vm_run(*ap)) == VM_OUT_OF_GAS && rounds++ < 100000) {
        if (jump) jump_machine(ap);
        vm_machine *a = *ap;
        vm_proc_info pi;
        vm_proc_get(a, 0, &pi);
        if (in_child && pi.child != UINT32_MAX) (*in_child)++;
        if (in_evm_call && pi.child != UINT32_MAX && vm_evm_frames(a->procs[pi.child]) > 1)
            (*in_evm_call)++;
        inc += 1 + tu_below(seed, step);
        l.gas += inc;
        vm_set_limits(a, &l);
    }
    return st;
}

static const vm_word bottom_in[2] = {3, -2};
#define BOTTOM_MEM 4096 /* the bottom's own memory limit binds first */

/* Refuel and resume, exactly: random bottom programs under 1 to 3 levels of
 * refuelling parents (random model, random chunks), with the host refuelling
 * the root in random chunks too. The bottom ends exactly as when run alone. */
static void nested_property(int model_choice, uint64_t seed0, int count) {
    uint64_t seed = seed0;
    vm_machine *a = vm_machine_new();
    uint8_t bottom[512];
    int checked = 0, suspended = 0;
    for (int iter = 0; iter < count; iter++) {
        size_t bn = tu_random_program(&seed, bottom, sizeof bottom);
        /* RAND's stream is the place's: a child's is not the root's */
        if (tu_reads_budget(bottom, bn) || tu_has_op(bottom, bn, VM_OP_RAND, VM_OP_RAND)) continue;
        /* standalone reference */
        vm_load(a, bottom, bn);
        vm_set_limits(a, &(vm_limits){.gas = 3000, .mem = BOTTOM_MEM});
        vm_push(a, bottom_in[0]);
        vm_push(a, bottom_in[1]);
        vm_status ref = vm_run(a);
        if (ref == VM_OUT_OF_GAS || ref == VM_YIELDED || ref == VM_CHANNEL_EMPTY) continue;
        pstate want;
        pcapture(a, 0, &want);

        /* wrap it in `levels` refuelling parents */
        int levels = 1 + (int)tu_below(&seed, 3);
        static prog cur, next;
        cur = (prog){0};
        memcpy(cur.c, bottom, bn);
        cur.n = bn;
        for (int l = 0; l < levels; l++) {
            next = (prog){0};
            int mode = model_choice >= 0 ? model_choice : (int)tu_below(&seed, 2);
            make_child(&next, cur.c, cur.n, l == 0 ? bottom_in : NULL, l == 0 ? 2 : 0);
            int64_t gas = 1 + tu_below(&seed, 60);
            int64_t mt = tu_below(&seed, 3) == 0 ? (int64_t)(1 + tu_below(&seed, 40)) : -1;
            refuel_loop(&next, mode, gas, mt, l == 0 ? BOTTOM_MEM : 1000000);
            cur = next;
        }
        vm_load(a, cur.c, cur.n);
        vm_status st = refuel_root(&a, &seed, 200, 50, false, &suspended, NULL);
        cr_assert_eq(st, VM_HALTED, "iteration %d: the root ended %s", iter, vm_status_name(st));
        uint32_t b = descend(a, levels);
        pstate got;
        pcapture(a, b, &got);
        cr_assert_eq(got.status, want.status, "iteration %d (%d levels): status %s, alone %s", iter,
                     levels, vm_status_name(got.status), vm_status_name(want.status));
        cr_assert_eq(got.ip, want.ip, "iteration %d: ip", iter);
        cr_assert_eq(got.gas, want.gas, "iteration %d: gas %lu, alone %lu", iter,
                     (unsigned long)got.gas, (unsigned long)want.gas);
        cr_assert_eq(got.memtime, want.memtime, "iteration %d: memtime %lu, alone %lu", iter,
                     (unsigned long)got.memtime, (unsigned long)want.memtime);
        cr_assert_eq(got.depth, want.depth, "iteration %d: depth", iter);
        cr_assert_eq(got.msize, want.msize, "iteration %d: msize", iter);
        checked++;
    }
    cr_assert_gt(checked, count / 10, "only %d programs checked", checked);
    if (model_choice == 1)
        cr_assert_eq(suspended, 0, "transfer: no ancestor can run dry while a child runs");
    else
        cr_assert_gt(suspended, 0, "credit: the root was never suspended inside a child");
    vm_machine_free(a);
}

Test(proc, refuel_nested_credit) {
    nested_property(0, 11, 1500);
}
Test(proc, refuel_nested_transfer) {
    nested_property(1, 22, 1500);
}
Test(proc, refuel_nested_mixed) {
    nested_property(-1, 33, 1500);
}

/* ---- budgets and memory up the tree ---- */

static vm_buf asm_ok(const char *src) {
    return tu_asm(src);
}

/* Credit: a child promised more than its parent has; the parent runs dry
 * while the child runs, control goes to the parent's parent (the host), and
 * refuelling resumes the child where it stopped, unnoticed. */
Test(proc, credit_ancestor_dry_resumes_child) {
    prog p = {0};
    /* child: count down from 1000 */
    vm_buf child = asm_ok("PUSH 1000\nl: PUSH 1\nSUB\nDUP 0\nJNZ l\nHALT");
    make_child(&p, child.data, child.len, NULL, 0);
    e(&p, VM_OP_PUSH, 1);
    e(&p, VM_OP_PUSH, 1000000); /* promised far more than the root has */
    e(&p, VM_OP_PUSH, 1000);
    e(&p, VM_OP_PUSH, -1);
    e(&p, VM_OP_RECURSE, 0);
    e(&p, VM_OP_HALT, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, p.c, p.n);
    vm_set_limits(a, &(vm_limits){.gas = 2000}); /* enough to start the child, not to end it */
    cr_assert_eq(vm_run(a), VM_OUT_OF_GAS);
    vm_proc_info root, c;
    vm_proc_get(a, 0, &root);
    cr_assert_neq(root.child, UINT32_MAX, "the root is suspended inside RECURSE");
    vm_proc_get(a, root.child, &c);
    cr_assert_eq(c.status, VM_RUNNING, "the child is suspended, not stopped");
    cr_assert_eq(root.m.gas, 2000u, "the root used exactly its budget");
    vm_set_limits(a, &(vm_limits){.gas = 100000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_proc_get(a, 0, &root);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 4], VM_HALTED, "the child finished");
    vm_proc_get(a, 1, &c);
    cr_assert_eq(c.m.gas, 1 + 1000 * 4 + 1, "the child used what one run uses");
    vm_machine_free(a);
    vm_buf_free(&child);
}

/* Transfer: the allotment is clipped to what the parent has, so the child
 * runs out first, and the parent continues. */
Test(proc, transfer_clips_to_parent) {
    prog p = {0};
    vm_buf child = asm_ok("l: JMP l");
    make_child(&p, child.data, child.len, NULL, 0);
    e(&p, VM_OP_PUSH, 1);
    e(&p, VM_OP_PUSH, 1000000);
    e(&p, VM_OP_PUSH, 1000);
    e(&p, VM_OP_PUSH, -1);
    e(&p, VM_OP_RECURSE, 1);
    e(&p, VM_OP_HALT, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, p.c, p.n);
    vm_set_limits(a, &(vm_limits){.gas = 5000});
    vm_status s = vm_run(a);
    /* the child took what the root could give and ran out; the root then
     * could not pay for its own HALT */
    vm_proc_info root, c;
    vm_proc_get(a, 0, &root);
    vm_proc_get(a, 1, &c);
    cr_assert_eq(c.status, VM_OUT_OF_GAS);
    cr_assert_eq(root.child, UINT32_MAX, "RECURSE completed");
    cr_assert_eq(s, VM_OUT_OF_GAS);
    cr_assert_eq(root.m.gas, 5000u);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 4], VM_OUT_OF_GAS);
    vm_machine_free(a);
    vm_buf_free(&child);
}

/* A child's memory counts in its parent: a child that allocates is stopped
 * by the parent's memory limit, and the parent's meter shows its words. */
Test(proc, child_memory_counts_in_ancestors) {
    prog p = {0};
    vm_buf child = asm_ok("PUSH 300\nALLOC\nHALT");
    make_child(&p, child.data, child.len, NULL, 0);
    e(&p, VM_OP_PUSH, 1);
    e(&p, VM_OP_PUSH, 1000);
    e(&p, VM_OP_PUSH, 100000); /* the child may use many words... */
    e(&p, VM_OP_PUSH, -1);
    e(&p, VM_OP_RECURSE, 0);
    e(&p, VM_OP_HALT, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, p.c, p.n);
    vm_set_limits(a, &(vm_limits){.mem = 200}); /* ...but the root only 200 */
    cr_assert_eq(vm_run(a), VM_OUT_OF_MEMORY, "the root's limit binds: it is the one stopped");
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_leq(m.mem, 200u);
    vm_set_limits(a, &(vm_limits){.mem = 2000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_meters_get(a, &m);
    vm_proc_info c;
    vm_proc_get(a, 1, &c);
    cr_assert_eq(c.words, 301u);
    cr_assert_geq(m.mem, 301u + 16, "the child's words and record count in the root");
    vm_machine_free(a);
    vm_buf_free(&child);
}

/* A child cannot touch its parent: whatever it runs, the parent's stack,
 * heap and keys are as they were. */
Test(proc, child_cannot_reach_parent) {
    uint64_t seed = 5;
    uint8_t code[256];
    vm_machine *a = vm_machine_new();
    for (int i = 0; i < 3000; i++) {
        size_t n = tu_random_program(&seed, code, sizeof code);
        prog p = {0};
        e(&p, VM_OP_PUSH, 4);
        e(&p, VM_OP_ALLOC, 0);
        e(&p, VM_OP_POP, 0);
        e(&p, VM_OP_PUSH, 777);
        e(&p, VM_OP_PUSH, 2);
        e(&p, VM_OP_STORE, 0);
        make_child(&p, code, n, bottom_in, 2);
        e(&p, VM_OP_PUSH, 1);
        e(&p, VM_OP_PUSH, 2000);
        e(&p, VM_OP_PUSH, 500);
        e(&p, VM_OP_PUSH, -1);
        e(&p, VM_OP_RECURSE, (int64_t)tu_below(&seed, 2));
        e(&p, VM_OP_HALT, 0);
        vm_load(a, p.c, p.n);
        vm_set_limits(a, &(vm_limits){.gas = 100000, .mem = 10000});
        vm_push(a, 4242);
        vm_status s = vm_run(a);
        cr_assert_eq(s, VM_HALTED, "program %d: the parent always continues (%s)", i,
                     vm_status_name(s));
        cr_assert_eq(vm_stack(a)[0], 4242);
        cr_assert_eq(vm_msize(a), 4u);
        cr_assert_eq(vm_heap(a)[2], 777);
        vm_key_kind kind;
        unsigned rights;
        uint32_t obj;
        vm_key_get(a, 0, 0, &kind, &rights, &obj);
        cr_assert_eq(kind, VM_KEY_PAGE);
        cr_assert_eq(rights, VM_RIGHT_READ | VM_RIGHT_WRITE);
    }
    vm_machine_free(a);
}

/* ---- capabilities ---- */

/* Random programs rich in key instructions, with a read-only channel, a
 * write-only channel and a channel the root has no key to: nothing raises
 * a right, and nothing reaches an object without a key. */
Test(proc, capabilities_never_grow) {
    uint64_t seed = 77;
    vm_machine *a = vm_machine_new();
    int ra = vm_chan_new(a, 1000), wb = vm_chan_new(a, 1000), secret = vm_chan_new(a, 10);
    cr_assert(ra >= 0 && wb >= 0 && secret >= 0);
    static const uint8_t ops[] = {VM_OP_FORK,    VM_OP_TRANSFERKEY, VM_OP_ATTENUATE, VM_OP_DROPKEY,
                                  VM_OP_NUMKEYS, VM_OP_KEYINFO,     VM_OP_NEWPAGE,   VM_OP_PREAD,
                                  VM_OP_PWRITE,  VM_OP_IN,          VM_OP_OUT,       VM_OP_CREATE,
                                  VM_OP_PUSHTO,  VM_OP_POPFROM,     VM_OP_RECURSE,   VM_OP_KCALL};
    int call_keys = 0;
    for (int i = 0; i < 4000; i++) {
        uint8_t c[512];
        size_t n = 0, skip[2] = {0, 0};
        bool pair = i % 2; /* two FORK copies, each with a call key to the other */
        if (pair) {
            for (int k = 0; k < 2; k++) {
                n = tu_emit(c, n, VM_OP_FORK, 0);
                n = tu_emit(c, n, VM_OP_DUP, 0);
                n = tu_emit(c, n, VM_OP_PUSH, -1);
                n = tu_emit(c, n, VM_OP_EQ, 0);
                skip[k] = n;
                n = tu_emit(c, n, VM_OP_JNZ, 0); /* a copy goes to the random part */
            }
            n = tu_emit(c, n, VM_OP_DUP, 0);
            n = tu_emit(c, n, VM_OP_DUP, 2);
            n = tu_emit(c, n, VM_OP_TRANSFERKEY, 0);
            n = tu_emit(c, n, VM_OP_DUP, 2);
            n = tu_emit(c, n, VM_OP_DUP, 2);
            n = tu_emit(c, n, VM_OP_TRANSFERKEY, 0);
            for (int k = 0; k < 2; k++) {
                int64_t off = (int64_t)n - (int64_t)(skip[k] + 3);
                c[skip[k] + 1] = (uint8_t)off;
                c[skip[k] + 2] = (uint8_t)(off >> 8);
            }
        }
        int len = 5 + (int)tu_below(&seed, 60);
        for (int k = 0; k < len; k++) {
            uint32_t r = tu_below(&seed, 10);
            if (r < 4)
                n = tu_emit(c, n, VM_OP_PUSH, (int64_t)tu_below(&seed, 8) - 1);
            else if (r < 5)
                n = tu_emit(c, n, VM_OP_DUP, tu_below(&seed, 3));
            else if (r < 6)
                n = tu_emit(c, n, VM_OP_PUSH, 7);
            else
                n = tu_emit(c, n, ops[tu_below(&seed, sizeof ops)], tu_below(&seed, 2));
        }
        vm_load(a, c, n);
        vm_set_limits(a, &(vm_limits){.gas = pair ? 60000 : 20000, .mem = 5000});
        vm_chan_clear(a, (uint32_t)ra);
        vm_chan_clear(a, (uint32_t)wb);
        vm_chan_clear(a, (uint32_t)secret);
        for (int k = 0; k < 50; k++)
            vm_chan_write(a, (uint32_t)ra, 1000 + k);
        for (int k = 0; k < 5; k++)
            vm_chan_write(a, (uint32_t)secret, 99);
        cr_assert_eq(vm_grant_chan(a, (uint32_t)ra, VM_RIGHT_READ), 0);
        cr_assert_eq(vm_grant_chan(a, (uint32_t)wb, VM_RIGHT_WRITE), 1);
        vm_run(a);
        cr_assert_eq(vm_chan_len(a, (uint32_t)secret), 5u, "program %d reached the secret", i);
        /* the read-only channel was only read, from the front */
        uint32_t left = vm_chan_len(a, (uint32_t)ra);
        cr_assert_leq(left, 50u);
        for (uint32_t k = 0; k < left; k++) {
            vm_word w;
            vm_chan_read(a, (uint32_t)ra, &w);
            cr_assert_eq(w, 1000 + (vm_word)(50 - left + k), "program %d wrote a read-only channel",
                         i);
        }
        call_keys += tu_key_invariants(a, i);
        for (uint32_t id = 0; id < vm_nprocs(a); id++) {
            vm_proc_info pi;
            vm_proc_get(a, id, &pi);
            if (!pi.live) continue;
            for (uint32_t k = 0; k < pi.nkeys; k++) {
                vm_key_kind kind;
                unsigned rights;
                uint32_t obj;
                vm_key_get(a, id, k, &kind, &rights, &obj);
                if (kind == VM_KEY_CHAN) {
                    cr_assert_neq(obj, (uint32_t)secret);
                    if (obj == (uint32_t)ra) cr_assert_eq(rights & ~VM_RIGHT_READ, 0u);
                    if (obj == (uint32_t)wb) cr_assert_eq(rights & ~VM_RIGHT_WRITE, 0u);
                }
            }
        }
    }
    cr_assert_gt(call_keys, 100, "only %d call keys made", call_keys);
    vm_machine_free(a);
}

/* A new key takes the lowest empty slot, else a new one: in the root, in a
 * FORK copy (whose process-key slots are empty) and after a snapshot. The
 * words held add up (the snapshot reader recomputes them). */
Test(proc, key_slots_are_reused_lowest_first) {
    vm_buf b = asm_ok("PUSH 0\nNEWPAGE\nPUSH 0\nNEWPAGE\nPUSH 0\nNEWPAGE\nPUSH 0\nNEWPAGE\n"
                      "POP\nPOP\nPOP\nPOP\nPUSH 2\nDROPKEY\nPUSH 0\nDROPKEY\n"
                      "YIELD\nPUSH 0\nNEWPAGE\nPUSH 0\nNEWPAGE\nPUSH 0\nNEWPAGE\nNUMKEYS\nHALT");
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    jump_machine(&a);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 4u);
    cr_assert_arr_eq(vm_stack(a), ((vm_word[]){0, 2, 4, 5}), 4 * sizeof(vm_word));
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_eq(m.mem, 4u + 5u, "the stack and 5 key slots");
    jump_machine(&a);
    vm_buf_free(&b);
    /* the second copy's slot 1 (the key to the first copy) is empty: its page goes there */
    b = asm_ok("PUSH 0\nNEWPAGE\nPOP\nFORK\nDUP 0\nPUSH -1\nEQ\nJNZ c1\n"
               "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ c2\n"
               "DUP 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
               "DUP 0\nPOPFROM\nSWAP 0\nPOPFROM\nHALT\n"
               "c1: HALT\nc2: POP\nPUSH 0\nNEWPAGE\nNUMKEYS\nHALT");
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 3u);
    cr_assert_arr_eq(vm_stack(a), ((vm_word[]){1, 2, 1}), 3 * sizeof(vm_word),
                     "k1, the copy's NUMKEYS, the slot of its page");
    jump_machine(&a);
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* What the process, key and page instructions charge (docs/isa.md,
 * "Calibration"): the table's gas, plus 40 per byte of code a new process
 * gets (CREATE, FORK; FORK also 1 per 8 words it copies), 1 per word of a
 * new page, 1 per 2 words of ALLOC. */
Test(proc, key_op_gas_known_answers) {
    struct {
        const char *src;
        int64_t extra; /* gas beyond the table's */
    } cases[] = {
        {"PUSH 3\nNEWPAGE", 3},
        {"PUSH 2\nNEWPAGE\nPUSH 11\nCREATE", 2 + 40 * 11},
        {"PUSH 16\nALLOC", 8},
        {"PUSH 17\nALLOC", 9},
        /* FORK copies 11 bytes of code and 3 words: the stack, the -1 it pushes, a key slot */
        {"PUSH 0\nNEWPAGE\nFORK", 40 * 11 + 1},
        {"PUSH 0\nNEWPAGE\nDROPKEY\nNUMKEYS\nPUSH 0\nKEYINFO\nPUSH 0\nNEWPAGE\nPUSH 3\nATTENUATE",
         0},
    };
    vm_machine *a = vm_machine_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vm_buf b = asm_ok(cases[i].src);
        int64_t want = cases[i].extra;
        for (size_t pc = 0; pc < b.len;) {
            vm_insn in;
            vm_decode(b.data, b.len, pc, &in);
            want += vm_opinfo_of(in.op)->gas;
            pc += in.len;
        }
        vm_load(a, b.data, b.len);
        vm_status s = vm_run(a);
        cr_assert_eq(s, VM_HALTED, "%s: %s", cases[i].src, vm_status_name(s));
        vm_meters m;
        vm_meters_get(a, &m);
        cr_assert_eq((int64_t)m.gas, want, "%s: gas %lu, want %ld", cases[i].src,
                     (unsigned long)m.gas, (long)want);
        vm_buf_free(&b);
    }
    vm_machine_free(a);
}

/* ---- calls between native processes (KCALL) ---- */

/* The root forks a server (key 0) and a client (key 1), gives the client a
 * call key to the server (its key 0), runs the server to its first stop,
 * then `mid`, then the client, and ends with the client's RECURSE status and
 * its top three words: root stack 0 1 status w0 w1 w2 (w0 its top). */
static vm_buf kcall_prog(const char *server, const char *mid, const char *client) {
    char src[4096];
    snprintf(src, sizeof src,
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ server\n"
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ client\n"
             "PUSH 1\nPUSH 0\nTRANSFERKEY\nPOP\n"
             "PUSH 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
             "%s\n"
             "PUSH 1\nPUSH 100000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\n"
             "PUSH 1\nPOPFROM\nPUSH 1\nPOPFROM\nPUSH 1\nPOPFROM\nHALT\n"
             "server: POP\n%s\n"
             "client: POP\nPOP\n%s\n",
             mid, server, client);
    return asm_ok(src);
}

#define SERVE_DOUBLE "l: YIELD\nDUP 0\nADD\nJMP l"

/* What the callee sees, what the caller gets back, who pays, and the busy,
 * halted, exhausted and destroyed callee (docs/isa.md, "Calls"). */
Test(proc_kcall, known_answers) {
    struct {
        const char *what, *server, *mid, *client;
        vm_word want[4]; /* the client's status, then its top three words */
    } cases[] = {
        {"a call returns the callee's top",
         SERVE_DOUBLE,
         "",
         "PUSH 21\nPUSH 0\nPUSH 500\nKCALL\nHALT",
         {VM_HALTED, 4, VM_YIELDED, 42}},
        {"the callee keeps its state between calls",
         "PUSH 0\nl: YIELD\nADD\nDUP 0\nJMP l",
         "",
         "PUSH 5\nPUSH 0\nPUSH 500\nKCALL\nPOP\nPOP\nPOP\nPUSH 7\nPUSH 0\nPUSH 500\nKCALL\nHALT",
         {VM_HALTED, 4, VM_YIELDED, 12}},
        {"the callee has the gas it is given",
         "l: YIELD\nm: JMP m",
         "",
         "PUSH 21\nPUSH 0\nPUSH 50\nKCALL\nHALT",
         {VM_HALTED, 50, VM_OUT_OF_GAS, 21}},
        {"a halted callee runs nothing",
         "HALT",
         "",
         "PUSH 21\nPUSH 0\nPUSH 500\nKCALL\nHALT",
         {VM_HALTED, 0, VM_HALTED, 0}},
        {"a callee on the chain is busy (a call to oneself)",
         SERVE_DOUBLE,
         "PUSH 1\nPUSH 1\nTRANSFERKEY\nPOP",
         "PUSH 21\nPUSH 1\nPUSH 500\nKCALL\nHALT",
         {VM_HALTED, 0, VM_BUSY, 0}},
        {"a destroyed callee's key is empty",
         SERVE_DOUBLE,
         "PUSH 0\nDROPKEY",
         "PUSH 0\nKEYINFO\nPUSH 21\nPUSH 0\nPUSH 500\nKCALL\nHALT",
         {VM_BAD_KEY, 500, 0, 21}},
        {"no key",
         SERVE_DOUBLE,
         "",
         "PUSH 21\nPUSH 3\nPUSH 500\nKCALL\nHALT",
         {VM_BAD_KEY, 500, 3, 21}},
        {"a process key is not a call key",
         SERVE_DOUBLE,
         "",
         "PUSH 0\nPUSH 1\nNEWPAGE\nPUSH 1\nCREATE\nPUSH 500\nKCALL\nHALT",
         {VM_BAD_KEY, 500, 2, 0}},
        {"without the call right",
         SERVE_DOUBLE,
         "",
         "PUSH 0\nPUSH 0\nATTENUATE\nPUSH 21\nPUSH 0\nPUSH 500\nKCALL\nHALT",
         {VM_BAD_KEY, 500, 0, 21}},
        {"a call key passed on works in the holder's child",
         SERVE_DOUBLE,
         "",
         "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ g\nPUSH 0\nTRANSFERKEY\nPUSH 1\nPUSH 1000\nPUSH 100\n"
         "PUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\nPUSH 1\nPOPFROM\nPUSH 1\nPOPFROM\n"
         "PUSH 1\nPOPFROM\nHALT\ng: POP\nPUSH 4\nPUSH 1\nPUSH 500\nKCALL\nHALT",
         {VM_HALTED, 8, VM_YIELDED, 4}},
    };
    vm_machine *a = vm_machine_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vm_buf b = kcall_prog(cases[i].server, cases[i].mid, cases[i].client);
        vm_load(a, b.data, b.len);
        vm_status s = vm_run(a);
        cr_assert_eq(s, VM_HALTED, "%s: the root %s", cases[i].what, vm_status_name(s));
        cr_assert_eq(vm_depth(a), 6u, "%s", cases[i].what);
        const vm_word *st = vm_stack(a);
        cr_assert_eq(st[2], cases[i].want[0], "%s: the client %s", cases[i].what,
                     vm_status_name((vm_status)st[2]));
        for (int k = 0; k < 3; k++)
            cr_assert_eq(st[5 - k], cases[i].want[3 - k], "%s: word %d is %ld, not %ld",
                         cases[i].what, k, (long)st[5 - k], (long)cases[i].want[3 - k]);
        jump_machine(&a);
        vm_buf_free(&b);
    }
    vm_machine_free(a);
}

/* The caller's chain pays: the callee's gas is charged to the client and the
 * root, and its memory-time to the client at the client's words plus the
 * callee's; the callee's words count in its owner (the root) only. */
Test(proc_kcall, the_caller_pays) {
    vm_buf b = kcall_prog("l: YIELD\nPUSH 100\nALLOC\nPOP\nm: JMP m", "",
                          "PUSH 21\nPUSH 0\nPUSH 1000\nKCALL\nHALT");
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_proc_info root, server, client;
    vm_proc_get(a, 0, &root);
    vm_proc_get(a, 1, &server);
    vm_proc_get(a, 2, &client);
    cr_assert_eq(vm_stack(a)[3], 1000, "the callee used all its gas");
    cr_assert_geq(client.m.gas, 1000 + 180, "the client paid the call and the callee");
    cr_assert_geq(root.m.gas, client.m.gas + server.m.gas - 1000, "the root paid too");
    cr_assert_eq(server.msize, 100u);
    cr_assert_lt(client.words, 100u, "the callee's heap is not the client's");
    cr_assert_geq(root.m.mem, 100u + 16, "the callee's heap counts in its owner");
    /* memory-time: the client paid at least its words plus the callee's 100 */
    cr_assert_geq(client.m.memtime, 100u * 990, "client memtime %lu",
                  (unsigned long)client.m.memtime);
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* A caller whose budget runs out inside a call is suspended there with its
 * callee: the owner's RECURSE of the callee finds it busy, a snapshot keeps
 * the suspended call, refuelling the caller finishes the call, and once the
 * owner destroys the callee the suspended caller stops with BAD_KEY. */
Test(proc_kcall, suspended_busy_and_destroyed) {
    const char *server = "l: YIELD\nPUSH 200\nm: PUSH 1\nSUB\nDUP 0\nJNZ m\nPOP\nDUP 0\nADD\nJMP l";
    const char *caller = "PUSH 21\nPUSH 0\nPUSH 100000\nKCALL\nHALT";
    /* the client has 400 gas: it runs dry inside the call (credit) */
    char src[4096];
    snprintf(src, sizeof src,
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ server\n"
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ client\n"
             "PUSH 1\nPUSH 0\nTRANSFERKEY\nPOP\n"
             "PUSH 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
             "PUSH 1\nPUSH 400\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\n" /* OUT_OF_GAS */
             "PUSH 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\n" /* BUSY */
             "YIELD\n"
             "PUSH 1\nPUSH 100000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\n" /* HALTED */
             "PUSH 1\nPOPFROM\nPUSH 1\nPOPFROM\nPUSH 1\nPOPFROM\nHALT\n"
             "server: POP\n%s\nclient: POP\nPOP\n%s\n",
             server, caller);
    vm_buf b = asm_ok(src);
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    cr_assert_eq(vm_depth(a), 4u);
    cr_assert_arr_eq(vm_stack(a) + 2, ((vm_word[]){VM_OUT_OF_GAS, VM_BUSY}), 2 * sizeof(vm_word));
    vm_proc_info client;
    vm_proc_get(a, 2, &client);
    cr_assert_eq(client.child, 1u, "the client is suspended inside its call of the server");
    jump_machine(&a);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 8u);
    cr_assert_arr_eq(vm_stack(a) + 4, ((vm_word[]){VM_HALTED, 1 + 200 * 4 + 5, VM_YIELDED, 42}),
                     4 * sizeof(vm_word), "the call's gas counts before and after the stop");
    vm_buf_free(&b);
    /* the owner destroys the callee while the client is suspended inside it */
    snprintf(src, sizeof src,
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ server\n"
             "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ client\n"
             "PUSH 1\nPUSH 0\nTRANSFERKEY\nPOP\n"
             "PUSH 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
             "PUSH 1\nPUSH 400\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
             "PUSH 0\nDROPKEY\nYIELD\n"
             "PUSH 1\nPUSH 100000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nHALT\n"
             "server: POP\n%s\nclient: POP\nPOP\n%s\n",
             server, caller);
    b = asm_ok(src);
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    vm_proc_get(a, 2, &client);
    cr_assert_eq(client.child, UINT32_MAX, "the destroyed callee let go of its caller");
    jump_machine(&a);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 1], VM_BAD_KEY);
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* Refuel and resume through calls: a client calls a random server program
 * (in a loop, a few times) under a root that reruns it while it stops for
 * gas (credit or transfer); the host runs the root in random gas chunks,
 * the tree jumping through a snapshot at every stop. The client and the
 * server end as in one uninterrupted run. */
Test(proc_kcall, refuel_and_jump_equal_one_run) {
    uint64_t seed = 2323;
    vm_machine *a = vm_machine_new();
    int checked = 0, inside = 0;
    for (int iter = 0; iter < 1000; iter++) {
        uint8_t code[256];
        size_t n = tu_random_program(&seed, code, sizeof code);
        if (tu_reads_budget(code, n)) continue;
        char hex[1200] = {0}, src[8192];
        size_t h = 0;
        for (size_t k = 0; k < n; k++)
            h += (size_t)snprintf(hex + h, sizeof hex - h, "%s0x%02x", k ? ", " : "", code[k]);
        /* the server: YIELD, then the random code, then back to the YIELD */
        int64_t arg = (int64_t)tu_below(&seed, 20) - 5;
        snprintf(
            src, sizeof src,
            "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ server\n"
            "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ client\n"
            "PUSH 1\nPUSH 0\nTRANSFERKEY\nPOP\n"
            "PUSH 0\nPUSH 1000\nPUSH 100\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\nYIELD\n"
            "r: PUSH 1\nPUSH 100000\nPUSH 100000\nPUSH -1\nRECURSE %d\nPOP\nPOP\nPOP\n"
            "PUSH 3\nEQ\nJNZ r\nHALT\n"
            "server: POP\nl: YIELD\n.byte %s\nJMP l\n"
            "client: POP\nPOP\nPUSH 3\nTIMES\nPUSH %ld\nPUSH 0\nPUSH 300\nKCALL\nCLOSE\nHALT\n",
            (int)tu_below(&seed, 2), hex, (long)arg);
        vm_buf b = asm_ok(src);
        vm_limits l = {.gas = 10000000, .mem = 10000000};
        vm_load(a, b.data, b.len);
        vm_set_limits(a, &l);
        cr_assert_eq(vm_run(a), VM_YIELDED, "iteration %d", iter);
        cr_assert_eq(vm_run(a), VM_HALTED, "iteration %d", iter);
        pstate want[3], got[3];
        for (uint32_t id = 1; id < 3; id++)
            pcapture(a, id, &want[id]);
        /* again, from the YIELD on in chunks of 1 to 400 gas */
        vm_load(a, b.data, b.len);
        vm_set_limits(a, &l);
        cr_assert_eq(vm_run(a), VM_YIELDED, "iteration %d", iter);
        bool jump = tu_below(&seed, 2);
        vm_status st;
        int rounds = 0;
        do {
            vm_meters m;
            vm_meters_get(a, &m);
            l.gas = m.gas + 1 + tu_below(&seed, 400); /* RECURSE 40 and KCALL 180 */
            vm_set_limits(a, &l);
            st = vm_run(a);
            vm_proc_info ci;
            vm_proc_get(a, 2, &ci);
            inside += st == VM_OUT_OF_GAS && ci.child != UINT32_MAX;
            if (jump) jump_machine(&a);
        } while (st == VM_OUT_OF_GAS && rounds++ < 100000);
        cr_assert_eq(st, VM_HALTED, "iteration %d: %s", iter, vm_status_name(st));
        for (uint32_t id = 1; id < 3; id++) { /* the root's reruns differ */
            pcapture(a, id, &got[id]);
            cr_assert_eq(got[id].status, want[id].status, "iteration %d, process %u", iter, id);
            cr_assert_eq(got[id].ip, want[id].ip, "iteration %d, process %u", iter, id);
            cr_assert_eq(got[id].depth, want[id].depth, "iteration %d, process %u", iter, id);
            cr_assert_eq(got[id].msize, want[id].msize, "iteration %d, process %u", iter, id);
            cr_assert_eq(got[id].memtime, want[id].memtime, "iteration %d, process %u", iter, id);
            cr_assert_eq(got[id].gas, want[id].gas, "iteration %d, process %u", iter, id);
        }
        vm_buf_free(&b);
        checked++;
    }
    cr_assert_gt(checked, 500, "only %d programs checked", checked);
    cr_assert_gt(inside, 80, "the client was suspended inside a call only %d times", inside);
    vm_machine_free(a);
}

/* ---- channels ---- */

Test(proc, channels_in_and_out) {
    vm_buf b = asm_ok("l: PUSH 0\nIN\nDUP 0\nADD\nPUSH 1\nOUT\nJMP l");
    vm_machine *a = vm_machine_new();
    int in = vm_chan_new(a, 4), out = vm_chan_new(a, 2);
    vm_load(a, b.data, b.len);
    vm_grant_chan(a, (uint32_t)in, VM_RIGHT_READ);
    vm_grant_chan(a, (uint32_t)out, VM_RIGHT_WRITE);
    vm_chan_write(a, (uint32_t)in, 5);
    vm_chan_write(a, (uint32_t)in, 6);
    vm_chan_write(a, (uint32_t)in, 7);
    cr_assert_eq(vm_run(a), VM_CHANNEL_FULL, "two results fill the output");
    vm_word w;
    cr_assert_eq(vm_chan_read(a, (uint32_t)out, &w), 0);
    cr_assert_eq(w, 10);
    cr_assert_eq(vm_run(a), VM_CHANNEL_EMPTY, "the third result goes out, then it waits");
    cr_assert_eq(vm_chan_read(a, (uint32_t)out, &w), 0);
    cr_assert_eq(w, 12);
    cr_assert_eq(vm_chan_read(a, (uint32_t)out, &w), 0);
    cr_assert_eq(w, 14);
    vm_chan_write(a, (uint32_t)in, 1);
    cr_assert_eq(vm_run(a), VM_CHANNEL_EMPTY);
    cr_assert_eq(vm_chan_read(a, (uint32_t)out, &w), 0);
    cr_assert_eq(w, 2);
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* ---- the shipped examples ---- */

static vm_machine *run_example(const char *file, const vm_word *in, int nin, const vm_limits *l) {
    vm_buf code = {0};
    cr_assert_eq(tu_load_program(file, &code), 0, "cannot load %s", file);
    vm_machine *a = vm_machine_new();
    vm_load(a, code.data, code.len);
    vm_set_limits(a, l);
    for (int i = 0; i < nin; i++)
        vm_push(a, in[i]);
    vm_run(a);
    vm_buf_free(&code);
    return a;
}

Test(examples, rarvm_sandbox) {
    vm_machine *a = run_example("examples/sandbox.s", (vm_word[]){41}, 1, &(vm_limits){0});
    cr_assert_eq(vm_status_get(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 2u);
    cr_assert_eq(vm_stack(a)[0], VM_HALTED, "the child halted");
    cr_assert_eq(vm_stack(a)[1], 42, "f(41) = 42");
    vm_proc_info c;
    vm_proc_get(a, 1, &c);
    cr_assert_eq(c.lim.gas, 50u);
    cr_assert_eq(c.lim.mem, 50u);
    vm_machine_free(a);
}

Test(examples, rarvm_sandbox_recursive) {
    for (vm_word depth = 0; depth <= 6; depth++) {
        vm_machine *a = run_example("examples/sandbox_rec.s", (vm_word[]){41, depth}, 2,
                                    &(vm_limits){.gas = 100000});
        cr_assert_eq(vm_status_get(a), VM_HALTED, "depth %ld", (long)depth);
        cr_assert_eq(vm_depth(a), 4u);
        cr_assert_arr_eq(vm_stack(a), ((vm_word[]){41, depth, 42, 1}), 4 * sizeof(vm_word),
                         "depth %ld: f(41) = 42, every level halted", (long)depth);
        cr_assert_eq(vm_nprocs(a), (uint32_t)depth + 1, "one sandbox per level");
        vm_machine_free(a);
    }
}

/* Deeper than the nesting limit, the deepest RECURSE stops with NEST_LIMIT
 * and every level above passes that status up: no made-up answer. */
Test(examples, rarvm_sandbox_recursive_reports_the_nesting_limit) {
    for (uint32_t nest = 8; nest <= 80; nest += 72) {
        vm_machine *a = run_example("examples/sandbox_rec.s", (vm_word[]){41, 70}, 2,
                                    &(vm_limits){.gas = 1000000, .nest = nest});
        cr_assert_eq(vm_status_get(a), VM_HALTED);
        cr_assert_eq(vm_depth(a), 4u);
        vm_word want[] = {41, 70, nest > 70 ? 42 : VM_NEST_LIMIT, nest > 70};
        cr_assert_arr_eq(vm_stack(a), want, sizeof want, "nest %u: %ld %ld", nest,
                         (long)vm_stack(a)[2], (long)vm_stack(a)[3]);
        vm_machine_free(a);
    }
}

/* CREATE, RECURSE, DROPKEY for ever (rarVM's `while: yield f<50,50>(x)`):
 * the child's slot is reused, so 100,000 rounds run in constant memory. */
Test(examples, rarvm_sandbox_loop) {
    vm_machine *a = run_example("examples/sandbox_loop.s", (vm_word[]){0, 100000}, 2,
                                &(vm_limits){.gas = 200000000});
    cr_assert_eq(vm_status_get(a), VM_HALTED, "%s", vm_status_name(vm_status_get(a)));
    cr_assert_eq(vm_depth(a), 3u);
    cr_assert_arr_eq(vm_stack(a), ((vm_word[]){100000, 0, 1}), 3 * sizeof(vm_word),
                     "f applied 100,000 times, every child halted");
    cr_assert_eq(vm_nprocs(a), 2u, "one child slot, reused");
    vm_proc_info r;
    vm_proc_get(a, 0, &r);
    cr_assert_eq(r.nkeys, 2u, "the code page and the child's slot");
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_eq(m.mem, 3u + 2u + 2u, "the stack, 2 key slots, the 2-word page");
    vm_machine_free(a);
}

Test(examples, keyvm_replicator) {
    const uint64_t budget = 20000000;
    vm_machine *a =
        run_example("examples/replicator.s", NULL, 0, &(vm_limits){.gas = budget, .mem = 1 << 20});
    cr_assert_eq(vm_status_get(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 1], 0, "every copy halted");
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_leq(m.gas, budget, "the tree never spends more than the root had");
    uint32_t n = vm_nprocs(a), depth = 0;
    uint64_t child_gas = 0;
    for (uint32_t id = 1; id < n; id++) {
        vm_proc_info pi;
        vm_proc_get(a, id, &pi);
        cr_assert(pi.live);
        uint32_t d = 0;
        for (uint32_t p = id; p != UINT32_MAX; d++) {
            vm_proc_info q;
            vm_proc_get(a, p, &q);
            p = q.parent;
        }
        if (d - 1 > depth) depth = d - 1;
        if (pi.parent == 0) child_gas += pi.m.gas;
    }
    cr_assert_gt(n, 20u, "a binary tree of copies: %u processes", n);
    cr_assert_geq(depth, 4u);
    cr_assert_leq(child_gas, m.gas, "children's gas is part of the root's");
    cr_assert_eq(n % 2, 1u, "every replicating process makes exactly two copies");
    vm_machine_free(a);
}

/* examples/replicator_graph.s: the replicator that hands out
 * call keys at random. Every copy halts within the budget, and call keys
 * cross the tree: held below the callee's owner, but not only by its
 * siblings (inherited by FORK copies). `frugal inspect --dot` of the tree
 * draws them dashed. */
Test(examples, keyvm_replicator_graph) {
    const uint64_t budget = 20000000;
    vm_machine *a = run_example("examples/replicator_graph.s", NULL, 0,
                                &(vm_limits){.gas = budget, .mem = 1 << 20});
    cr_assert_eq(vm_status_get(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 1], 0, "every copy halted");
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_leq(m.gas, budget, "the tree never spends more than the root had");
    uint32_t n = vm_nprocs(a), calls = 0, cross = 0;
    for (uint32_t id = 1; id < n; id++) {
        vm_proc_info pi;
        vm_proc_get(a, id, &pi);
        for (uint32_t k = 0; k < pi.nkeys; k++) {
            vm_key_kind kind;
            unsigned rights;
            uint32_t obj;
            vm_key_get(a, id, k, &kind, &rights, &obj);
            if (kind != VM_KEY_CALL) continue;
            vm_proc_info ci;
            vm_proc_get(a, obj, &ci);
            calls++;
            cross += ci.parent != pi.parent; /* not a sibling's: an uncle's or further */
        }
    }
    cr_assert_gt(n, 20u, "a tree of copies: %u processes", n);
    cr_assert_gt(calls, n / 4, "%u call keys among %u processes", calls, n);
    cr_assert_gt(cross, 0u, "no call key crosses more than one level");
    vm_buf img = {0};
    cr_assert_eq(vm_snapshot_save(a, &img), 0);
    FILE *f = fopen("build/test-replicator-graph.snap", "wb");
    cr_assert(f && fwrite(img.data, 1, img.len, f) == img.len && fclose(f) == 0);
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s inspect build/test-replicator-graph.snap --dot", frugal);
    char *dot = tu_run_cmd(cmd);
    uint32_t dashed = 0;
    for (const char *q = dot; (q = strstr(q, "[style=dashed")); q++)
        dashed++;
    cr_assert_eq(dashed, calls, "the graph draws every call key:\n%s", dot);
    free(dot);
    vm_buf_free(&img);
    vm_machine_free(a);
}

/* ---- EVM processes in the tree ---- */

typedef struct {
    uint8_t c[4096];
    size_t n;
} ebuf;

static void eb(ebuf *b, int n, ...) {
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        b->c[b->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}

/* A random EVM program: a loop with memory, storage and hashing work,
 * calls to precompiled contracts, a call to itself (the process's own address) while the calldata's
 * depth counter is below D, sometimes an INVALID, then RETURN of one word. */
static size_t evm_random(uint64_t *s, uint8_t *out) {
    ebuf b = {0};
    eb(&b, 2, EVM_OP_PUSH0, EVM_OP_CALLDATALOAD);        /* d */
    eb(&b, 2, EVM_OP_PUSH1, (int)(1 + tu_below(s, 12))); /* d k */
    size_t loop = b.n;
    eb(&b, 1, EVM_OP_JUMPDEST);
    for (int i = 0, m = 1 + (int)tu_below(s, 5); i < m; i++) {
        int off = (int)tu_below(s, 200), v = (int)tu_below(s, 256);
        switch (tu_below(s, 7)) {
        case 5: { /* a precompiled contract on memory: ecrecover, SHA-256, identity, modexp */
            static const int ids[] = {1, 2, 4, 5};
            eb(&b, 8, EVM_OP_PUSH1, 32, EVM_OP_PUSH1, 0, EVM_OP_PUSH1, off, EVM_OP_PUSH1, v & 0x7f);
            eb(&b, 5, EVM_OP_PUSH1, ids[tu_below(s, 4)], EVM_OP_GAS, EVM_OP_STATICCALL, EVM_OP_POP);
            break;
        }
        case 0: eb(&b, 5, EVM_OP_PUSH1, v, EVM_OP_PUSH1, off, EVM_OP_MSTORE); break;
        case 1: eb(&b, 4, EVM_OP_PUSH1, off, EVM_OP_MLOAD, EVM_OP_POP); break;
        case 2: eb(&b, 5, EVM_OP_PUSH1, v, EVM_OP_PUSH1, off & 3, EVM_OP_SSTORE); break;
        case 3: eb(&b, 4, EVM_OP_PUSH1, off & 3, EVM_OP_SLOAD, EVM_OP_POP); break;
        case 4: eb(&b, 6, EVM_OP_PUSH1, v, EVM_OP_PUSH1, off, EVM_OP_KECCAK256, EVM_OP_POP); break;
        default: /* memory growth far out */
            eb(&b, 5, EVM_OP_PUSH2, 1 + (int)tu_below(s, 8), v, EVM_OP_MLOAD, EVM_OP_POP);
        }
        if (tu_below(s, 40) == 0) eb(&b, 1, EVM_OP_INVALID);
    }
    eb(&b, 6, EVM_OP_PUSH1, 1, EVM_OP_SWAP1, EVM_OP_SUB, EVM_OP_DUP1, EVM_OP_PUSH1);
    eb(&b, 2, (int)loop, EVM_OP_JUMPI);
    eb(&b, 1, EVM_OP_POP); /* d */
    size_t skip_at;
    eb(&b, 6, EVM_OP_PUSH1, 1 + (int)tu_below(s, 3), EVM_OP_DUP2, EVM_OP_LT, EVM_OP_ISZERO,
       EVM_OP_PUSH1);
    skip_at = b.n;
    eb(&b, 2, 0, EVM_OP_JUMPI);
    eb(&b, 6, EVM_OP_DUP1, EVM_OP_PUSH1, 1, EVM_OP_ADD, EVM_OP_PUSH0, EVM_OP_MSTORE);
    eb(&b, 7, EVM_OP_PUSH1, 32, EVM_OP_PUSH0, EVM_OP_PUSH1, 32, EVM_OP_PUSH0, EVM_OP_PUSH0);
    eb(&b, 8, EVM_OP_PUSH4, 0xff, 0xff, 0xff, 0xff, EVM_OP_GAS, EVM_OP_CALL, EVM_OP_POP);
    b.c[skip_at] = (uint8_t)b.n;
    eb(&b, 1, EVM_OP_JUMPDEST);
    eb(&b, 5, EVM_OP_PUSH0, EVM_OP_MLOAD, EVM_OP_ADD, EVM_OP_PUSH0, EVM_OP_MSTORE);
    eb(&b, 4, EVM_OP_PUSH1, 32, EVM_OP_PUSH0, EVM_OP_RETURN);
    memcpy(out, b.c, b.n);
    return b.n;
}

/* A root that makes the EVM process from container bytes as key 1 and runs
 * it with `refuel_loop`, or once with ample credit when gas < 0. */
static void evm_parent(prog *p, const uint8_t *box, size_t n, int mode, int64_t gas, int64_t mtf) {
    make_child(p, box, n, NULL, 0);
    if (gas >= 0) return refuel_loop(p, mode, gas, mtf, 1000000);
    e(p, VM_OP_PUSH, 1);
    e(p, VM_OP_PUSH, 1000000000);
    e(p, VM_OP_PUSH, 1000000);
    e(p, VM_OP_PUSH, -1);
    e(p, VM_OP_RECURSE, 0);
    e(p, VM_OP_HALT, 0);
}

typedef struct {
    pstate s;
    int evm_status;
    uint32_t depth;
    vm_word stack[64];
} estate;

static void ecapture(const vm_machine *a, uint32_t id, estate *s) {
    memset(s, 0, sizeof *s);
    pcapture(a, id, &s->s);
    vm_proc_info pi;
    vm_proc_get(a, id, &pi);
    cr_assert(pi.evm);
    s->evm_status = pi.evm_status;
    const vm_word *st, *heap;
    uint32_t ms;
    vm_proc_memory(a, id, &st, &s->depth, &heap, &ms);
    for (uint32_t i = 0; i < s->depth && i < 64; i++)
        s->stack[i] = st[i];
}

/* Runs code (with calldata) as an EVM child of a native root, to the end;
 * its state in *s. The machine is the caller's to free. */
static vm_machine *run_evm_child(const uint8_t *code, size_t n, const uint8_t *data, size_t nd,
                                 estate *s) {
    uint8_t box[256];
    int bn = vm_evm_make(box, sizeof box, code, n, data, nd, 100000);
    cr_assert_gt(bn, 0);
    prog p = {0};
    evm_parent(&p, box, (size_t)bn, 0, -1, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, p.c, p.n);
    vm_set_limits(a, &(vm_limits){.gas = 10000000, .mem = 10000000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    ecapture(a, descend(a, 1), s);
    return a;
}

Test(proc_evm, result_on_the_stack) {
    /* calldata word + 1, returned */
    static const uint8_t code[] = {EVM_OP_PUSH0, EVM_OP_CALLDATALOAD, EVM_OP_PUSH1,  1,
                                   EVM_OP_ADD,   EVM_OP_PUSH0,        EVM_OP_MSTORE, EVM_OP_PUSH1,
                                   32,           EVM_OP_PUSH0,        EVM_OP_RETURN};
    uint8_t data[32] = {[31] = 41};
    estate s;
    vm_machine *a = run_evm_child(code, sizeof code, data, sizeof data, &s);
    cr_assert_eq(s.s.status, VM_HALTED);
    cr_assert_eq(s.evm_status, EVM_SUCCESS);
    cr_assert_eq(s.depth, 6u, "4 words of return data, its length, the status");
    cr_assert_eq(s.stack[5], EVM_SUCCESS);
    cr_assert_eq(s.stack[4], 32);
    cr_assert_eq((uint64_t)s.stack[3], 42ull << 56, "byte 31 of the word is 42");
    /* the process's gas is the EVM gas used: 2+3+3+3+2+3+3(memory)+3+2 */
    cr_assert_eq(s.s.gas, 24u);
    cr_assert_gt(s.s.memtime, 0u);
    /* the root's RECURSE saw the same */
    const vm_word *st, *heap;
    uint32_t depth, ms;
    vm_proc_memory(a, 0, &st, &depth, &heap, &ms);
    cr_assert_eq(st[depth - 4], VM_HALTED);
    cr_assert_eq(st[depth - 3], 24);
    vm_machine_free(a);
}

/* A precompiled contract's gas is the process's gas like any instruction's:
 * SHA-256 of "abc", then an alt_bn128 addition of a point off the curve
 * (which consumes the 5000 gas forwarded to it); the process's gas equals
 * the gas the same transaction uses in a standalone evm_memhost. */
Test(proc_evm, precompile_gas_is_the_process_gas) {
    static const uint8_t code[] = {EVM_OP_PUSH3,
                                   'a',
                                   'b',
                                   'c',
                                   EVM_OP_PUSH0,
                                   EVM_OP_MSTORE,
                                   EVM_OP_PUSH1,
                                   32,
                                   EVM_OP_PUSH0,
                                   EVM_OP_PUSH1,
                                   3,
                                   EVM_OP_PUSH1,
                                   29,
                                   EVM_OP_PUSH1,
                                   2,
                                   EVM_OP_GAS,
                                   EVM_OP_STATICCALL,
                                   EVM_OP_POP,
                                   EVM_OP_PUSH1,
                                   64,
                                   EVM_OP_PUSH0,
                                   EVM_OP_PUSH1,
                                   128,
                                   EVM_OP_PUSH0,
                                   EVM_OP_PUSH1,
                                   6,
                                   EVM_OP_PUSH2,
                                   0x13,
                                   0x88,
                                   EVM_OP_STATICCALL,
                                   EVM_OP_POP,
                                   EVM_OP_PUSH1,
                                   32,
                                   EVM_OP_PUSH0,
                                   EVM_OP_RETURN};
    /* standalone */
    evm_vm *vm = evm_vm_new();
    evm_memhost *h = evm_memhost_new(vm);
    evm_address self = {{[16] = 0xff, [17] = 0xff, [18] = 0xff, [19] = 0xff}};
    evm_memhost_set_code(h, &self, code, sizeof code);
    evm_memhost_begin_tx(h, &self, 1);
    evm_message m = {.kind = EVM_CALL_CALL, .gas = 100000, .recipient = self, .code_address = self};
    evm_result r;
    cr_assert_eq(evm_memhost_transact(h, &m, &r), EVM_SUCCESS);
    int64_t used = m.gas - r.gas_left;
    cr_assert_eq(r.output_size, 32u);
    cr_assert_eq(r.output[0], 0xba, "SHA-256(abc) starts ba7816bf");
    cr_assert_gt(used, 5000 + 72);
    evm_memhost_free(h);
    evm_vm_free(vm);
    /* in the tree */
    estate s;
    vm_machine *a = run_evm_child(code, sizeof code, NULL, 0, &s);
    cr_assert_eq(s.evm_status, EVM_SUCCESS);
    cr_assert_eq((uint64_t)s.stack[0], 0xeacf018fbf1678baull, "the first 8 bytes of the hash");
    cr_assert_eq(s.s.gas, (uint64_t)used, "process gas %lu, EVM gas used %lld",
                 (unsigned long)s.s.gas, (long long)used);
    vm_machine_free(a);
}

/* The property: an EVM child suspended at many points (its own budget, an
 * ancestor's credit, memory-time) and resumed ends exactly as one ample run:
 * the same EVM status and result, gas and memory-time. mode: RECURSE's
 * resource model (0 credit, 1 transfer: then no ancestor can run dry while
 * the child runs, so the root is never stopped inside it). */
static void evm_property(int mode, int memtime, uint64_t seed0, int count, bool jump) {
    uint64_t seed = seed0;
    vm_machine *a = vm_machine_new();
    int checked = 0, nested = 0, failed = 0;
    for (int iter = 0; iter < count; iter++) {
        uint8_t code[2048], box[2100];
        size_t cn = evm_random(&seed, code);
        int n = vm_evm_make(box, sizeof box, code, cn, NULL, 0, 3000 + tu_below(&seed, 150000));
        cr_assert_gt(n, 0);
        static prog p;
        p = (prog){0};
        evm_parent(&p, box, (size_t)n, 0, -1, 0);
        vm_load(a, p.c, p.n);
        vm_set_limits(a, &(vm_limits){.gas = 2000000000, .mem = 10000000});
        cr_assert_eq(vm_run(a), VM_HALTED);
        estate want;
        ecapture(a, descend(a, 1), &want);
        cr_assert_eq(want.s.status, VM_HALTED);
        failed += want.evm_status != EVM_SUCCESS;

        int64_t mt = memtime ? (int64_t)(20 + tu_below(&seed, 400)) : -1;
        p = (prog){0};
        evm_parent(&p, box, (size_t)n, mode, 1 + tu_below(&seed, 300), mt);
        vm_load(a, p.c, p.n);
        /* growing chunks: an exceptional halt consumes all the frame's gas at once */
        vm_status st = refuel_root(&a, &seed, 500, 100, jump, NULL, &nested);
        cr_assert_eq(st, VM_HALTED, "iteration %d: the root ended %s", iter, vm_status_name(st));
        estate got;
        ecapture(a, descend(a, 1), &got);
        cr_assert_eq(got.evm_status, want.evm_status, "iteration %d: EVM status %d, alone %d", iter,
                     got.evm_status, want.evm_status);
        cr_assert_eq(got.s.gas, want.s.gas, "iteration %d: gas %lu, alone %lu", iter,
                     (unsigned long)got.s.gas, (unsigned long)want.s.gas);
        cr_assert_eq(got.s.memtime, want.s.memtime, "iteration %d: memtime %lu, alone %lu", iter,
                     (unsigned long)got.s.memtime, (unsigned long)want.s.memtime);
        cr_assert_eq(got.depth, want.depth, "iteration %d: result words", iter);
        cr_assert_arr_eq(got.stack, want.stack, sizeof got.stack, "iteration %d: result", iter);
        checked++;
    }
    cr_assert_eq(checked, count);
    if (mode == 1)
        cr_assert_eq(nested, 0, "transfer: the root stopped inside its EVM child");
    else
        cr_assert_gt(nested, 0, "never suspended inside a nested EVM frame");
    cr_assert_gt(failed, 0, "no EVM failure among the programs");
    cr_assert_lt(failed, count, "every program failed");
    vm_machine_free(a);
}

Test(proc_evm, suspend_resume_credit) {
    evm_property(0, 0, 101, 150, false);
}
Test(proc_evm, suspend_resume_memtime) {
    evm_property(0, 1, 202, 150, false);
}
Test(proc_evm, suspend_resume_transfer) {
    evm_property(1, 0, 505, 150, false);
}

/* ---- snapshots of EVM processes (format v2) ---- */

/* The same property with a jump at every stop: each time the root stops,
 * its tree (the EVM child in any nested frame, its private world) is saved,
 * restored in a fresh machine, saved again to the same bytes, and continued
 * there; it ends exactly as one ample run. */
Test(snapshot_evm, jump_at_every_stop_credit) {
    evm_property(0, 0, 303, 100, true);
}
Test(snapshot_evm, jump_at_every_stop_memtime) {
    evm_property(0, 1, 404, 100, true);
}

/* An image of a tree whose EVM child is suspended inside a nested frame,
 * with storage, memory, return data and journal entries. */
static vm_buf evm_sample(void) {
    uint64_t seed = 77;
    for (int tries = 0; tries < 1000; tries++) {
        uint8_t code[2048], box[2100];
        size_t cn = evm_random(&seed, code);
        int n = vm_evm_make(box, sizeof box, code, cn, NULL, 0, 100000);
        static prog p;
        p = (prog){0};
        evm_parent(&p, box, (size_t)n, 0, 1 + tu_below(&seed, 300), -1);
        vm_machine *a = vm_machine_new();
        vm_load(a, p.c, p.n);
        vm_limits l = {.gas = 1, .mem = 10000000};
        for (int k = 0; k < 400; k++) {
            vm_set_limits(a, &l);
            if (vm_run(a) != VM_OUT_OF_GAS) break;
            vm_proc_info pi;
            vm_proc_get(a, 0, &pi);
            if (pi.child != UINT32_MAX && vm_evm_frames(a->procs[pi.child]) > 1) {
                vm_buf b = {0};
                cr_assert_eq(vm_snapshot_save(a, &b), 0);
                vm_machine_free(a);
                return b;
            }
            l.gas += 1 + tu_below(&seed, 200);
        }
        vm_machine_free(a);
    }
    cr_assert_fail("no program stopped inside a nested EVM frame");
    return (vm_buf){0};
}

Test(snapshot_evm, sample_is_version_5) {
    vm_buf img = evm_sample();
    cr_assert_eq(img.data[8], 5, "format version");
    vm_buf_free(&img);
}

/* An image written by the version 3 writer (examples/evm_calls.s
 * stopped at 29000 gas: a native root whose EVM children call each other)
 * loads and ends as one uninterrupted run: status, gas, stack. */
Test(snapshot_evm, reads_version_3) {
    vm_buf v3 = {0}, src = {0}, code = {0};
    cr_assert_eq(tu_read_file("tests/data/calls-v3.snap", &v3), 0);
    cr_assert_eq(v3.data[8], 3);
    vm_machine *a = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(a, v3.data, v3.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(vm_status_get(a), VM_OUT_OF_GAS);
    vm_set_limits(a, &(vm_limits){.gas = 1000000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(tu_read_file("examples/evm_calls.s", &src), 0);
    cr_assert_eq(
        vm_asm((const char *)src.data, src.len, "evm_calls.s", &code, NULL, err, sizeof err), 0,
        "%s", err);
    vm_machine *whole = vm_machine_new();
    vm_load(whole, code.data, code.len);
    cr_assert_eq(vm_run(whole), VM_HALTED);
    vm_meters m1, m2;
    vm_meters_get(a, &m1);
    vm_meters_get(whole, &m2);
    cr_assert_eq(m1.gas, m2.gas);
    cr_assert_eq(m1.memtime, m2.memtime);
    cr_assert_eq(vm_depth(a), vm_depth(whole));
    cr_assert_arr_eq(vm_stack(a), vm_stack(whole), vm_depth(a) * sizeof(vm_word));
    vm_machine_free(a);
    vm_machine_free(whole);
    vm_buf_free(&v3);
    vm_buf_free(&src);
    vm_buf_free(&code);
}

/* An image written by the version 2 writer (an EVM child stopped inside its
 * nested frame: examples/evm.s at 40000 gas) loads and continues
 * to the same end as one uninterrupted run. */
Test(snapshot_evm, reads_version_2) {
    vm_buf v2 = {0};
    cr_assert_eq(tu_read_file("tests/data/evm-v2.snap", &v2), 0);
    cr_assert_eq(v2.data[8], 2);
    vm_machine *a = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(a, v2.data, v2.len, err, sizeof err), 0, "%s", err);
    cr_assert_gt(vm_evm_frames(a->procs[1]), 1, "stopped inside the nested frame");
    vm_set_limits(a, &(vm_limits){.gas = 1000000, .mem = 10000000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_buf src = {0};
    cr_assert_eq(tu_read_file("examples/evm.s", &src), 0);
    vm_buf code = {0};
    cr_assert_eq(vm_asm((const char *)src.data, src.len, "evm.s", &code, NULL, err, sizeof err), 0,
                 "%s", err);
    vm_machine *whole = vm_machine_new();
    vm_load(whole, code.data, code.len);
    vm_set_limits(whole, &(vm_limits){.gas = 1000000, .mem = 10000000});
    cr_assert_eq(vm_run(whole), VM_HALTED);
    estate x, y;
    ecapture(a, 1, &x);
    ecapture(whole, 1, &y);
    cr_assert_eq(x.evm_status, y.evm_status);
    cr_assert_eq(x.s.gas, y.s.gas);
    cr_assert_eq(x.depth, y.depth);
    cr_assert_arr_eq(x.stack, y.stack, sizeof x.stack);
    vm_machine_free(a);
    vm_machine_free(whole);
    vm_buf_free(&v2);
    vm_buf_free(&src);
    vm_buf_free(&code);
}
Test(snapshot_evm, every_truncation_is_an_error) {
    vm_buf img = evm_sample();
    tu_snapshot_truncations(&img);
    vm_buf_free(&img);
}
Test(snapshot_evm, hostile_content_never_crashes) {
    vm_buf img = evm_sample();
    tu_snapshot_hostile(&img, 5, 20000);
    vm_buf_free(&img);
}

/* ---- EVM calls between processes (call keys; docs/evm.md) ---- */

/* Container bytes into a new page (key `page`), CREATEd as key page + 1. */
static void make_evm(prog *p, const uint8_t *box, size_t n, int page) {
    size_t words = (n + 7) / 8;
    e(p, VM_OP_PUSH, (int64_t)words);
    e(p, VM_OP_NEWPAGE, 0);
    e(p, VM_OP_POP, 0);
    for (size_t i = 0; i < words; i++) {
        uint64_t w = 0;
        for (size_t b = 0; b < 8 && i * 8 + b < n; b++)
            w |= (uint64_t)box[i * 8 + b] << (8 * b);
        e(p, VM_OP_PUSH, (int64_t)w);
        e(p, VM_OP_PUSH, page);
        e(p, VM_OP_PUSH, (int64_t)i);
        e(p, VM_OP_PWRITE, 0);
    }
    e(p, VM_OP_PUSH, page);
    e(p, VM_OP_PUSH, (int64_t)n);
    e(p, VM_OP_CREATE, 0);
    e(p, VM_OP_POP, 0);
}

/* RECURSE child key k with `gas` (ample memory, no memory-time limit). */
static void run_key(prog *p, int k, int64_t gas) {
    e(p, VM_OP_PUSH, k);
    e(p, VM_OP_PUSH, gas);
    e(p, VM_OP_PUSH, 1000000);
    e(p, VM_OP_PUSH, -1);
    e(p, VM_OP_RECURSE, 0);
    for (int i = 0; i < 4; i++)
        e(p, VM_OP_POP, 0);
}

/* Give child key `to` a call key made from key `from`. */
static void give_key(prog *p, int to, int from) {
    e(p, VM_OP_PUSH, to);
    e(p, VM_OP_PUSH, from);
    e(p, VM_OP_TRANSFERKEY, 0);
    e(p, VM_OP_POP, 0);
}

/* The callee: a counter. x = calldata word; v = slot 0 + x, stored unless
 * x is 0; x == 7 reverts after the store; returns v. Its own transaction
 * (calldata 100) sets slot 0 to 100. */
static int counter_box(uint8_t *box, size_t cap) {
    ebuf b = {0};
    eb(&b, 5, EVM_OP_PUSH0, EVM_OP_CALLDATALOAD, EVM_OP_PUSH0, EVM_OP_SLOAD, EVM_OP_ADD);
    eb(&b, 4, EVM_OP_PUSH0, EVM_OP_CALLDATALOAD, EVM_OP_ISZERO, EVM_OP_PUSH1);
    size_t skip = b.n;
    eb(&b, 2, 0, EVM_OP_JUMPI);
    eb(&b, 3, EVM_OP_DUP1, EVM_OP_PUSH0, EVM_OP_SSTORE);
    b.c[skip] = (uint8_t)b.n;
    eb(&b, 1, EVM_OP_JUMPDEST);
    eb(&b, 6, EVM_OP_PUSH0, EVM_OP_CALLDATALOAD, EVM_OP_PUSH1, 7, EVM_OP_EQ, EVM_OP_PUSH1);
    size_t rev = b.n;
    eb(&b, 2, 0, EVM_OP_JUMPI);
    eb(&b, 6, EVM_OP_PUSH0, EVM_OP_MSTORE, EVM_OP_PUSH1, 32, EVM_OP_PUSH0, EVM_OP_RETURN);
    b.c[rev] = (uint8_t)b.n;
    eb(&b, 4, EVM_OP_JUMPDEST, EVM_OP_PUSH0, EVM_OP_PUSH0, EVM_OP_REVERT);
    uint8_t data[32] = {[31] = 100};
    return vm_evm_make(box, cap, b.c, b.n, data, 32, 1000000);
}

/* One call of a caller: opcode, key index, calldata word x (< 256), value. */
typedef struct {
    uint8_t op;
    int key, x, value;
} ecall;

/* A caller: for each call i, mem[0] = x, the call with 32 bytes in and 32
 * out, then its success flag and output word at 64 i + 64 and + 96. Returns
 * the 64 n bytes of results, or reverts with `revert`. With `inner`, the
 * calls run in a nested frame (a call to itself) that then reverts, and the
 * outer frame returns that call's flag and a STATICCALL of key 0 (x = 0). */
static int caller_box(uint8_t *box, size_t cap, const ecall *c, int n, bool revert, bool inner) {
    ebuf b = {0};
    size_t to_outer = 0;
    if (inner) {
        eb(&b, 4, EVM_OP_CALLDATASIZE, EVM_OP_ISZERO, EVM_OP_PUSH1, 0);
        to_outer = b.n - 1;
        eb(&b, 1, EVM_OP_JUMPI);
    }
    for (int i = 0; i < n; i++) {
        int off = 64 + 64 * i;
        eb(&b, 4, EVM_OP_PUSH1, c[i].x, EVM_OP_PUSH0, EVM_OP_MSTORE);
        eb(&b, 4, EVM_OP_PUSH0, EVM_OP_PUSH1, 32, EVM_OP_MSTORE);
        eb(&b, 7, EVM_OP_PUSH1, 32, EVM_OP_PUSH1, 32, EVM_OP_PUSH1, 32, EVM_OP_PUSH0);
        if (c[i].op == EVM_OP_CALL || c[i].op == EVM_OP_CALLCODE)
            eb(&b, 2, EVM_OP_PUSH1, c[i].value);
        eb(&b, 8, EVM_OP_PUSH5, 1, 0, 0, 0, c[i].key, EVM_OP_GAS, c[i].op);
        eb(&b, 4, EVM_OP_PUSH2, off >> 8, off & 0xff, EVM_OP_MSTORE);
        eb(&b, 3, EVM_OP_PUSH1, 32, EVM_OP_MLOAD);
        eb(&b, 4, EVM_OP_PUSH2, (off + 32) >> 8, (off + 32) & 0xff, EVM_OP_MSTORE);
    }
    if (inner) {
        eb(&b, 3, EVM_OP_PUSH0, EVM_OP_PUSH0, EVM_OP_REVERT);
        b.c[to_outer] = (uint8_t)b.n;
        eb(&b, 1, EVM_OP_JUMPDEST);
        /* call itself with one byte of calldata: mem[64] = its flag */
        eb(&b, 7, EVM_OP_PUSH0, EVM_OP_PUSH0, EVM_OP_PUSH1, 1, EVM_OP_PUSH0, EVM_OP_PUSH0,
           EVM_OP_PUSH4);
        eb(&b, 6, 0xff, 0xff, 0xff, 0xff, EVM_OP_GAS, EVM_OP_CALL);
        eb(&b, 3, EVM_OP_PUSH1, 64, EVM_OP_MSTORE);
        eb(&b, 3, EVM_OP_PUSH0, EVM_OP_PUSH0, EVM_OP_MSTORE);
        eb(&b, 7, EVM_OP_PUSH1, 32, EVM_OP_PUSH1, 32, EVM_OP_PUSH1, 32, EVM_OP_PUSH0);
        eb(&b, 8, EVM_OP_PUSH5, 1, 0, 0, 0, 0, EVM_OP_GAS, EVM_OP_STATICCALL);
        eb(&b, 3, EVM_OP_PUSH1, 128, EVM_OP_MSTORE);
        eb(&b, 3, EVM_OP_PUSH1, 32, EVM_OP_MLOAD);
        eb(&b, 3, EVM_OP_PUSH1, 96, EVM_OP_MSTORE);
        eb(&b, 5, EVM_OP_PUSH1, 96, EVM_OP_PUSH1, 64, EVM_OP_RETURN); /* bytes 64..160 */
    } else {
        int size = 64 * n;
        eb(&b, 6, EVM_OP_PUSH2, size >> 8, size & 0xff, EVM_OP_PUSH1, 64,
           revert ? EVM_OP_REVERT : EVM_OP_RETURN);
    }
    return vm_evm_make(box, cap, b.c, b.n, NULL, 0, 1000000);
}

/* Call i's flag and output word (< 256) from a caller's result stack. */
static void call_result(const vm_machine *a, uint32_t id, int i, int *ok, int *val) {
    const vm_word *st, *heap;
    uint32_t depth, ms;
    cr_assert_eq(vm_proc_memory(a, id, &st, &depth, &heap, &ms), 0);
    cr_assert_geq(depth, (uint32_t)(8 * i + 10), "process %u: %u words", id, depth);
    *ok = (int)((uint64_t)st[8 * i + 3] >> 56);
    *val = (int)((uint64_t)st[8 * i + 7] >> 56);
}

static uint32_t key_obj(const vm_machine *a, uint32_t id, uint32_t k) {
    vm_key_kind kind;
    unsigned rights;
    uint32_t obj = UINT32_MAX;
    cr_assert_eq(vm_key_get(a, id, k, &kind, &rights, &obj), 0);
    return obj;
}

static vm_machine *run_prog(const prog *p) {
    vm_machine *a = vm_machine_new();
    vm_load(a, p->c, p->n);
    vm_set_limits(a, &(vm_limits){.gas = 100000000, .mem = 10000000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    return a;
}

/* Q (keys 0, 1) runs its own transaction; then each caller i (keys 2 + 2i,
 * 3 + 2i) gets a call key to Q (its key 0) unless `nokey`, and runs. */
static void scenario(prog *p, const uint8_t (*boxes)[600], const int *lens, int ncallers,
                     bool nokey) {
    uint8_t q[200];
    int qn = counter_box(q, sizeof q);
    cr_assert_gt(qn, 0);
    make_evm(p, q, (size_t)qn, 0);
    run_key(p, 1, 10000000);
    for (int i = 0; i < ncallers; i++) {
        make_evm(p, boxes[i], (size_t)lens[i], 2 + 2 * i);
        if (!nokey) give_key(p, 3 + 2 * i, 1);
        run_key(p, 3 + 2 * i, 10000000);
    }
    e(p, VM_OP_HALT, 0);
}

Test(proc_evm_calls, call_reaches_the_callee_world) {
    static uint8_t boxes[3][600];
    int lens[3];
    /* the failing STATICCALL last: an exceptional halt takes 63/64 of the gas */
    ecall c1[] = {{EVM_OP_CALL, 0, 5, 0},
                  {EVM_OP_CALL, 0, 7, 0},
                  {EVM_OP_STATICCALL, 0, 0, 0},
                  {EVM_OP_DELEGATECALL, 0, 9, 0},
                  {EVM_OP_STATICCALL, 0, 3, 0}};
    ecall c2[] = {{EVM_OP_CALL, 0, 0, 0}};
    lens[0] = caller_box(boxes[0], 600, c1, 5, false, false);
    lens[1] = caller_box(boxes[1], 600, c2, 1, false, false);
    static prog p;
    p = (prog){0};
    scenario(&p, boxes, lens, 2, false);
    vm_machine *a = run_prog(&p);
    uint32_t p1 = key_obj(a, 0, 3), p2 = key_obj(a, 0, 5);
    int ok, v;
    call_result(a, p1, 0, &ok, &v);
    cr_assert(ok && v == 105, "CALL: slot 0 was 100, + 5 (ok %d, %d)", ok, v);
    call_result(a, p1, 1, &ok, &v);
    cr_assert(!ok && v == 0, "the callee reverted (ok %d, %d)", ok, v);
    call_result(a, p1, 2, &ok, &v);
    cr_assert(ok && v == 105, "STATICCALL reads the callee's storage, the revert undone");
    call_result(a, p1, 4, &ok, &v);
    cr_assert(!ok, "a store inside STATICCALL fails");
    call_result(a, p1, 3, &ok, &v);
    cr_assert(ok && v == 9, "DELEGATECALL runs the code on the caller's storage (0 + 9): ok %d, %d",
              ok, v);
    call_result(a, p2, 0, &ok, &v);
    cr_assert(ok && v == 105, "a later transaction sees the change (%d)", v);
    /* the call key: kind call (4), the call right; the owner's key unchanged */
    vm_key_kind kind;
    unsigned rights;
    uint32_t obj;
    cr_assert_eq(vm_key_get(a, p1, 0, &kind, &rights, &obj), 0);
    cr_assert_eq(kind, VM_KEY_CALL);
    cr_assert_eq(rights, VM_RIGHT_CALL);
    cr_assert_eq(obj, key_obj(a, 0, 1));
    cr_assert_eq(vm_key_get(a, 0, 1, &kind, &rights, &obj), 0);
    cr_assert_eq(kind, VM_KEY_PROC);
    cr_assert_eq(rights, VM_RIGHTS_ALL);
    vm_machine_free(a);
}

/* A failing frame undoes what its nested calls did in other worlds: the
 * caller's inner frame calls the counter (+5) and reverts; the outer frame
 * then reads 100. A reverted transaction undoes its calls likewise. */
Test(proc_evm_calls, revert_undoes_other_worlds) {
    static uint8_t boxes[3][600];
    int lens[3];
    ecall c[] = {{EVM_OP_CALL, 0, 5, 0}};
    ecall r[] = {{EVM_OP_STATICCALL, 0, 0, 0}};
    lens[0] = caller_box(boxes[0], 600, c, 1, false, true);
    lens[1] = caller_box(boxes[1], 600, c, 1, true, false);
    lens[2] = caller_box(boxes[2], 600, r, 1, false, false);
    static prog p;
    p = (prog){0};
    scenario(&p, boxes, lens, 3, false);
    vm_machine *a = run_prog(&p);
    int ok, v;
    call_result(a, key_obj(a, 0, 3), 0, &ok, &v);
    cr_assert(!ok, "the inner frame reverted");
    cr_assert_eq(v, 100, "the counter after the inner revert: %d", v);
    const vm_word *st, *heap;
    uint32_t depth, ms;
    vm_proc_memory(a, key_obj(a, 0, 3), &st, &depth, &heap, &ms);
    cr_assert_eq((uint64_t)st[11] >> 56, 1u, "the STATICCALL succeeded");
    cr_assert_eq(st[depth - 1], EVM_SUCCESS);
    vm_proc_memory(a, key_obj(a, 0, 5), &st, &depth, &heap, &ms);
    cr_assert_eq(st[depth - 1], EVM_REVERT, "the second caller's transaction reverted");
    call_result(a, key_obj(a, 0, 7), 0, &ok, &v);
    cr_assert(ok && v == 100, "both reverts undid the +5 (%d)", v);
    vm_machine_free(a);
}

/* Denied: no key, a key to a process that has not finished its own
 * transaction, a call with value (the caller has no balance in its world,
 * and the policy refuses value across worlds). The call fails (0), the
 * caller goes on. */
Test(proc_evm_calls, denied_without_a_usable_key) {
    static uint8_t boxes[3][600];
    int lens[3];
    ecall c[] = {{EVM_OP_CALL, 0, 5, 0},
                 {EVM_OP_CALL, 0, 5, 1},
                 {EVM_OP_CALL, 1, 5, 0},
                 {EVM_OP_STATICCALL, 0, 0, 0}};
    lens[0] = caller_box(boxes[0], 600, c, 4, false, false);
    static prog p;
    p = (prog){0};
    scenario(&p, boxes, lens, 1, true);
    vm_machine *a = run_prog(&p);
    for (int i = 0; i < 4; i++) {
        int ok, v;
        call_result(a, key_obj(a, 0, 3), i, &ok, &v);
        cr_assert(!ok && !v, "no key: call %d failed", i);
    }
    vm_machine_free(a);
    /* with the key: value is refused, key 1 does not exist, the others pass */
    p = (prog){0};
    scenario(&p, boxes, lens, 1, false);
    a = run_prog(&p);
    int want[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        int ok, v;
        call_result(a, key_obj(a, 0, 3), i, &ok, &v);
        cr_assert_eq(ok, want[i], "call %d", i);
    }
    vm_machine_free(a);
    /* the key given before the callee ran: its transaction has not ended */
    p = (prog){0};
    uint8_t q[200];
    int qn = counter_box(q, sizeof q);
    make_evm(&p, q, (size_t)qn, 0);
    make_evm(&p, boxes[0], (size_t)lens[0], 2);
    give_key(&p, 3, 1);
    run_key(&p, 3, 10000000);
    e(&p, VM_OP_HALT, 0);
    a = run_prog(&p);
    int ok, v;
    call_result(a, key_obj(a, 0, 3), 0, &ok, &v);
    cr_assert(!ok, "the callee had not run");
    vm_machine_free(a);
}

/* Process keys stay with owners: TRANSFERKEY of a process key gives a call
 * key, only to an EVM process; a call key cannot RECURSE. */
/* The allow-list is per caller (per process): of two callers running the
 * same four calls (CALL, CALLCODE, DELEGATECALL, STATICCALL) to key 0, the
 * one given a call key to the counter is allowed every kind, the other is
 * denied every kind. */
Test(proc_evm_calls, each_call_kind_per_caller) {
    static uint8_t boxes[2][600];
    ecall c[] = {{EVM_OP_CALL, 0, 5, 0},
                 {EVM_OP_CALLCODE, 0, 0, 0},
                 {EVM_OP_DELEGATECALL, 0, 0, 0},
                 {EVM_OP_STATICCALL, 0, 0, 0}};
    int n = caller_box(boxes[0], 600, c, 4, false, false);
    cr_assert_gt(n, 0);
    uint8_t q[200];
    int qn = counter_box(q, sizeof q);
    static prog p;
    p = (prog){0};
    make_evm(&p, q, (size_t)qn, 0);
    run_key(&p, 1, 10000000);
    make_evm(&p, boxes[0], (size_t)n, 2); /* holds a call key */
    give_key(&p, 3, 1);
    run_key(&p, 3, 10000000);
    make_evm(&p, boxes[0], (size_t)n, 4); /* does not */
    run_key(&p, 5, 10000000);
    e(&p, VM_OP_HALT, 0);
    vm_machine *a = run_prog(&p);
    static const int want[4] = {105, 0, 0, 105}; /* CALLCODE, DELEGATECALL: own slot 0 */
    for (int i = 0; i < 4; i++) {
        int ok, v;
        call_result(a, key_obj(a, 0, 3), i, &ok, &v);
        cr_assert(ok && v == want[i], "holder, call %d: ok %d, %d", i, ok, v);
        call_result(a, key_obj(a, 0, 5), i, &ok, &v);
        cr_assert(!ok && !v, "other caller, call %d: ok %d, %d", i, ok, v);
    }
    vm_machine_free(a);
}

Test(proc_evm_calls, call_keys_do_not_own) {
    static prog nat;
    nat = (prog){0};
    e(&nat, VM_OP_PUSH, 0);
    e(&nat, VM_OP_PUSH, 100);
    e(&nat, VM_OP_PUSH, 100);
    e(&nat, VM_OP_PUSH, -1);
    e(&nat, VM_OP_RECURSE, 0);
    e(&nat, VM_OP_HALT, 0);
    const uint8_t *native = nat.c;
    size_t nn = nat.n;
    uint8_t q[200];
    int qn = counter_box(q, sizeof q);
    static prog p;
    p = (prog){0};
    make_evm(&p, q, (size_t)qn, 0); /* keys 0, 1 */
    make_evm(&p, native, nn, 2);    /* keys 2, 3: native */
    give_key(&p, 3, 1);             /* a call key to the EVM process */
    run_key(&p, 3, 100000);
    e(&p, VM_OP_HALT, 0);
    vm_machine *a = run_prog(&p);
    vm_proc_info pi;
    uint32_t c = key_obj(a, 0, 3);
    vm_proc_get(a, c, &pi);
    cr_assert_eq(pi.status, VM_BAD_KEY, "RECURSE through a call key: %s",
                 vm_status_name(pi.status));
    vm_machine_free(a);
    /* a process key to a native process gives a call key too (for KCALL) */
    p = (prog){0};
    make_evm(&p, native, nn, 0);
    make_evm(&p, native, nn, 2);
    give_key(&p, 3, 1);
    e(&p, VM_OP_HALT, 0);
    a = vm_machine_new();
    vm_load(a, p.c, p.n);
    vm_set_limits(a, &(vm_limits){.gas = 100000000, .mem = 10000000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_key_kind kind;
    unsigned rights;
    uint32_t obj;
    cr_assert_eq(vm_key_get(a, key_obj(a, 0, 3), 0, &kind, &rights, &obj), 0);
    cr_assert(kind == VM_KEY_CALL && rights == VM_RIGHT_CALL && obj == key_obj(a, 0, 1));
    vm_machine_free(a);
}

/* Slots and process ids are reused, call keys are not left stale: the
 * counter Q (key 1) is dropped while caller P1 holds a call key to it, and
 * a new counter R takes Q's slot's neighbour (its page reuses slot 1) and
 * Q's process id. P1's emptied key 0 does not reach R; given a call key to
 * R, P1 has it in slot 0 again, and reaches R. */
Test(proc_evm_calls, freed_slots_and_ids_do_not_reach_new_objects) {
    uint8_t q[200], c[600];
    ecall one[] = {{EVM_OP_CALL, 0, 5, 0}};
    int qn = counter_box(q, sizeof q), cn = caller_box(c, sizeof c, one, 1, false, false);
    static prog p;
    for (int give = 0; give < 2; give++) {
        p = (prog){0};
        make_evm(&p, q, (size_t)qn, 0); /* keys 0, 1: Q */
        run_key(&p, 1, 10000000);
        make_evm(&p, c, (size_t)cn, 2); /* keys 2, 3: P1 */
        give_key(&p, 3, 1);             /* P1's key 0: a call key to Q */
        e(&p, VM_OP_PUSH, 1);
        e(&p, VM_OP_DROPKEY, 0);        /* Q is destroyed, P1's key 0 emptied */
        make_evm(&p, q, (size_t)qn, 1); /* page in slot 1 again, R in slot 4 */
        run_key(&p, 4, 10000000);
        if (give) give_key(&p, 3, 4); /* into P1's lowest empty slot: 0 */
        run_key(&p, 3, 10000000);
        e(&p, VM_OP_HALT, 0);
        vm_machine *a = run_prog(&p);
        uint32_t p1 = key_obj(a, 0, 3), r = key_obj(a, 0, 4);
        cr_assert_eq(r, 1u, "R has Q's process id");
        vm_key_kind kind;
        unsigned rights;
        uint32_t obj;
        cr_assert_eq(vm_key_get(a, 0, 1, &kind, &rights, &obj), 0);
        cr_assert(kind == VM_KEY_PAGE && obj == 2, "Q's old slot holds R's page (page 2)");
        vm_proc_info pi;
        vm_proc_get(a, p1, &pi);
        cr_assert_eq(pi.nkeys, 1u);
        cr_assert_eq(vm_key_get(a, p1, 0, &kind, &rights, &obj), 0);
        cr_assert_eq(kind, give ? VM_KEY_CALL : VM_KEY_NONE);
        int ok, v;
        call_result(a, p1, 0, &ok, &v);
        if (give)
            cr_assert(ok && v == 105, "the new call key reaches R (ok %d, %d)", ok, v);
        else
            cr_assert(!ok, "the emptied slot reaches nothing (ok %d, %d)", ok, v);
        jump_machine(&a); /* and the tree saves and loads */
        vm_machine_free(a);
    }
}

/* Stopped anywhere (the root refuelled in random chunks; every other run
 * moves the tree to a fresh machine at each stop), a tree of the counter and
 * three callers ends exactly as one uninterrupted run: every caller's
 * result, status, gas and memory-time. */
Test(proc_evm_calls, suspend_and_snapshot_anywhere) {
    static uint8_t boxes[3][600];
    int lens[3];
    ecall c0[] = {{EVM_OP_CALL, 0, 1, 0},       {EVM_OP_CALL, 0, 2, 0},
                  {EVM_OP_STATICCALL, 0, 0, 0}, {EVM_OP_DELEGATECALL, 0, 4, 0},
                  {EVM_OP_CALL, 0, 7, 0},       {EVM_OP_CALL, 0, 3, 0}};
    ecall c1[] = {{EVM_OP_CALL, 0, 5, 0}};
    ecall c2[] = {{EVM_OP_STATICCALL, 0, 0, 0}};
    lens[0] = caller_box(boxes[0], 600, c0, 6, false, false);
    lens[1] = caller_box(boxes[1], 600, c1, 1, false, true);
    lens[2] = caller_box(boxes[2], 600, c2, 1, false, false);
    static prog p;
    p = (prog){0};
    scenario(&p, boxes, lens, 3, false);
    vm_machine *a = run_prog(&p);
    estate want[3];
    for (int i = 0; i < 3; i++)
        ecapture(a, key_obj(a, 0, 3 + 2 * (uint32_t)i), &want[i]);
    int ok, v;
    call_result(a, key_obj(a, 0, 7), 0, &ok, &v);
    cr_assert(ok && v == 106, "100 + 1 + 2 + 3: %d", v);
    vm_machine_free(a);
    uint64_t seed = 9;
    int in_call = 0;
    for (int run = 0; run < 40; run++) {
        a = vm_machine_new();
        vm_load(a, p.c, p.n);
        vm_status st = refuel_root(&a, &seed, 3000, 800, run % 2, NULL, &in_call);
        cr_assert_eq(st, VM_HALTED, "run %d: %s", run, vm_status_name(st));
        for (int i = 0; i < 3; i++) {
            estate got;
            ecapture(a, key_obj(a, 0, 3 + 2 * (uint32_t)i), &got);
            cr_assert_eq(got.evm_status, want[i].evm_status, "run %d caller %d", run, i);
            cr_assert_eq(got.s.gas, want[i].s.gas, "run %d caller %d: gas", run, i);
            cr_assert_eq(got.s.memtime, want[i].s.memtime, "run %d caller %d: memtime", run, i);
            cr_assert_eq(got.depth, want[i].depth);
            cr_assert_arr_eq(got.stack, want[i].stack, sizeof got.stack, "run %d caller %d", run,
                             i);
        }
        vm_machine_free(a);
    }
    cr_assert_gt(in_call, 100, "stops inside nested frames: %d", in_call);
}

/* The root runs the counter, then caller P1 (one CALL of +5) with `gas`
 * (so that it stops inside the counter's frame after its store), then
 * `then`. */
static void held_scenario(prog *p, int64_t gas, void (*then)(prog *)) {
    uint8_t q[200], c[600];
    ecall one[] = {{EVM_OP_CALL, 0, 5, 0}};
    int qn = counter_box(q, sizeof q), cn = caller_box(c, sizeof c, one, 1, false, false);
    *p = (prog){0};
    make_evm(p, q, (size_t)qn, 0);
    run_key(p, 1, 10000000);
    make_evm(p, c, (size_t)cn, 2);
    give_key(p, 3, 1);
    run_key(p, 3, gas);
    if (then) then(p);
    e(p, VM_OP_HALT, 0);
}

/* The largest gas for P1 that stops it inside the counter's frame. */
static int64_t gas_inside_callee(void) {
    static prog p;
    int64_t g = 1000;
    for (;; g += 500) { /* the first budget that lets P1 finish */
        held_scenario(&p, g, NULL);
        vm_machine *a = run_prog(&p);
        int st = vm_evm_status(a, key_obj(a, 0, 3));
        vm_machine_free(a);
        if (st >= 0) break;
        cr_assert_lt(g, 2000000);
    }
    for (;; g--) { /* down to the last stop inside the callee's frame */
        held_scenario(&p, g, NULL);
        vm_machine *a = run_prog(&p);
        int frames = vm_evm_frames(a->procs[key_obj(a, 0, 3)]);
        vm_machine_free(a);
        if (frames > 1) return g;
        cr_assert_gt(g, 1000);
    }
}

/* reader P2: a STATICCALL of the counter (x = 0) */
static void read_as(prog *p, int page) {
    uint8_t c[600];
    ecall r[] = {{EVM_OP_STATICCALL, 0, 0, 0}};
    int cn = caller_box(c, sizeof c, r, 1, false, false);
    make_evm(p, c, (size_t)cn, page);
    give_key(p, page + 1, 1);
    run_key(p, page + 1, 10000000);
}
static void then_read_finish_read(prog *p) {
    read_as(p, 4);           /* P2 while P1 holds the counter's world */
    run_key(p, 3, 10000000); /* P1 ends */
    read_as(p, 6);           /* P3 after */
}
static void then_drop_callee(prog *p) {
    e(p, VM_OP_PUSH, 1);
    e(p, VM_OP_DROPKEY, 0);
}
static void then_drop_callee_run(prog *p) {
    then_drop_callee(p);
    run_key(p, 3, 10000000);
}
static void then_drop_caller_read(prog *p) {
    e(p, VM_OP_PUSH, 3);
    e(p, VM_OP_DROPKEY, 0);
    read_as(p, 3); /* its page reuses the emptied slot 3, the reader is key 4 */
}

/* A transaction holds each world it calls until it ends: another
 * transaction's call to it fails meanwhile and passes after. Destroying the
 * callee aborts the holder (EVM_INTERNAL_ERROR, its call key cleared);
 * destroying the holder undoes its changes in the callee and frees it. */
Test(proc_evm_calls, held_worlds_locks_and_aborts) {
    int64_t g = gas_inside_callee();
    static prog p;
    int ok, v;
    held_scenario(&p, g, then_read_finish_read);
    vm_machine *a = run_prog(&p);
    call_result(a, key_obj(a, 0, 5), 0, &ok, &v);
    cr_assert(!ok, "the counter's world is held by P1");
    call_result(a, key_obj(a, 0, 3), 0, &ok, &v);
    cr_assert(ok && v == 105, "P1 resumed inside the counter and ended (%d)", v);
    call_result(a, key_obj(a, 0, 7), 0, &ok, &v);
    cr_assert(ok && v == 105, "released after P1 ended (%d)", v);
    vm_machine_free(a);

    held_scenario(&p, g, then_drop_callee);
    a = run_prog(&p);
    uint32_t p1 = key_obj(a, 0, 3);
    cr_assert_gt(vm_evm_frames(a->procs[p1]), 1, "aborted, its frames kept until it runs");
    vm_key_kind kind;
    unsigned rights;
    uint32_t obj;
    cr_assert_eq(vm_key_get(a, p1, 0, &kind, &rights, &obj), 0);
    cr_assert_eq(kind, VM_KEY_NONE, "the call key went with the callee");
    jump_machine(&a); /* an aborted transaction saves and loads */
    vm_machine_free(a);

    held_scenario(&p, g, then_drop_callee_run);
    a = run_prog(&p);
    p1 = key_obj(a, 0, 3);
    cr_assert_eq(vm_evm_status(a, p1), EVM_INTERNAL_ERROR);
    const vm_word *st, *heap;
    uint32_t depth, ms;
    vm_proc_memory(a, p1, &st, &depth, &heap, &ms);
    cr_assert_eq(depth, 2u, "no data, length 0, the status");
    cr_assert_eq(st[1], EVM_INTERNAL_ERROR);
    jump_machine(&a);
    vm_machine_free(a);

    held_scenario(&p, g, then_drop_caller_read);
    a = run_prog(&p);
    call_result(a, key_obj(a, 0, 4), 0, &ok, &v);
    cr_assert(ok && v == 100, "P1's +5 undone and the world freed (ok %d, %d)", ok, v);
    vm_machine_free(a);
}

/* An image holding a transaction inside another process's world: every
 * truncation is an error, and hostile edits never crash. */
static vm_buf calls_sample(void) {
    static prog p;
    held_scenario(&p, gas_inside_callee(), NULL);
    vm_machine *a = run_prog(&p);
    vm_buf b = {0};
    cr_assert_eq(vm_snapshot_save(a, &b), 0);
    vm_machine_free(a);
    return b;
}
Test(proc_evm_calls, bad_images) {
    vm_buf img = calls_sample();
    tu_snapshot_truncations(&img);
    tu_snapshot_hostile(&img, 11, 5000);
    vm_buf_free(&img);
}

/* Channels grow their ring as words arrive: any mix of writes and reads over
 * many seeded capacities keeps first-in first-out order and the capacity
 * limit, a declared capacity of 2^28 words costs nothing until used, and a
 * snapshot of such a channel loads back the same queue. */
Test(proc, channels_grow_as_used) {
    uint64_t seed = 31;
    for (int t = 0; t < 300; t++) {
        vm_machine *a = vm_machine_new();
        cr_assert(a);
        uint32_t cap = 1 + tu_below(&seed, t % 10 == 0 ? 5000 : 70);
        int ch = vm_chan_new(a, cap);
        cr_assert_geq(ch, 0);
        vm_word want[5000];
        uint32_t head = 0, len = 0;
        vm_word next = 1;
        for (int op = 0; op < 3000; op++) {
            if (tu_below(&seed, 100) < 55) {
                int rc = vm_chan_write(a, (uint32_t)ch, next);
                cr_assert_eq(rc, len == cap ? -1 : 0, "cap %u len %u", cap, len);
                if (rc == 0) want[(head + len++) % cap] = next++;
            } else {
                vm_word w = 0;
                int rc = vm_chan_read(a, (uint32_t)ch, &w);
                cr_assert_eq(rc, len == 0 ? -1 : 0);
                if (rc == 0) {
                    cr_assert_eq(w, want[head], "cap %u", cap);
                    head = (head + 1) % cap;
                    len--;
                }
            }
            cr_assert_eq(vm_chan_len(a, (uint32_t)ch), len);
        }
        vm_machine_free(a);
    }
    vm_machine *a = vm_machine_new(), *b = vm_machine_new();
    cr_assert(a && b);
    int big = vm_chan_new(a, 1u << 28);
    cr_assert_geq(big, 0);
    cr_assert_leq(a->chans[big].alloc, 16);
    for (vm_word w = 0; w < 100; w++)
        cr_assert_eq(vm_chan_write(a, (uint32_t)big, w), 0);
    vm_word w;
    for (int i = 0; i < 40; i++)
        cr_assert_eq(vm_chan_read(a, (uint32_t)big, &w), 0);
    vm_buf img = {0};
    char err[256] = "";
    cr_assert_eq(vm_snapshot_save(a, &img), 0);
    cr_assert_eq(vm_snapshot_load(b, img.data, img.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(b->chans[big].cap, 1u << 28);
    cr_assert_leq(b->chans[big].alloc, 128);
    cr_assert_eq(vm_chan_len(b, (uint32_t)big), 60);
    for (vm_word k = 40; k < 100; k++) {
        cr_assert_eq(vm_chan_read(b, (uint32_t)big, &w), 0);
        cr_assert_eq(w, k);
    }
    vm_buf_free(&img);
    vm_machine_free(a);
    vm_machine_free(b);
}
