/* Internal to vm/: the machine layout and the decoded ("threaded") code.
 *
 * vm_load decodes the bytecode twice into one cell array:
 *  - the fast copy: basic blocks, each led by a 4-cell header that carries the
 *    block's total gas, stack need and growth and memory-time coefficient, so
 *    a block is checked and charged once;
 *  - the step copy: every instruction is its own block, used when a block's
 *    check fails (near a limit), when tracing, and to resume mid-block;
 *  - skip variants (VM_UNDERFLOW_SKIP): a fast block rebuilt, on first need,
 *    for one entry depth at which some of its instructions are skipped.
 * Both give exactly the per-instruction result: a block runs in the fast copy
 * only when every one of its instructions could be paid for in advance, and a
 * stop inside a block refunds the rest of it (vm_cold).
 */
#ifndef FRUGAL_VM_IMPL_H
#define FRUGAL_VM_IMPL_H

#include "vm/snapio.h"
#include "vm/vm.h"

typedef union {
    const void *h; /* handler address (computed goto) */
    int64_t i;
    uint64_t u;
    struct {
        uint32_t lo, hi;
    } w;
} vm_cell;

/* An instruction is 2 cells: handler, immediate. A header is 4 cells:
 * handler, packed (gas | need << 32 | grow << 48), mtc, (alt | pc << 32).
 * mtc = sum over the block of cost_j * (stack depth before j - depth at entry). */
#define VM_INS_CELLS    2
#define VM_HDR_CELLS    4
#define VM_NONE         UINT32_MAX
#define VM_BLK_GAS_MAX  0x7fffffffu
#define VM_BLK_WORD_MAX 0xffffu

/* Cold per-slot data (a slot is 2 cells), read only when stopping. */
typedef struct {
    uint32_t pc;       /* bytecode address of the instruction */
    uint32_t gas_rest; /* gas of this instruction and the rest of its block */
    int64_t mtc_rest;  /* memory-time coefficient of the same, relative to this slot */
} vm_cold;

/* A set of free indices (empty key slots, dead process ids) as a binary
 * min-heap: the lowest is reused first, in O(log n), so a freed slot is
 * reused deterministically without scanning. Its capacity is reserved when
 * the indexed table grows, so adding never allocates. */
typedef struct {
    uint32_t *v;
    uint32_t n, cap;
} vm_free_ids;

/* A key: an index into its holder's list names one of these. */
typedef struct {
    uint8_t kind;   /* vm_key_kind */
    uint8_t rights; /* VM_RIGHT_* */
    uint32_t obj;   /* process id, page id or channel id */
} vm_key;

typedef struct {
    vm_word *words;
    uint32_t n, alloc;
    uint32_t owner; /* process whose memory it counts in */
    uint32_t next;  /* the owner's next live page, or VM_NONE */
    bool live;
} vm_page;

/* A channel holds up to cap words in a ring of alloc words, grown as words
 * arrive (a declared capacity costs no memory until it is used). */
typedef struct {
    vm_word *words;
    uint32_t head, len, cap, alloc;
} vm_chan;
/* Make room for n words in c (n <= c->cap), keeping its contents. 0 or -1. */
int vm_chan_reserve(vm_chan *c, uint32_t n);

/* One process. Owned children count in their owner's memory. */
typedef struct vm_proc {
    uint32_t id, parent; /* parent: the owner, VM_NONE for the root */
    bool live;

    /* code and its decoding */
    uint8_t *code;
    uint32_t len, code_cap;
    vm_cell *cells;
    vm_cold *cold;
    uint32_t ncells, cells_cap, cold_cap;
    uint32_t *fast_at, *step_at; /* pc -> header cell index, or VM_NONE */
    uint32_t fast_cap, step_cap;
    int decoded;       /* 0 not yet, 1 metered, 2 unmetered */
    uint32_t fast_end; /* cells of the fast copy; the step copy follows */
    uint32_t var_end;  /* the end of the skip variants, after the step copy's room */
    bool step_ready;   /* the step copy is built (on first need) */
    bool has_blocks;   /* the code holds a TIMES, IF or CLOSE: match_blocks is needed */
    bool reads_seed;   /* the code holds a RAND or a process instruction (vm_reads_seed) */

    /* state */
    vm_word *stack;
    uint32_t depth, stack_alloc;
    vm_word *heap;
    uint32_t msize, heap_alloc;
    uint32_t *calls; /* return addresses, and loop frames (VM_LOOP_TAG) */
    uint32_t ncalls, calls_alloc;
    vm_word *args; /* read-only argument words (ARG), counted like code */
    uint32_t nargs, args_alloc;
    vm_key *keys;
    uint32_t nkeys, keys_alloc;
    vm_free_ids kfree; /* its empty key slots */
    uint32_t pages;    /* the first of the live pages it owns, or VM_NONE */
    uint64_t held;     /* words held besides stack, heap and calls: keys, pages, children */
    uint32_t ip;
    vm_status status;
    vm_limits lim;
    base_rng rng;   /* RAND's stream */
    uint64_t place; /* its place in the tree: seeds its children's streams */
    uint32_t nborn; /* children it has made (CREATE, FORK) */
    uint64_t gas_used, memtime;

    /* inside a RECURSE (or KCALL): the child (callee) running, and its
     * meters at the start */
    uint32_t child;
    uint64_t rec_gas0, rec_mt0;

    /* why the last run stopped on a resource: what the next instruction needs */
    int64_t need_gas, need_grow, need_stack;

    /* calls (docs/isa.md, "Calls"): the process suspended inside a KCALL of
     * it, or VM_NONE; whether a call key to it was ever made (its call keys
     * are cleared when it dies); the supervisor's mark for its owners */
    uint32_t caller;
    bool callable;
    uint64_t mark;

    /* an EVM process (vm/evm_proc.c): its EVM state and words, or NULL, 0 */
    struct vm_evm *evm;
    uint64_t ewords;
} vm_proc;

struct vm_machine {
    vm_proc **procs; /* by id; entries are reused, never moved */
    uint32_t nprocs, procs_alloc;
    vm_free_ids pfree; /* ids of dead processes (never the root) */
    vm_page *pages;
    uint32_t npages, pages_alloc;
    vm_chan *chans;
    uint32_t nchans, chans_alloc;
    uint32_t *chain; /* the running chain, root first */
    uint32_t nchain, chain_alloc;

    /* decoding scratch */
    uint8_t *lead;
    uint32_t lead_cap;
    uint32_t *fix;
    uint32_t fix_cap;
    uint32_t *match; /* block matching: target per pc, then the open blocks */
    uint32_t match_cap;
    vm_insn *ins; /* the code's instructions, decoded once for both copies */
    uint32_t ins_cap;

    /* vm_run_cases (vm/cases.c): its steps, the stack's row names, the live
     * rows, and the rows of a chunk of cases */
    struct vm_cstep *csteps;
    uint32_t csteps_cap;
    uint32_t *cnames;
    uint32_t cnames_cap;
    uint8_t *clive;
    uint32_t clive_cap;
    vm_word *crows;
    uint32_t crows_cap;

    /* SAVECHILD and LOADCHILD: the image, and the machine it is read into,
     * between the instruction's check and its doing */
    vm_buf img;
    struct vm_machine *img_m;

    uint64_t seed;  /* the root's place: every RAND stream derives from it */
    uint64_t epoch; /* the supervisor's last mark */
    vm_trace_fn trace;
    void *trace_ctx;
    vm_interp_clock *interp; /* vm_time_interp */
    bool stepping;
};

#define VM_ROOT 0u
static inline vm_proc *vm_root(const vm_machine *a) {
    return a->procs[VM_ROOT];
}

/* Words a process's subtree holds: the unit of every memory check. */
static inline uint64_t vm_words(const vm_proc *p) {
    return (uint64_t)p->depth + p->msize + p->ncalls + p->held + p->ewords;
}
/* What an owned child adds to its owner's words. */
#define VM_PROC_WORDS 16u
static inline uint64_t vm_footprint(const vm_proc *c) {
    return VM_PROC_WORDS + (c->len + 7u) / 8u + c->nargs + vm_words(c);
}

/* A TIMES loop frame is two call-stack entries, both tagged: the round count
 * below, the current round on top. Return addresses are never tagged (code
 * is at most 2^24 bytes). */
#define VM_LOOP_TAG 0x80000000u
#define VM_LOOP_MAX 0x7fffffffu

/* The budget a process runs under: the tightest along its chain. */
typedef struct {
    int64_t gas;     /* gas it may use */
    int64_t mt;      /* memory-time it may use, counting mt_base extra words */
    int64_t mt_base; /* words of the binding ancestor's subtree outside this process */
    int64_t memcap;  /* most words its subtree may hold */
} vm_budget;

/* Immediate sizes by kind: the size alone tells how to read one. */
#define VM_IMM_SIZE_NONE 0
#define VM_IMM_SIZE_I64  8 /* little-endian word */
#define VM_IMM_SIZE_REL  2 /* little-endian int16 */
#define VM_IMM_SIZE_IDX  1
#define VM_IMM_SIZE_U8   1
#define VM_IMM_SIZE_ARG  1

/* The opcode table (opcodes.c); vm_ilen, each byte's instruction length (0:
 * undefined), is the decoder's: four cache lines instead of the table's. */
extern const vm_opinfo vm_optab[256];
extern const uint8_t vm_ilen[256];

static inline void vm_decode_inline(const uint8_t *code, size_t len, size_t pc, vm_insn *out) {
    unsigned l = vm_ilen[code[pc]];
    out->pc = (uint32_t)pc;
    out->op = code[pc];
    out->imm = 0;
    out->defined = l != 0;
    out->truncated = false;
    unsigned n = l ? l - 1 : 0;
    if (pc + 1 + n > len) {
        out->truncated = true;
        out->len = (uint32_t)(len - pc);
        return;
    }
    out->len = 1 + n;
    const uint8_t *q = code + pc + 1;
    switch (n) {
    case VM_IMM_SIZE_I64: {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; i++)
            v |= (uint64_t)q[i] << (8 * i);
        out->imm = (vm_word)v;
        break;
    }
    case VM_IMM_SIZE_REL: out->imm = (int16_t)(uint16_t)(q[0] | q[1] << 8); break;
    case VM_IMM_SIZE_U8: out->imm = q[0]; break; /* IDX, U8, ARG */
    default: break;
    }
}

/* Internal statuses, never seen by users. */
#define VM_ST_RECURSE ((vm_status)100) /* stopped at RECURSE for the supervisor */

/* interp.c is compiled twice: metered (vm_interp_*) and with metering
 * compiled out (vm_interp_nm_*), for the benchmark's overhead figure. */
int vm_interp_decode(vm_machine *a, vm_proc *p);
vm_status vm_interp_exec(vm_machine *a, vm_proc *p, vm_budget *b, bool stepping);
int vm_interp_nm_decode(vm_machine *a, vm_proc *p);
vm_status vm_interp_nm_exec(vm_machine *a, vm_proc *p, vm_budget *b, bool stepping);

/* proc.c: the key and process instructions, called by the interpreter. Each
 * returns VM_RUNNING on success or the status that stops the process, having
 * changed nothing. *dw is the change in the process's held words. */
vm_status vm_op_keys(vm_machine *a, vm_proc *p, uint8_t op, vm_word *sp, int64_t room, int64_t *dw,
                     int64_t *extra_gas);

/* evm_proc.c: EVM processes. A process whose code is an EVM container
 * (vm_evm_container) is attached EVM state at CREATE; the supervisor runs it
 * by vm_evm_exec under the budget b, which it updates like vm_interp_exec. */
typedef struct vm_evm vm_evm;
bool vm_evm_container(const uint8_t *code, size_t len);
int vm_evm_attach(vm_proc *p);
void vm_evm_free(vm_evm *e);
vm_status vm_evm_exec(vm_machine *a, vm_proc *p, vm_budget *b);
int vm_evm_frames(const vm_proc *p); /* live EVM frames (0 unless running) */
void vm_evm_regions(const vm_proc *p, vm_region_fn fn, void *ctx); /* see vm_proc_regions */
/* p is being destroyed: its transaction, and any transaction holding its
 * world, are aborted (their changes to other worlds undone), and every call
 * key to it is cleared. */
void vm_evm_gone(vm_machine *a, vm_proc *p);
/* Snapshots (format v3; v2 read): an EVM process's state after its native
 * part. Save: 0, or -1 (a state the format cannot hold). Load into a process
 * just attached (vm_evm_attach) whose code is set: 0, -1 with r's error set,
 * or -2 out of memory. vm_evm_check, once every process is loaded, checks
 * the references between worlds: 0, or -1 with r's error set. */
int vm_evm_save(const vm_proc *p, base_wr *w);
/* Process images (docs/snapshot.md, "Process images"): the processes
 * order[0..n-1] (a subtree, its root first) as an image, ids mapped by
 * procmap and pagemap (VM_NONE: outside; a key to it is written empty).
 * 0, or -1 out of memory. vm_image_load reads one into a (its root as
 * process 0) exactly as the snapshot reader does, and refuses processes
 * whose stack, call, nesting or key limits pass cap's: 0, or -1 with err. */
int vm_image_save(const vm_machine *a, const uint32_t *order, uint32_t n, const uint32_t *procmap,
                  const uint32_t *pagemap, vm_buf *out);
int vm_image_load(vm_machine *a, const uint8_t *d, size_t n, const vm_limits *cap, char *err,
                  size_t errcap);
int vm_evm_load(vm_proc *p, base_rd *r, uint32_t version);
int vm_evm_check(vm_machine *a, vm_proc *p, base_rd *r);

/* proc.c: the free-index sets. vm_procs_add appends a dead process slot
 * (0, or -1 out of memory); vm_key_clear empties key slot k of p;
 * vm_reindex rebuilds them, and each owner's list of pages, after a
 * snapshot load (0, or -1 out of memory). */
int vm_procs_add(vm_machine *a);
void vm_key_clear(vm_proc *p, uint32_t k);
int vm_reindex(vm_machine *a);
/* Clear every call key to process id (it is being destroyed). */
void vm_calls_gone(vm_machine *a, uint32_t id);

/* RAND streams (docs/isa.md, "Random numbers"): the place of the n-th
 * child (0, 1, ...) a process at `place` makes, and the stream of a place. */
static inline uint64_t vm_place_child(uint64_t place, uint32_t n) {
    return base_mix64(base_mix64(place + BASE_GOLDEN) ^ (uint64_t)n);
}
static inline void vm_place_stream(base_rng *r, uint64_t place) {
    base_rng_stream(r, place, 0x52414e44u /* "RAND" */, 0, 0);
}
/* A process's stream is derived when first needed (RAND, a snapshot): most
 * programs never draw, and deriving it costs about a tenth of a short GP
 * evaluation. inc 0 (a real increment is odd) marks it not derived yet. */
static inline void vm_place_stream_later(base_rng *r) {
    r->state = r->inc = 0;
}
static inline base_rng vm_proc_stream(const base_rng *r, uint64_t place) {
    base_rng g = *r;
    if (!g.inc) vm_place_stream(&g, place);
    return g;
}

int vm_grow(void **p, uint32_t *cap, size_t need, size_t elem);
int vm_grow0(void **p, uint32_t *cap, size_t need, size_t elem); /* zeroes new elements */

#endif
