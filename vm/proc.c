/* The process tree: the public API, the supervisor that runs nested
 * processes (RECURSE), and the key, page and channel instructions.
 *
 * Budgets (docs/isa.md, "Processes and keys"): a running process may use no
 * more than any process on its chain allows. The supervisor computes that
 * budget when a process is entered (O(depth)) and the interpreter checks only
 * it, so a step costs the same at any depth. Meters are carried up the chain
 * when a process stops or enters a child. */
#include "vm/vm_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* base_grow for the VM's 32-bit capacities. */
int vm_grow(void **p, uint32_t *cap, size_t need, size_t elem) {
    size_t c = *cap;
    if (base_grow(p, &c, need, elem, UINT32_MAX)) return -1;
    *cap = (uint32_t)c;
    return 0;
}

int vm_grow0(void **p, uint32_t *cap, size_t need, size_t elem) {
    size_t c = *cap;
    if (base_grow0(p, &c, need, elem, UINT32_MAX)) return -1;
    *cap = (uint32_t)c;
    return 0;
}

/* ---- free-index sets (vm_free_ids) ---- */

static int ids_reserve(vm_free_ids *f, size_t n) {
    return vm_grow((void **)&f->v, &f->cap, n ? n : 1, sizeof(uint32_t));
}

/* Add x (not in the set; the capacity is reserved). */
static void ids_add(vm_free_ids *f, uint32_t x) {
    uint32_t i = f->n++;
    while (i > 0 && f->v[(i - 1) / 2] > x) {
        f->v[i] = f->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    f->v[i] = x;
}

/* Remove and return the least (the set is not empty). */
static uint32_t ids_take(vm_free_ids *f) {
    uint32_t least = f->v[0], x = f->v[--f->n], i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= f->n) break;
        if (c + 1 < f->n && f->v[c + 1] < f->v[c]) c++;
        if (x <= f->v[c]) break;
        f->v[i] = f->v[c];
        i = c;
    }
    f->v[i] = x;
    return least;
}

static inline int64_t min64(int64_t x, int64_t y) {
    return x < y ? x : y;
}
static inline int64_t sat_left(uint64_t lim, uint64_t used) {
    return lim > used ? (int64_t)(lim - used) : 0;
}

/* ---- processes ---- */

static void proc_free_buffers(vm_proc *p) {
    free(p->code);
    free(p->cells);
    free(p->cold);
    free(p->fast_at);
    free(p->step_at);
    free(p->stack);
    free(p->heap);
    free(p->calls);
    free(p->args);
    free(p->keys);
    free(p->kfree.v);
    vm_evm_free(p->evm);
    free(p);
}

/* Size the per-process buffers for its limits. */
static int proc_fit(vm_proc *p) {
    if (vm_grow((void **)&p->stack, &p->stack_alloc, (size_t)p->lim.stack + 1, sizeof(vm_word)) ||
        vm_grow((void **)&p->calls, &p->calls_alloc, (size_t)p->lim.calls + 1, sizeof(uint32_t)))
        return -1;
    return 0;
}

static void proc_clear(vm_proc *p) {
    p->depth = p->msize = p->ncalls = p->nkeys = p->ip = p->nargs = 0;
    p->kfree.n = 0;
    p->pages = VM_NONE;
    p->held = 0;
    p->status = VM_RUNNING;
    p->gas_used = p->memtime = 0;
    p->child = VM_NONE;
    p->rec_gas0 = p->rec_mt0 = 0;
    p->need_gas = p->need_grow = 0;
    p->ewords = 0;
    p->nborn = 0;
    p->caller = VM_NONE;
    p->callable = false;
    p->mark = 0;
}

/* The n-th child of p gets its place and stream (docs/isa.md, "Random numbers"). */
static void proc_born(vm_proc *p, vm_proc *c) {
    c->place = vm_place_child(p->place, p->nborn++);
    vm_place_stream_later(&c->rng);
}

int vm_procs_add(vm_machine *a) {
    uint32_t id = a->nprocs;
    if (id == UINT32_MAX - 1 ||
        vm_grow0((void **)&a->procs, &a->procs_alloc, (size_t)id + 1, sizeof(vm_proc *)) ||
        ids_reserve(&a->pfree, (size_t)id + 1))
        return -1;
    vm_proc *p = calloc(1, sizeof *p);
    if (!p) return -1;
    a->procs[id] = p;
    a->nprocs++;
    ids_add(&a->pfree, id);
    return 0;
}

/* A fresh process slot: the lowest dead id (with its buffers), else a new one. */
static vm_proc *proc_new(vm_machine *a, uint32_t parent) {
    if (!a->pfree.n && vm_procs_add(a)) return NULL;
    uint32_t id = ids_take(&a->pfree);
    vm_proc *p = a->procs[id];
    proc_clear(p);
    vm_evm_free(p->evm);
    p->evm = NULL;
    p->id = id;
    p->parent = parent;
    p->live = true;
    return p;
}

static int proc_set_code(vm_machine *a, vm_proc *p, const uint8_t *code, size_t len) {
    if (len > VM_MAX_CODE) return -1;
    if (vm_grow((void **)&p->code, &p->code_cap, len ? len : 1, 1)) return -1;
    if (len) memmove(p->code, code, len);
    p->len = (uint32_t)len;
    p->decoded = 0;
    return vm_interp_decode(a, p);
}

static void proc_kill(vm_machine *a, vm_proc *p) {
    p->live = false;
    ids_add(&a->pfree, p->id);
}

/* Its own list, not a scan of the machine: destroying costs what it owns. */
static void page_kill_owned(vm_machine *a, uint32_t owner) {
    vm_proc *p = a->procs[owner];
    for (uint32_t i = p->pages; i != VM_NONE; i = a->pages[i].next)
        a->pages[i].live = false;
    p->pages = VM_NONE;
}

void vm_calls_gone(vm_machine *a, uint32_t id) {
    for (uint32_t i = 0; i < a->nprocs; i++) {
        vm_proc *h = a->procs[i];
        if (!h->live) continue;
        for (uint32_t k = 0; k < h->nkeys; k++)
            if (h->keys[k].kind == VM_KEY_CALL && h->keys[k].obj == id) vm_key_clear(h, k);
    }
}

/* Destroy a process and everything it owns. A caller suspended inside a
 * KCALL of it will find its key empty when it runs again (BAD_KEY). */
static void proc_destroy(vm_machine *a, uint32_t id) {
    vm_proc *p = a->procs[id];
    if (!p->live) return;
    for (uint32_t k = 0; k < p->nkeys; k++)
        if (p->keys[k].kind == VM_KEY_PROC) proc_destroy(a, p->keys[k].obj);
    if (p->child != VM_NONE && a->procs[p->child]->parent != id) /* suspended in a KCALL */
        a->procs[p->child]->caller = VM_NONE;
    if (p->caller != VM_NONE) {
        a->procs[p->caller]->child = VM_NONE;
        p->caller = VM_NONE;
    }
    if (p->evm) vm_evm_gone(a, p);
    if (p->callable && !p->evm) vm_calls_gone(a, id); /* (vm_evm_gone does it for EVM) */
    page_kill_owned(a, id);
    proc_kill(a, p);
}

/* ---- the public API on the root ---- */

vm_machine *vm_machine_new(void) {
    vm_machine *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    vm_proc *r = proc_new(a, VM_NONE);
    if (!r || vm_set_limits(a, &(vm_limits){0}) || vm_load(a, NULL, 0)) {
        vm_machine_free(a);
        return NULL;
    }
    return a;
}

void vm_machine_free(vm_machine *a) {
    if (!a) return;
    for (uint32_t i = 0; i < a->nprocs; i++)
        proc_free_buffers(a->procs[i]);
    for (uint32_t i = 0; i < a->pages_alloc; i++)
        free(a->pages[i].words);
    for (uint32_t i = 0; i < a->nchans; i++)
        free(a->chans[i].words);
    free(a->procs);
    free(a->pfree.v);
    free(a->pages);
    free(a->chans);
    free(a->chain);
    free(a->lead);
    free(a->fix);
    free(a->match);
    free(a->ins);
    free(a->csteps);
    free(a->cnames);
    free(a->clive);
    free(a->crows);
    vm_buf_free(&a->img);
    vm_machine_free(a->img_m);
    free(a);
}

int vm_load(vm_machine *a, const uint8_t *code, size_t len) {
    if (proc_set_code(a, vm_root(a), code, len)) return -1;
    vm_reset(a);
    return 0;
}

void vm_reset(vm_machine *a) {
    vm_proc *r = vm_root(a);
    a->pfree.n = 0; /* ascending: already a heap */
    for (uint32_t i = 1; i < a->nprocs; i++) {
        a->procs[i]->live = false;
        a->pfree.v[a->pfree.n++] = i;
    }
    for (uint32_t i = 0; i < a->npages; i++)
        a->pages[i].live = false;
    a->npages = 0;
    uint32_t id = r->id;
    proc_clear(r);
    r->id = id;
    r->parent = VM_NONE;
    r->live = true;
    r->place = a->seed;
    vm_place_stream_later(&r->rng);
}

void vm_set_seed(vm_machine *a, uint64_t seed) {
    vm_proc *r = vm_root(a);
    a->seed = r->place = seed;
    vm_place_stream_later(&r->rng);
}
uint64_t vm_seed(const vm_machine *a) {
    return a->seed;
}
bool vm_reads_seed(const vm_machine *a) {
    return vm_root(a)->reads_seed;
}

static uint64_t clamp(uint64_t v, uint64_t dflt, uint64_t max) {
    if (v == 0) v = dflt;
    return v > max ? max : v;
}

void vm_limits_norm(const vm_limits *l, vm_limits *n) {
    *n = (vm_limits){
        .gas = clamp(l->gas, VM_DEFAULT_GAS, VM_MAX_GAS),
        .mem = (uint32_t)clamp(l->mem, VM_DEFAULT_MEM, VM_MAX_MEM),
        .memtime = clamp(l->memtime, VM_MAX_MEMTIME, VM_MAX_MEMTIME),
        .stack = (uint32_t)clamp(l->stack, VM_DEFAULT_STACK, VM_MAX_STACK),
        .calls = (uint32_t)clamp(l->calls, VM_DEFAULT_CALLS, VM_MAX_CALLS),
        .nest = (uint32_t)clamp(l->nest, VM_DEFAULT_NEST, VM_MAX_NEST),
        .keys = (uint32_t)clamp(l->keys, VM_DEFAULT_KEYS, VM_MAX_KEYS),
        .underflow = l->underflow == VM_UNDERFLOW_SKIP ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT,
    };
}

int vm_set_limits(vm_machine *a, const vm_limits *l) {
    vm_proc *r = vm_root(a);
    vm_limits n;
    vm_limits_norm(l, &n);
    vm_limits old = r->lim;
    r->lim = n;
    if (proc_fit(r) ||
        /* the deepest chain whatever the limit: a resumed chain may pass it */
        vm_grow((void **)&a->chain, &a->chain_alloc, (size_t)VM_MAX_NEST + 1, sizeof(uint32_t))) {
        r->lim = old;
        return -1;
    }
    return 0;
}

void vm_get_limits(const vm_machine *a, vm_limits *l) {
    *l = vm_root(a)->lim;
}

int vm_set_args(vm_machine *a, const vm_word *w, uint32_t n) {
    vm_proc *r = vm_root(a);
    if (n > VM_MAX_ARGS || (n && vm_grow((void **)&r->args, &r->args_alloc, n, sizeof(vm_word))))
        return -1;
    /* word by word: GCC expands the memcpy to `rep movsq`, whose start-up
     * cost a case with one or two inputs pays at every case */
    for (uint32_t i = 0; i < n; i++)
        r->args[i] = w[i];
    r->nargs = n;
    return 0;
}
uint32_t vm_nargs(const vm_machine *a) {
    return vm_root(a)->nargs;
}
const vm_word *vm_args(const vm_machine *a) {
    return vm_root(a)->args;
}

int vm_push(vm_machine *a, vm_word w) {
    vm_proc *r = vm_root(a);
    if (r->depth >= r->lim.stack || vm_words(r) >= r->lim.mem) return -1;
    r->stack[r->depth++] = w;
    return 0;
}

vm_status vm_status_get(const vm_machine *a) {
    return vm_root(a)->status;
}
uint32_t vm_ip(const vm_machine *a) {
    return vm_root(a)->ip;
}
uint32_t vm_depth(const vm_machine *a) {
    return vm_root(a)->depth;
}
const vm_word *vm_stack(const vm_machine *a) {
    return vm_root(a)->stack;
}
uint32_t vm_msize(const vm_machine *a) {
    return vm_root(a)->msize;
}
const vm_word *vm_heap(const vm_machine *a) {
    return vm_root(a)->heap;
}
uint32_t vm_call_depth(const vm_machine *a) {
    return vm_root(a)->ncalls;
}

static void meters_of(const vm_proc *p, vm_meters *m) {
    m->gas = p->gas_used;
    m->memtime = p->memtime;
    m->mem = (uint32_t)(vm_words(p) > UINT32_MAX ? UINT32_MAX : vm_words(p));
}

void vm_meters_get(const vm_machine *a, vm_meters *m) {
    meters_of(vm_root(a), m);
}

uint64_t vm_gas_left(const vm_machine *a) {
    const vm_proc *r = vm_root(a);
    return r->lim.gas > r->gas_used ? r->lim.gas - r->gas_used : 0;
}

void vm_set_trace(vm_machine *a, vm_trace_fn fn, void *ctx) {
    a->trace = fn;
    a->trace_ctx = ctx;
}

void vm_set_stepping(vm_machine *a, bool on) {
    a->stepping = on;
}

uint32_t vm_nprocs(const vm_machine *a) {
    return a->nprocs;
}

int vm_proc_memory(const vm_machine *a, uint32_t id, const vm_word **stack, uint32_t *depth,
                   const vm_word **heap, uint32_t *msize) {
    if (id >= a->nprocs || !a->procs[id]->live) return -1;
    const vm_proc *p = a->procs[id];
    *stack = p->stack;
    *depth = p->depth;
    *heap = p->heap;
    *msize = p->msize;
    return 0;
}

int vm_proc_get(const vm_machine *a, uint32_t id, vm_proc_info *o) {
    if (id >= a->nprocs) return -1;
    const vm_proc *p = a->procs[id];
    *o = (vm_proc_info){.live = p->live,
                        .parent = p->parent,
                        .child = p->child,
                        .status = p->status,
                        .ip = p->ip,
                        .depth = p->depth,
                        .msize = p->msize,
                        .calls = p->ncalls,
                        .nkeys = p->nkeys,
                        .code_len = p->len,
                        .words = vm_words(p),
                        .lim = p->lim,
                        .evm = p->evm != NULL,
                        .evm_status = p->evm ? vm_evm_status(a, id) : -1,
                        .evm_frames = vm_evm_frames(p)};
    meters_of(p, &o->m);
    return 0;
}

int vm_key_get(const vm_machine *a, uint32_t id, uint32_t i, vm_key_kind *kind, unsigned *rights,
               uint32_t *obj) {
    if (id >= a->nprocs || i >= a->procs[id]->nkeys) return -1;
    const vm_key *k = &a->procs[id]->keys[i];
    *kind = (vm_key_kind)k->kind;
    *rights = k->rights;
    *obj = k->obj;
    return 0;
}

/* ---- channels ---- */

int vm_chan_new(vm_machine *a, uint32_t cap) {
    if (cap == 0 || cap > VM_MAX_MEM) return -1;
    if (vm_grow0((void **)&a->chans, &a->chans_alloc, (size_t)a->nchans + 1, sizeof(vm_chan)))
        return -1;
    vm_chan *c = &a->chans[a->nchans];
    *c = (vm_chan){.cap = cap};
    if (vm_chan_reserve(c, cap < 16 ? cap : 16)) return -1;
    return (int)a->nchans++;
}

int vm_chan_reserve(vm_chan *c, uint32_t n) {
    if (n <= c->alloc) return 0;
    uint32_t m = c->alloc > n / 2 ? 2 * c->alloc : n; /* double, up to cap */
    if (m > c->cap) m = c->cap;
    vm_word *q = malloc((size_t)m * sizeof *q);
    if (!q) return -1;
    for (uint32_t k = 0; k < c->len; k++) /* unroll the ring from its head */
        q[k] = c->words[(c->head + k) % c->alloc];
    free(c->words);
    c->words = q;
    c->head = 0;
    c->alloc = m;
    return 0;
}

int vm_chan_write(vm_machine *a, uint32_t ch, vm_word w) {
    if (ch >= a->nchans) return -1;
    vm_chan *c = &a->chans[ch];
    if (c->len == c->cap || vm_chan_reserve(c, c->len + 1)) return -1;
    c->words[(c->head + c->len++) % c->alloc] = w;
    return 0;
}

int vm_chan_read(vm_machine *a, uint32_t ch, vm_word *w) {
    if (ch >= a->nchans) return -1;
    vm_chan *c = &a->chans[ch];
    if (c->len == 0) return -1;
    *w = c->words[c->head];
    c->head = (c->head + 1) % c->alloc;
    c->len--;
    return 0;
}

uint32_t vm_chan_len(const vm_machine *a, uint32_t ch) {
    return ch < a->nchans ? a->chans[ch].len : 0;
}

void vm_chan_clear(vm_machine *a, uint32_t ch) {
    if (ch < a->nchans) a->chans[ch].head = a->chans[ch].len = 0;
}

/* ---- key slots ----
 * A new key takes the lowest empty slot, else a new one at the end (the
 * list never shrinks). Only a new slot adds a word to the holder. */

static bool key_room(const vm_proc *p) {
    return p->kfree.n || p->nkeys < p->lim.keys;
}

static int64_t key_words(const vm_proc *p) {
    return p->kfree.n ? 0 : 1;
}

static int key_add(vm_proc *p, vm_key k) {
    if (p->kfree.n) {
        uint32_t i = ids_take(&p->kfree);
        p->keys[i] = k;
        return (int)i;
    }
    if (p->nkeys >= p->lim.keys) return -1;
    if (vm_grow((void **)&p->keys, &p->keys_alloc, (size_t)p->nkeys + 1, sizeof(vm_key)) ||
        ids_reserve(&p->kfree, p->keys_alloc))
        return -1;
    p->keys[p->nkeys++] = k;
    return (int)p->nkeys - 1;
}

void vm_key_clear(vm_proc *p, uint32_t k) {
    p->keys[k] = (vm_key){0};
    ids_add(&p->kfree, k);
}

/* Rebuild p's empty-slot set from its key list. */
static int keys_index(vm_proc *p) {
    if (ids_reserve(&p->kfree, p->keys_alloc)) return -1;
    p->kfree.n = 0; /* ascending: already a heap */
    for (uint32_t k = 0; k < p->nkeys; k++)
        if (p->keys[k].kind == VM_KEY_NONE) p->kfree.v[p->kfree.n++] = k;
    return 0;
}

int vm_reindex(vm_machine *a) {
    a->pfree.n = 0;
    for (uint32_t i = 1; i < a->nprocs; i++)
        if (!a->procs[i]->live) a->pfree.v[a->pfree.n++] = i;
    for (uint32_t i = 0; i < a->nprocs; i++)
        a->procs[i]->pages = VM_NONE;
    for (uint32_t i = a->npages; i-- > 0;) { /* live pages have live owners */
        if (!a->pages[i].live) continue;
        vm_proc *o = a->procs[a->pages[i].owner];
        a->pages[i].next = o->pages;
        o->pages = i;
    }
    for (uint32_t i = 0; i < a->nprocs; i++) {
        vm_proc *p = a->procs[i];
        if (!p->live) continue;
        if (keys_index(p)) return -1;
        for (uint32_t k = 0; k < p->nkeys; k++)
            if (p->keys[k].kind == VM_KEY_CALL) a->procs[p->keys[k].obj]->callable = true;
    }
    return 0;
}

int vm_grant_chan(vm_machine *a, uint32_t ch, unsigned rights) {
    vm_proc *r = vm_root(a);
    if (ch >= a->nchans) return -1;
    int64_t dw = key_words(r);
    int k = key_add(r, (vm_key){VM_KEY_CHAN, (uint8_t)(rights & VM_RIGHTS_ALL), ch});
    if (k >= 0) r->held += (uint64_t)dw;
    return k;
}

int vm_grant_page(vm_machine *a, const vm_word *w, uint32_t n) {
    vm_proc *r = vm_root(a);
    if (n > VM_MAX_MEM || !key_room(r) ||
        vm_grow0((void **)&a->pages, &a->pages_alloc, (size_t)a->npages + 1, sizeof(vm_page)))
        return -1;
    vm_page *pg = &a->pages[a->npages];
    if (vm_grow((void **)&pg->words, &pg->alloc, n ? n : 1, sizeof(vm_word))) return -1;
    if (n) memcpy(pg->words, w, (size_t)n * sizeof(vm_word));
    int64_t dw = (int64_t)n + key_words(r);
    int k = key_add(r, (vm_key){VM_KEY_PAGE, VM_RIGHT_READ | VM_RIGHT_WRITE, a->npages});
    if (k < 0) return -1;
    *pg = (vm_page){pg->words, n, pg->alloc, VM_ROOT, r->pages, true};
    r->pages = a->npages++;
    r->held += (uint64_t)dw;
    return k;
}

int vm_key_page(const vm_machine *a, uint32_t id, uint32_t k, const vm_word **w, uint32_t *n) {
    if (id >= a->nprocs || !a->procs[id]->live || k >= a->procs[id]->nkeys) return -1;
    const vm_key *key = &a->procs[id]->keys[k];
    if (key->kind != VM_KEY_PAGE || key->obj >= a->npages || !a->pages[key->obj].live) return -1;
    *w = a->pages[key->obj].words;
    *n = a->pages[key->obj].n;
    return 0;
}

/* ---- the key instructions ---- */

static vm_key *key_at(vm_proc *p, vm_word i, unsigned kind, unsigned rights) {
    if (i < 0 || (uint64_t)i >= p->nkeys) return NULL;
    vm_key *k = &p->keys[i];
    if (k->kind != kind || (k->rights & rights) != rights) return NULL;
    return k;
}

static vm_proc *live_child(vm_machine *a, vm_proc *p, vm_word i, unsigned rights) {
    vm_key *k = key_at(p, i, VM_KEY_PROC, rights);
    if (!k || k->obj >= a->nprocs || !a->procs[k->obj]->live) return NULL;
    return a->procs[k->obj];
}

static vm_page *live_page(vm_machine *a, vm_proc *p, vm_word i, unsigned rights) {
    vm_key *k = key_at(p, i, VM_KEY_PAGE, rights);
    if (!k || k->obj >= a->npages || !a->pages[k->obj].live) return NULL;
    return &a->pages[k->obj];
}

/* Gas per byte of code a new process gets (CREATE, FORK): copying and
 * decoding it, measured by frugal bench calibrate (docs/isa.md). */
#define CODE_BYTE_GAS 40

static uint64_t ceil_div(uint64_t x, uint64_t d) {
    return (x + d - 1) / d;
}

/* A child's limits before its first RECURSE: no budget, the owner's shape. */
static void child_limits(const vm_proc *owner, vm_proc *c) {
    c->lim = owner->lim;
    c->lim.gas = 0;
    c->lim.mem = 0;
    c->lim.memtime = 0;
}

/* ---- process images (SAVECHILD, LOADCHILD; docs/isa.md, "Jumping processes") ---- */

/* Write c's subtree into a->img: its processes in breadth-first order over
 * their key lists (c is 0), the live pages they own in id order. A key to
 * anything outside is written empty. A subtree that holds an EVM process
 * is refused (BAD_KEY), and so is one that is in a call or suspended
 * chain with a process outside (BUSY). */
static vm_status image_of(vm_machine *a, vm_proc *c) {
    vm_status st = VM_OUT_OF_MEMORY;
    uint32_t *procmap = malloc((size_t)a->nprocs * sizeof *procmap);
    uint32_t *order = malloc((size_t)a->nprocs * sizeof *order);
    uint32_t *pagemap = malloc(((size_t)a->npages + 1) * sizeof *pagemap);
    if (!procmap || !order || !pagemap) goto cleanup;
    for (uint32_t i = 0; i < a->nprocs; i++)
        procmap[i] = VM_NONE;
    uint32_t n = 0;
    order[n] = c->id;
    procmap[c->id] = n++;
    for (uint32_t i = 0; i < n; i++) {
        const vm_proc *q = a->procs[order[i]];
        for (uint32_t k = 0; k < q->nkeys; k++)
            if (q->keys[k].kind == VM_KEY_PROC) {
                order[n] = q->keys[k].obj;
                procmap[q->keys[k].obj] = n++;
            }
    }
    st = VM_BAD_KEY;
    for (uint32_t i = 0; i < n; i++)
        if (a->procs[order[i]]->evm) goto cleanup;
    st = VM_BUSY;
    for (uint32_t i = 0; i < n; i++) {
        const vm_proc *q = a->procs[order[i]];
        if ((q->child != VM_NONE && procmap[q->child] == VM_NONE) ||
            (q->caller != VM_NONE && procmap[q->caller] == VM_NONE))
            goto cleanup;
    }
    uint32_t np = 0;
    for (uint32_t i = 0; i < a->npages; i++)
        pagemap[i] = a->pages[i].live && procmap[a->pages[i].owner] != VM_NONE ? np++ : VM_NONE;
    st = vm_image_save(a, order, n, procmap, pagemap, &a->img) ? VM_OUT_OF_MEMORY : VM_RUNNING;
cleanup:
    free(procmap);
    free(order);
    free(pagemap);
    return st;
}

/* Read the image in page pg into a fresh a->img_m, for p to load: BAD_IMAGE
 * unless it is one that the snapshot reader's checks pass, and whose
 * processes' shape limits are within p's. */
static vm_status image_read(vm_machine *a, const vm_proc *p, const vm_page *pg) {
    uint64_t have = (uint64_t)pg->n * 8, len = 32;
    if (have < len) return VM_BAD_IMAGE;
    uint64_t plen = 0; /* the header's payload length: bytes 16..23 */
    for (int b = 0; b < 8; b++)
        plen |= (((uint64_t)pg->words[2] >> (8 * b)) & 0xff) << (8 * b);
    if (plen > have - len) return VM_BAD_IMAGE;
    len += plen;
    vm_machine_free(a->img_m);
    a->img_m = vm_machine_new();
    if (!a->img_m || base_buf_reserve(&a->img, len)) return VM_OUT_OF_MEMORY;
    for (uint64_t i = 0; i < len; i++)
        a->img.data[i] = (uint8_t)((uint64_t)pg->words[i / 8] >> (8 * (i % 8)));
    a->img.len = len;
    char err[8];
    if (vm_image_load(a->img_m, a->img.data, len, &p->lim, err, sizeof err)) return VM_BAD_IMAGE;
    return VM_RUNNING;
}

/* Move the processes and pages of s (read by image_read) into a as a new
 * child of p: new ids, lowest free first, in image order; pages appended.
 * *root gets the child's id. 0, or -1 out of memory (nothing made). */
static int graft(vm_machine *a, vm_proc *p, vm_machine *s, uint32_t *root) {
    uint32_t n = s->nprocs, made = 0, base = a->npages;
    uint32_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return -1;
    for (; made < n; made++) {
        vm_proc *q = proc_new(a, p->id);
        if (!q) break;
        ids[made] = q->id;
    }
    if (made < n || (size_t)base + s->npages > UINT32_MAX - 1 ||
        vm_grow0((void **)&a->pages, &a->pages_alloc, (size_t)base + s->npages + 1,
                 sizeof(vm_page))) {
        while (made > 0)
            proc_kill(a, a->procs[ids[--made]]);
        free(ids);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        vm_proc *q = s->procs[i];
        s->procs[i] = a->procs[ids[i]]; /* the fresh slot is freed with s */
        a->procs[ids[i]] = q;
        q->id = ids[i];
        q->parent = i == 0 ? p->id : ids[q->parent];
        if (q->child != VM_NONE) q->child = ids[q->child];
        if (q->caller != VM_NONE) q->caller = ids[q->caller];
        q->pages = VM_NONE;
        q->mark = 0;
        q->decoded = 0; /* decoded again when it runs: a's decoding scratch fits it then */
        for (uint32_t k = 0; k < q->nkeys; k++) {
            vm_key *key = &q->keys[k];
            if (key->kind == VM_KEY_PROC || key->kind == VM_KEY_CALL) key->obj = ids[key->obj];
            if (key->kind == VM_KEY_PAGE) key->obj += base;
        }
    }
    for (uint32_t j = s->npages; j-- > 0;) { /* each owner's list in id order */
        vm_page *g = &s->pages[j], *h = &a->pages[base + j];
        vm_word *words = h->words;
        uint32_t alloc = h->alloc;
        vm_proc *o = a->procs[ids[g->owner]];
        *h = (vm_page){g->words, g->n, g->alloc, o->id, o->pages, true};
        g->words = words;
        g->alloc = alloc;
        o->pages = base + j;
    }
    a->npages = base + s->npages;
    *root = ids[0];
    free(ids);
    return 0;
}

/* Check (dw != NULL: report needs, change nothing) or do (dw == NULL) one
 * key, page or channel instruction. sp is the stack top of p. */
vm_status vm_op_keys(vm_machine *a, vm_proc *p, uint8_t op, vm_word *sp, int64_t room, int64_t *dw,
                     int64_t *extra) {
    bool check = dw != NULL;
    int64_t need = 0, gas = 0;
    vm_status st = VM_RUNNING;
    switch (op) {
    case VM_OP_RECURSE: {
        vm_proc *c = live_child(a, p, sp[-4], VM_RIGHT_CALL);
        if (!c) return VM_BAD_KEY;
        uint32_t nest = a->procs[VM_ROOT]->lim.nest;
        if (p->child == VM_NONE && a->nchain >= nest) return VM_NEST_LIMIT;
        /* the child's suspended chain resumes with it: the whole chain must
         * fit the supervisor's VM_MAX_NEST + 1 entries (a revived child
         * may have been suspended higher up) */
        uint32_t len = a->nchain + 1;
        for (uint32_t q = c->child; q != VM_NONE && len <= VM_MAX_NEST + 1; q = a->procs[q]->child)
            len++;
        if (p->child == VM_NONE && len > VM_MAX_NEST + 1) return VM_NEST_LIMIT;
        return VM_RUNNING; /* the supervisor does the rest */
    }
    case VM_OP_KCALL: {
        vm_key *k = key_at(p, sp[-2], VM_KEY_CALL, VM_RIGHT_CALL);
        if (!k || k->obj >= a->nprocs || !a->procs[k->obj]->live || a->procs[k->obj]->evm)
            return VM_BAD_KEY;
        uint32_t nest = a->procs[VM_ROOT]->lim.nest;
        if (p->child == VM_NONE && a->nchain >= nest) return VM_NEST_LIMIT;
        return VM_RUNNING; /* the supervisor does the rest */
    }
    case VM_OP_CREATE: {
        vm_page *pg = live_page(a, p, sp[-2], VM_RIGHT_READ);
        vm_word len = sp[-1];
        if (!pg) return VM_BAD_KEY;
        if (len < 0 || (uint64_t)len > (uint64_t)pg->n * 8 || (uint64_t)len > VM_MAX_CODE)
            return VM_OUT_OF_BOUNDS;
        if (!key_room(p)) return VM_KEY_LIMIT;
        uint8_t hdr[VM_EVM_HDR];
        for (vm_word i = 0; i < VM_EVM_HDR && i < len; i++)
            hdr[i] = (uint8_t)((uint64_t)pg->words[i / 8] >> (8 * (i % 8)));
        bool is_evm = vm_evm_container(hdr, (size_t)len); /* + the 2 words of its result */
        need =
            VM_PROC_WORDS + (int64_t)ceil_div((uint64_t)len, 8) + key_words(p) + (is_evm ? 2 : 0);
        gas = CODE_BYTE_GAS * len;
        if (check) break;
        vm_proc *c = proc_new(a, p->id);
        if (!c) return VM_OUT_OF_MEMORY;
        uint8_t *bytes = malloc(len ? (size_t)len : 1);
        if (!bytes) goto oom_child;
        for (vm_word i = 0; i < len; i++)
            bytes[i] = (uint8_t)((uint64_t)pg->words[i / 8] >> (8 * (i % 8)));
        child_limits(p, c);
        int rc =
            proc_fit(c) || proc_set_code(a, c, bytes, (size_t)len) || (is_evm && vm_evm_attach(c));
        free(bytes);
        if (rc) goto oom_child;
        int k = key_add(p, (vm_key){VM_KEY_PROC, VM_RIGHTS_ALL, c->id});
        if (k < 0) goto oom_child;
        proc_born(p, c);
        sp[-2] = k;
        p->held += (uint64_t)need;
        return VM_RUNNING;
    oom_child:
        proc_kill(a, c);
        return VM_OUT_OF_MEMORY;
    }
    case VM_OP_FORK: {
        if (!key_room(p)) return VM_KEY_LIMIT;
        uint64_t w = (uint64_t)p->depth + 1 + p->msize + p->ncalls + p->nkeys + p->nargs;
        need = VM_PROC_WORDS + (int64_t)ceil_div(p->len, 8) + (int64_t)w + key_words(p);
        gas = (int64_t)ceil_div(w, 8) + CODE_BYTE_GAS * (int64_t)p->len;
        if (check) break;
        vm_proc *c = proc_new(a, p->id);
        if (!c) return VM_OUT_OF_MEMORY;
        child_limits(p, c);
        if (proc_fit(c) || proc_set_code(a, c, p->code, p->len) ||
            vm_grow((void **)&c->heap, &c->heap_alloc, p->msize ? p->msize : 1, sizeof(vm_word)) ||
            (p->nkeys && vm_grow((void **)&c->keys, &c->keys_alloc, p->nkeys, sizeof(vm_key))) ||
            (p->nargs && vm_grow((void **)&c->args, &c->args_alloc, p->nargs, sizeof(vm_word)))) {
            proc_kill(a, c);
            return VM_OUT_OF_MEMORY;
        }
        if (p->depth) memcpy(c->stack, p->stack, p->depth * sizeof(vm_word));
        c->stack[p->depth] = -1;
        c->depth = p->depth + 1;
        if (p->msize) memcpy(c->heap, p->heap, p->msize * sizeof(vm_word));
        c->msize = p->msize;
        if (p->ncalls) memcpy(c->calls, p->calls, p->ncalls * sizeof(uint32_t));
        c->ncalls = p->ncalls;
        if (p->nargs) memcpy(c->args, p->args, p->nargs * sizeof(vm_word));
        c->nargs = p->nargs;
        /* process keys name children the copy does not own: their slots stay empty */
        for (uint32_t i = 0; i < p->nkeys; i++) {
            c->keys[i] = p->keys[i];
            if (c->keys[i].kind == VM_KEY_PROC) c->keys[i] = (vm_key){0};
        }
        c->nkeys = p->nkeys;
        c->held = p->nkeys;
        c->ip = p->ip + 1;
        int k = keys_index(c) ? -1 : key_add(p, (vm_key){VM_KEY_PROC, VM_RIGHTS_ALL, c->id});
        if (k < 0) {
            proc_kill(a, c);
            return VM_OUT_OF_MEMORY;
        }
        proc_born(p, c);
        sp[0] = k;
        p->held += (uint64_t)need;
        return VM_RUNNING;
    }
    case VM_OP_TRANSFERKEY: {
        vm_proc *t = live_child(a, p, sp[-2], VM_RIGHT_WRITE);
        vm_word i = sp[-1];
        if (!t || i < 0 || (uint64_t)i >= p->nkeys || p->keys[i].kind == VM_KEY_NONE)
            return VM_BAD_KEY;
        vm_key give = p->keys[i];
        if (give.kind == VM_KEY_PROC) { /* only owners hold process keys: give a call key */
            vm_proc *c = live_child(a, p, i, VM_RIGHT_CALL);
            if (!c) return VM_BAD_KEY;
            give = (vm_key){VM_KEY_CALL, VM_RIGHT_CALL, c->id};
        }
        if (!key_room(t)) return VM_KEY_LIMIT;
        need = key_words(t);
        if (check) break;
        int j = key_add(t, give);
        if (j < 0) return VM_OUT_OF_MEMORY;
        if (give.kind == VM_KEY_CALL) a->procs[give.obj]->callable = true;
        t->held += (uint64_t)need;
        p->held += (uint64_t)need;
        sp[-2] = j;
        return VM_RUNNING;
    }
    case VM_OP_ATTENUATE: {
        vm_word i = sp[-2];
        if (i < 0 || (uint64_t)i >= p->nkeys || p->keys[i].kind == VM_KEY_NONE) return VM_BAD_KEY;
        if (check) break;
        p->keys[i].rights &= (uint8_t)((uint64_t)sp[-1] & VM_RIGHTS_ALL);
        return VM_RUNNING;
    }
    case VM_OP_DROPKEY: {
        vm_word i = sp[-1];
        if (i < 0 || (uint64_t)i >= p->nkeys || p->keys[i].kind == VM_KEY_NONE) return VM_BAD_KEY;
        vm_key *k = &p->keys[i];
        if (k->kind == VM_KEY_PROC && k->obj < a->nprocs && a->procs[k->obj]->live)
            need = -(int64_t)vm_footprint(a->procs[k->obj]);
        if (check) break;
        if (k->kind == VM_KEY_PROC) proc_destroy(a, k->obj);
        vm_key_clear(p, (uint32_t)i);
        p->held = (uint64_t)((int64_t)p->held + need);
        return VM_RUNNING;
    }
    case VM_OP_SAVECHILD: {
        vm_proc *c = live_child(a, p, sp[-2], VM_RIGHT_READ);
        vm_page *pg = live_page(a, p, sp[-1], VM_RIGHT_WRITE);
        if (!c || !pg) return VM_BAD_KEY;
        if (check) { /* the image is made here, and copied below */
            st = image_of(a, c);
            if (st != VM_RUNNING) return st;
            if (a->img.len > (uint64_t)pg->n * 8) return VM_OUT_OF_BOUNDS;
            gas = (int64_t)ceil_div(a->img.len, 8);
            break;
        }
        size_t len = a->img.len;
        for (size_t w = 0; w < ceil_div(len, 8); w++) {
            uint64_t v = 0;
            for (size_t b = 0; b < 8 && 8 * w + b < len; b++)
                v |= (uint64_t)a->img.data[8 * w + b] << (8 * b);
            pg->words[w] = (vm_word)v;
        }
        sp[-2] = (vm_word)len;
        return VM_RUNNING;
    }
    case VM_OP_LOADCHILD: {
        vm_page *pg = live_page(a, p, sp[-1], VM_RIGHT_READ);
        if (!pg) return VM_BAD_KEY;
        if (!key_room(p)) return VM_KEY_LIMIT;
        if (check) { /* read here into a->img_m, grafted below */
            uint64_t code = 0;
            st = image_read(a, p, pg);
            if (st != VM_RUNNING) return st;
            vm_machine *m = a->img_m;
            for (uint32_t i = 0; i < m->nprocs; i++)
                code += m->procs[i]->len;
            need = (int64_t)vm_footprint(m->procs[0]) + key_words(p);
            gas = (int64_t)(ceil_div(a->img.len, 8) + CODE_BYTE_GAS * code +
                            (uint64_t)vm_optab[VM_OP_CREATE].gas * (m->nprocs - 1));
            break;
        }
        need = (int64_t)vm_footprint(a->img_m->procs[0]) + key_words(p);
        uint32_t id;
        if (graft(a, p, a->img_m, &id)) return VM_OUT_OF_MEMORY;
        int k = key_add(p, (vm_key){VM_KEY_PROC, VM_RIGHTS_ALL, id});
        if (k < 0) {
            proc_destroy(a, id);
            return VM_OUT_OF_MEMORY;
        }
        sp[-1] = k;
        p->held += (uint64_t)need;
        return VM_RUNNING;
    }
    case VM_OP_NUMKEYS:
        if (!check) sp[0] = p->nkeys;
        return VM_RUNNING;
    case VM_OP_KEYINFO: {
        vm_word i = sp[-1];
        if (check) break;
        sp[-1] = (i < 0 || (uint64_t)i >= p->nkeys) ? 0 : p->keys[i].kind * 8 + p->keys[i].rights;
        return VM_RUNNING;
    }
    case VM_OP_NEWPAGE: {
        vm_word n = sp[-1];
        uint64_t k = n <= 0 ? 0 : (uint64_t)n;
        if (k > VM_MAX_MEM) k = (uint64_t)VM_MAX_MEM + 1; /* fails the memory check */
        if (!key_room(p)) return VM_KEY_LIMIT;
        need = (int64_t)k + key_words(p);
        gas = (int64_t)k;
        if (check) break;
        if (vm_grow0((void **)&a->pages, &a->pages_alloc, (size_t)a->npages + 1, sizeof(vm_page)))
            return VM_OUT_OF_MEMORY;
        vm_page *pg = &a->pages[a->npages];
        if (vm_grow((void **)&pg->words, &pg->alloc, k ? k : 1, sizeof(vm_word)))
            return VM_OUT_OF_MEMORY;
        if (k) memset(pg->words, 0, k * sizeof(vm_word));
        pg->n = (uint32_t)k;
        pg->owner = p->id;
        int key = key_add(p, (vm_key){VM_KEY_PAGE, VM_RIGHT_READ | VM_RIGHT_WRITE, a->npages});
        if (key < 0) return VM_OUT_OF_MEMORY;
        pg->live = true;
        pg->next = p->pages;
        p->pages = a->npages++;
        sp[-1] = key;
        p->held += (uint64_t)need;
        return VM_RUNNING;
    }
    case VM_OP_PREAD: {
        vm_page *pg = live_page(a, p, sp[-2], VM_RIGHT_READ);
        if (!pg) return VM_BAD_KEY;
        if (sp[-1] < 0 || (uint64_t)sp[-1] >= pg->n) return VM_OUT_OF_BOUNDS;
        if (!check) sp[-2] = pg->words[sp[-1]];
        return VM_RUNNING;
    }
    case VM_OP_PWRITE: {
        vm_page *pg = live_page(a, p, sp[-2], VM_RIGHT_WRITE);
        if (!pg) return VM_BAD_KEY;
        if (sp[-1] < 0 || (uint64_t)sp[-1] >= pg->n) return VM_OUT_OF_BOUNDS;
        if (!check) pg->words[sp[-1]] = sp[-3];
        return VM_RUNNING;
    }
    case VM_OP_PUSHTO: {
        vm_proc *c = live_child(a, p, sp[-1], VM_RIGHT_WRITE);
        if (!c) return VM_BAD_KEY;
        if (c->depth >= c->lim.stack) return VM_STACK_OVERFLOW;
        need = 1;
        if (check) break;
        c->stack[c->depth++] = sp[-2];
        p->held++;
        return VM_RUNNING;
    }
    case VM_OP_POPFROM: {
        vm_proc *c = live_child(a, p, sp[-1], VM_RIGHT_READ);
        if (!c) return VM_BAD_KEY;
        if (c->depth == 0) return VM_STACK_UNDERFLOW;
        need = -1;
        if (check) break;
        sp[-1] = c->stack[--c->depth];
        p->held--;
        return VM_RUNNING;
    }
    case VM_OP_IN: {
        vm_key *k = key_at(p, sp[-1], VM_KEY_CHAN, VM_RIGHT_READ);
        if (!k || k->obj >= a->nchans) return VM_BAD_KEY;
        if (a->chans[k->obj].len == 0) return VM_CHANNEL_EMPTY;
        if (!check) vm_chan_read(a, k->obj, &sp[-1]);
        return VM_RUNNING;
    }
    case VM_OP_OUT: {
        vm_key *k = key_at(p, sp[-1], VM_KEY_CHAN, VM_RIGHT_WRITE);
        if (!k || k->obj >= a->nchans) return VM_BAD_KEY;
        vm_chan *ch = &a->chans[k->obj];
        if (ch->len == ch->cap) return VM_CHANNEL_FULL;
        if (vm_chan_reserve(ch, ch->len + 1)) return VM_OUT_OF_MEMORY; /* the host's */
        if (!check) vm_chan_write(a, k->obj, sp[-2]);
        return VM_RUNNING;
    }
    default: return VM_INVALID_OPCODE;
    }
    /* check mode */
    *dw = need;
    *extra = gas;
    if (need > room) st = VM_OUT_OF_MEMORY;
    return st;
}

/* ---- the supervisor ---- */

/* Per chain entry while a process runs: slack and extra words. */
typedef struct {
    int64_t gas, mt, room, base;
    bool own; /* it owns the running process (its subtree holds its words) */
} slack;

/* With calls (KCALL) the chain is not the line of owners: every process on
 * the chain pays gas and memory-time for what runs, but only the running
 * process's owners hold its words. An owner pays for its subtree (base: its
 * words minus the running process's) and its room bounds the growth; any
 * other process on the chain (a caller's line) pays for its own words plus
 * the running process's, and has no say on its memory. Every owner of the
 * running process is on the chain (a call key is held only below its
 * callee's owner, docs/isa.md "Calls"), so marking its owners finds them. */
static void slacks(vm_machine *a, uint32_t n, slack *s) {
    const vm_proc *P = a->procs[a->chain[n - 1]];
    int64_t wp = (int64_t)vm_words(P);
    uint64_t e = ++a->epoch;
    for (uint32_t q = P->parent; q != VM_NONE; q = a->procs[q]->parent)
        a->procs[q]->mark = e;
    for (uint32_t i = 0; i < n; i++) {
        const vm_proc *A = a->procs[a->chain[i]];
        bool own = i == n - 1 || A->mark == e;
        s[i].gas = sat_left(A->lim.gas, A->gas_used);
        s[i].mt = sat_left(A->lim.memtime, A->memtime);
        s[i].room = own ? (int64_t)A->lim.mem - (int64_t)vm_words(A) : INT64_MAX;
        s[i].base = own ? (int64_t)vm_words(A) - wp : (int64_t)vm_words(A);
        s[i].own = own;
    }
}

/* Add dw to the words held by p's owners, up to the root. */
static void owners_hold(vm_machine *a, const vm_proc *p, int64_t dw) {
    for (uint32_t q = p->parent; q != VM_NONE; q = a->procs[q]->parent)
        a->procs[q]->held = (uint64_t)((int64_t)a->procs[q]->held + dw);
}

/* The least room among p's owners, up to the root. */
static int64_t owners_room(vm_machine *a, const vm_proc *p) {
    int64_t room = INT64_MAX;
    for (uint32_t q = p->parent; q != VM_NONE; q = a->procs[q]->parent)
        room = min64(room, (int64_t)a->procs[q]->lim.mem - (int64_t)vm_words(a->procs[q]));
    return room;
}

/* The budget of the running process, from the slack of its chain. Gas and
 * memory are plain minima. For memory-time each ancestor pays for its whole
 * subtree (base extra words), so the binding ancestor can change as gas is
 * spent: the gas budget stops at the next such change (a fence). */
static void budget(uint32_t n, const slack *s, const vm_proc *P, vm_budget *b) {
    int64_t gas = INT64_MAX, room = INT64_MAX;
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        gas = min64(gas, s[i].gas);
        room = min64(room, s[i].room);
        if (s[i].mt < s[j].mt || (s[i].mt == s[j].mt && s[i].base > s[j].base)) j = i;
    }
    int64_t fence = INT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (s[i].base > s[j].base)
            fence = min64(fence, (s[i].mt - s[j].mt) / (s[i].base - s[j].base));
    b->gas = min64(gas, fence);
    b->mt = s[j].mt;
    b->mt_base = s[j].base;
    b->memcap = (int64_t)vm_words(P) + room;
}

/* Which process on the chain cannot pay for P's pending instruction, and
 * why: the deepest first, each in the order of the per-instruction checks.
 * Returns the chain index, or -1 if all can (a fence, not an exhaustion). */
static int violator(vm_machine *a, uint32_t n, const slack *s, vm_status *why) {
    const vm_proc *P = a->procs[a->chain[n - 1]];
    int64_t w = (int64_t)vm_words(P), g = P->need_gas, grow = P->need_grow;
    for (int i = (int)n - 1; i >= 0; i--) {
        if (g > s[i].gas)
            *why = VM_OUT_OF_GAS;
        else if ((w + s[i].base) * g > s[i].mt)
            *why = VM_OUT_OF_MEMTIME;
        else if (i == (int)n - 1 && P->depth + P->need_stack > P->lim.stack)
            *why = VM_STACK_OVERFLOW;
        else if (grow > s[i].room)
            *why = VM_OUT_OF_MEMORY;
        else
            continue;
        return i;
    }
    return -1;
}

/* Carry what the running process used up its chain, and its words up its
 * owners. */
static void carry(vm_machine *a, uint32_t n, const slack *s, uint64_t dg, uint64_t dm, int64_t dw) {
    for (uint32_t i = 0; i + 1 < n; i++) {
        vm_proc *A = a->procs[a->chain[i]];
        A->gas_used += dg;
        A->memtime += dm + (uint64_t)s[i].base * dg;
    }
    if (dw) owners_hold(a, a->procs[a->chain[n - 1]], dw);
}

static uint64_t sat_add(uint64_t x, uint64_t y, uint64_t max) {
    return x > max || y > max - x ? max : x + y;
}

/* A KCALL of P that ends before the callee runs: result 0, status s. */
static vm_proc *call_refused(vm_proc *P, vm_status s) {
    vm_word *sp = P->stack + P->depth;
    sp[-3] = 0;
    sp[-2] = s;
    sp[-1] = 0;
    P->ip += 1;
    P->status = VM_RUNNING;
    return NULL;
}

/* Start a KCALL of P (docs/isa.md, "Calls"): the callee, or NULL if the
 * call ended at once. */
static vm_proc *call_start(vm_machine *a, vm_proc *P) {
    vm_word *sp = P->stack + P->depth;
    vm_proc *C = a->procs[P->keys[sp[-2]].obj];
    bool busy = C->caller != VM_NONE || C->child != VM_NONE;
    for (uint32_t i = 0; i < a->nchain && !busy; i++)
        busy = a->chain[i] == C->id;
    if (busy) return call_refused(P, VM_BUSY);
    if (C->status == VM_HALTED) return call_refused(P, VM_HALTED);
    if (C->depth >= C->lim.stack) return call_refused(P, VM_STACK_OVERFLOW);
    if (owners_room(a, C) < 1) return call_refused(P, VM_OUT_OF_MEMORY);
    C->stack[C->depth++] = sp[-3];
    owners_hold(a, C, 1);
    C->lim.gas = sat_add(C->gas_used, sp[-1] > 0 ? (uint64_t)sp[-1] : 0, VM_MAX_GAS);
    C->lim.mem = VM_MAX_MEM; /* its owners' room bounds it */
    C->lim.memtime = VM_MAX_MEMTIME;
    P->child = C->id;
    C->caller = P->id;
    P->rec_gas0 = C->gas_used;
    P->rec_mt0 = C->memtime;
    C->status = VM_RUNNING;
    return C;
}

/* Start a fresh RECURSE (or KCALL) of P: set the child's limits from the
 * arguments. The child, or NULL if the instruction ended at once. */
static vm_proc *recurse_start(vm_machine *a, uint32_t n, vm_proc *P) {
    if (P->code[P->ip] == VM_OP_KCALL) return call_start(a, P);
    vm_word *sp = P->stack + P->depth;
    vm_proc *C = a->procs[P->keys[sp[-4]].obj];
    if (C->caller != VM_NONE) { /* a caller is suspended inside a call of it */
        sp[-4] = VM_BUSY;
        sp[-3] = sp[-2] = 0;
        sp[-1] = (vm_word)vm_words(C);
        P->ip += 2;
        P->status = VM_RUNNING;
        return NULL;
    }
    uint64_t gas = sp[-3] > 0 ? (uint64_t)sp[-3] : 0;
    uint64_t mem = sp[-2] > 0 ? (uint64_t)sp[-2] : 0;
    uint64_t mt = sp[-1] >= 0 ? (uint64_t)sp[-1] : VM_MAX_MEMTIME; /* < 0: no own limit */
    if (P->code[P->ip + 1] == 1) {
        /* transfer: only what the parent can really give, so that no
         * ancestor can run dry while the child runs */
        slack s[VM_MAX_NEST + 1];
        slacks(a, n, s);
        int64_t wc = (int64_t)vm_words(C), g = INT64_MAX, room = INT64_MAX;
        for (uint32_t i = 0; i < n; i++) {
            g = min64(g, s[i].gas);
            room = min64(room, s[i].room);
        }
        if (gas > (uint64_t)g) gas = (uint64_t)g;
        for (uint32_t i = 0; i < n; i++) { /* the child's words count in every ancestor */
            int64_t base = s[i].own ? s[i].base + (int64_t)vm_words(P) - wc : s[i].base;
            if (base > 0 && (uint64_t)(s[i].mt / base) < gas) gas = (uint64_t)(s[i].mt / base);
        }
        for (uint32_t i = 0; i < n; i++) {
            int64_t base = s[i].own ? s[i].base + (int64_t)vm_words(P) - wc : s[i].base;
            int64_t left = s[i].mt - base * (int64_t)gas;
            if (left < 0) left = 0;
            if (mt > (uint64_t)left) mt = (uint64_t)left;
        }
        int64_t cap = wc + (room > 0 ? room : 0);
        if (mem > (uint64_t)cap) mem = (uint64_t)cap;
    }
    C->lim.gas = sat_add(C->gas_used, gas, VM_MAX_GAS);
    C->lim.mem = (uint32_t)(mem > VM_MAX_MEM ? VM_MAX_MEM : mem);
    C->lim.memtime = sat_add(C->memtime, mt, VM_MAX_MEMTIME);
    P->child = C->id;
    P->rec_gas0 = C->gas_used;
    P->rec_mt0 = C->memtime;
    if (C->status != VM_HALTED) C->status = VM_RUNNING;
    return C;
}

/* The child C of P stopped with status s: RECURSE (or KCALL) completes. */
static void recurse_done(vm_machine *a, vm_proc *P, vm_proc *C, vm_status s) {
    vm_word *sp = P->stack + P->depth;
    if (P->code[P->ip] == VM_OP_KCALL) {
        vm_word res = 0;
        if (C->depth) {
            res = C->stack[--C->depth];
            owners_hold(a, C, -1);
        }
        sp[-3] = res;
        sp[-2] = s;
        sp[-1] = (vm_word)(C->gas_used - P->rec_gas0);
        P->child = VM_NONE;
        C->caller = VM_NONE;
        P->ip += 1;
        P->status = VM_RUNNING;
        return;
    }
    sp[-4] = s;
    sp[-3] = (vm_word)(C->gas_used - P->rec_gas0);
    sp[-2] = (vm_word)(C->memtime - P->rec_mt0);
    sp[-1] = (vm_word)vm_words(C);
    P->child = VM_NONE;
    P->ip += 2;
    P->status = VM_RUNNING;
}

static bool is_resource(vm_status s) {
    return s == VM_OUT_OF_GAS || s == VM_OUT_OF_MEMTIME || s == VM_OUT_OF_MEMORY;
}

static vm_status supervise(vm_machine *a, bool metered) {
    slack s[VM_MAX_NEST + 1];
    bool single = false;
    for (;;) {
        uint32_t n = a->nchain;
        vm_proc *P = a->procs[a->chain[n - 1]];
        if (P->child != VM_NONE) { /* resume the child it was running */
            a->chain[a->nchain++] = P->child;
            continue;
        }
        vm_status st = P->status;
        if (st != VM_HALTED) {
            slacks(a, n, s);
            vm_budget b;
            budget(n, s, P, &b);
            if (single) b.gas = P->need_gas; /* checked against every ancestor */
            int want = metered ? 1 : 2;
            if (!P->evm && P->decoded != want &&
                (metered ? vm_interp_decode(a, P) : vm_interp_nm_decode(a, P))) {
                st = P->status = VM_OUT_OF_MEMORY;
                goto stopped;
            }
            uint64_t w0 = vm_words(P), g0 = P->gas_used, m0 = P->memtime;
            if (P->evm) /* metered whatever the run: its gas is the EVM's */
                st = vm_evm_exec(a, P, &b);
            else if (metered)
                st = vm_interp_exec(a, P, &b, single);
            else
                st = vm_interp_nm_exec(a, P, &b, single);
            single = false;
            carry(a, n, s, P->gas_used - g0, P->memtime - m0, (int64_t)vm_words(P) - (int64_t)w0);
            if (st == VM_ST_RECURSE) {
                P->status = VM_RUNNING;
                vm_proc *C = recurse_start(a, n, P);
                if (C) a->chain[a->nchain++] = C->id;
                continue;
            }
            if (metered && is_resource(st)) {
                slacks(a, n, s);
                vm_status why = st;
                int i = violator(a, n, s, &why);
                if (i < 0) { /* a fence: pay for the next instruction exactly */
                    P->status = VM_RUNNING;
                    single = true;
                    continue;
                }
                if (i != (int)n - 1) { /* an ancestor ran dry: suspend below it */
                    P->status = VM_RUNNING;
                    a->nchain = (uint32_t)i + 1;
                    P = a->procs[a->chain[i]];
                }
                P->status = why;
                st = why;
            }
        }
    stopped:
        /* P stops: its parent's RECURSE completes, or the run ends */
        if (a->nchain == 1) return st;
        a->nchain--;
        vm_proc *Q = a->procs[a->chain[a->nchain - 1]];
        recurse_done(a, Q, P, st);
    }
}

static vm_status run_decoded(vm_machine *a, bool metered);

uint64_t vm_clock_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static vm_status run(vm_machine *a, bool metered) {
    vm_proc *r = vm_root(a);
    if (r->status == VM_HALTED) return VM_HALTED;
    int want = metered ? 1 : 2;
    if (r->decoded != want && (metered ? vm_interp_decode(a, r) : vm_interp_nm_decode(a, r)))
        return r->status = VM_OUT_OF_MEMORY;
    if (r->depth > r->lim.stack) return r->status = VM_STACK_OVERFLOW;
    if (!a->interp) return run_decoded(a, metered);
    uint64_t t0 = vm_clock_ns();
    vm_status st = run_decoded(a, metered);
    a->interp->ns += vm_clock_ns() - t0;
    a->interp->entries++;
    return st;
}

void vm_time_interp(vm_machine *a, vm_interp_clock *c) {
    a->interp = c;
}

static vm_status run_decoded(vm_machine *a, bool metered) {
    vm_proc *r = vm_root(a);
    a->chain[0] = VM_ROOT;
    a->nchain = 1;
    if (r->child == VM_NONE) {
        /* The root alone: its own limits are the whole budget, exactly. */
        vm_budget b = {sat_left(r->lim.gas, r->gas_used), sat_left(r->lim.memtime, r->memtime), 0,
                       (int64_t)r->lim.mem};
        vm_status st =
            metered ? vm_interp_exec(a, r, &b, false) : vm_interp_nm_exec(a, r, &b, false);
        if (st != VM_ST_RECURSE) return st;
        r->status = VM_RUNNING;
        vm_proc *C = recurse_start(a, 1, r);
        if (C) a->chain[a->nchain++] = C->id;
    }
    return supervise(a, metered);
}

vm_status vm_run(vm_machine *a) {
    return run(a, true);
}
vm_status vm_run_unmetered(vm_machine *a) {
    return run(a, false);
}
