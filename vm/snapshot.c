/* Snapshots ("jumping processes"): the whole machine as a portable byte image
 * (docs/snapshot.md). The decoder trusts nothing: every count is checked
 * against the bytes left before anything is allocated, and the restored
 * tree must add up (owners, keys, suspended chains, words held). */
#include "vm/snapio.h"
#include "vm/vm_impl.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SNAP_MAGIC   "FRUGSNAP"
#define SNAP_VERSION 5u /* writes 5; reads 1 to 5 */
#define SNAP_HEADER  32u
#define IMAGE_MAGIC  "FRUGPROC" /* a process subtree (SAVECHILD); version 5 on */

/* ---- writing ---- */

static void put_limits(base_wr *w, const vm_limits *l) {
    U64(l->gas);
    U32(l->mem);
    U64(l->memtime);
    U32(l->stack);
    U32(l->calls);
    U32(l->nest);
    U32(l->keys);
    U8(l->underflow);
}

/* How ids are written: identity for a snapshot; for an image (a subtree),
 * image ids, and VM_NONE for an object outside it, whose key is written as
 * an empty slot. */
typedef struct {
    const uint32_t *proc, *page; /* NULL: identity */
    uint32_t nproc, npage;       /* their lengths */
    bool image;
} idmap;

static uint32_t map_id(const uint32_t *m, uint32_t id) {
    return m && id != VM_NONE ? m[id] : id;
}

/* One live process's record (docs/snapshot.md, "Payload"). */
static int put_proc(base_wr *w, const vm_proc *p, const idmap *m) {
    U32(m->image && m->proc[p->id] == 0 ? VM_NONE : map_id(m->proc, p->parent));
    U32(map_id(m->proc, p->child));
    U32(p->status);
    U32(p->ip);
    put_limits(w, &p->lim);
    U64(p->gas_used);
    U64(p->memtime);
    U64(p->held);
    U64(p->rec_gas0);
    U64(p->rec_mt0);
    U32(p->len);
    base_put(w, p->code, p->len);
    U32(p->depth);
    for (uint32_t k = 0; k < p->depth; k++)
        U64(p->stack[k]);
    U32(p->msize);
    for (uint32_t k = 0; k < p->msize; k++)
        U64(p->heap[k]);
    U32(p->ncalls);
    for (uint32_t k = 0; k < p->ncalls; k++)
        U32(p->calls[k]);
    U32(p->nargs);
    for (uint32_t k = 0; k < p->nargs; k++)
        U64(p->args[k]);
    U32(p->nkeys);
    for (uint32_t k = 0; k < p->nkeys; k++) {
        vm_key key = p->keys[k];
        if (m->image) {
            bool proc = key.kind == VM_KEY_PROC || key.kind == VM_KEY_CALL;
            uint32_t obj = proc && key.obj < m->nproc                      ? m->proc[key.obj]
                           : key.kind == VM_KEY_PAGE && key.obj < m->npage ? m->page[key.obj]
                                                                           : VM_NONE;
            key = obj == VM_NONE ? (vm_key){0} : (vm_key){key.kind, key.rights, obj};
        }
        U8(key.kind);
        U8(key.rights);
        U32(key.obj);
    }
    base_rng g = vm_proc_stream(&p->rng, p->place); /* the same bytes, derived or not */
    U64(g.state);
    U64(g.inc);
    U64(p->place);
    U32(p->nborn);
    U8(p->evm != NULL);
    return p->evm ? vm_evm_save(p, w) : 0;
}

static void put_page(base_wr *w, const vm_page *g) {
    U8(g->live);
    U32(g->owner);
    U32(g->live ? g->n : 0);
    if (g->live)
        for (uint32_t k = 0; k < g->n; k++)
            U64(g->words[k]);
}

/* The 32-byte header before a payload of out (magic, version, flags,
 * payload length, crc32 of the payload). */
static void put_header(vm_buf *out, const char *magic) {
    uint8_t *h = out->data;
    uint64_t plen = out->len - SNAP_HEADER;
    uint32_t crc = (uint32_t)crc32(0L, out->data + SNAP_HEADER, (uInt)0);
    for (uint64_t off = 0; off < plen;) {
        uInt n = plen - off > 1u << 30 ? 1u << 30 : (uInt)(plen - off);
        crc = (uint32_t)crc32(crc, out->data + SNAP_HEADER + off, n);
        off += n;
    }
    memcpy(h, magic, 8);
    base_le_put(h + 8, SNAP_VERSION, 4);
    base_le_put(h + 16, plen, 8);
    base_le_put(h + 24, crc, 4);
}

int vm_snapshot_save(const vm_machine *a, vm_buf *out) {
    base_wr ww = {out, 0}, *w = &ww;
    out->len = 0;
    uint8_t hdr[SNAP_HEADER] = {0};
    base_put(w, hdr, sizeof hdr);
    U32(a->nprocs);
    idmap same = {NULL, NULL, 0, 0, false};
    for (uint32_t i = 0; i < a->nprocs; i++) {
        const vm_proc *p = a->procs[i];
        U8(p->live);
        if (p->live && put_proc(w, p, &same)) return -1;
    }
    U32(a->npages);
    for (uint32_t i = 0; i < a->npages; i++)
        put_page(w, &a->pages[i]);
    U32(a->nchans);
    for (uint32_t i = 0; i < a->nchans; i++) {
        const vm_chan *c = &a->chans[i];
        U32(c->cap);
        U32(c->len);
        for (uint32_t k = 0; k < c->len; k++)
            U64(c->words[(c->head + k) % c->alloc]);
    }
    U64(a->seed);
    if (w->err) return -1;
    put_header(out, SNAP_MAGIC);
    return 0;
}

int vm_image_save(const vm_machine *a, const uint32_t *order, uint32_t n, const uint32_t *procmap,
                  const uint32_t *pagemap, vm_buf *out) {
    base_wr ww = {out, 0}, *w = &ww;
    out->len = 0;
    uint8_t hdr[SNAP_HEADER] = {0};
    base_put(w, hdr, sizeof hdr);
    U32(n);
    idmap m = {procmap, pagemap, a->nprocs, a->npages, true};
    for (uint32_t i = 0; i < n; i++) {
        U8(1);
        if (put_proc(w, a->procs[order[i]], &m)) return -1;
    }
    uint32_t np = 0;
    for (uint32_t i = 0; i < a->npages; i++)
        np += pagemap[i] != VM_NONE;
    U32(np);
    for (uint32_t i = 0; i < a->npages; i++) {
        if (pagemap[i] == VM_NONE) continue;
        vm_page g = a->pages[i];
        g.owner = procmap[g.owner];
        put_page(w, &g);
    }
    if (w->err) return -1;
    put_header(out, IMAGE_MAGIC);
    return 0;
}

/* ---- reading ---- */

static void get_limits(base_rd *r, vm_limits *l, uint32_t version) {
    l->gas = G64("a gas limit");
    l->mem = G32("a memory limit");
    l->memtime = G64("a memory-time limit");
    l->stack = G32("a stack limit");
    l->calls = G32("a call limit");
    l->nest = G32("a nesting limit");
    l->keys = G32("a key limit");
    l->underflow = version >= 4 ? G8("an underflow rule") : VM_UNDERFLOW_FAULT;
    if (r->bad) return;
    if (l->underflow != VM_UNDERFLOW_FAULT && l->underflow != VM_UNDERFLOW_SKIP)
        base_rd_fail(r, "unknown underflow rule %u", l->underflow);
    if (l->gas > VM_MAX_GAS || l->mem > VM_MAX_MEM || l->memtime > VM_MAX_MEMTIME ||
        l->stack == 0 || l->stack > VM_MAX_STACK || l->calls == 0 || l->calls > VM_MAX_CALLS ||
        l->nest == 0 || l->nest > VM_MAX_NEST || l->keys == 0 || l->keys > VM_MAX_KEYS)
        base_rd_fail(r, "limits out of range");
}

/* Is pc the start of an instruction of the linear decoding (or the end)? */
static bool insn_start(const vm_proc *p, uint32_t pc) {
    if (pc > p->len) return false;
    if (p->fast_at[pc] != VM_NONE) return true; /* every leader is a start */
    uint32_t at = 0;
    while (at < pc) {
        vm_insn in;
        vm_decode(p->code, p->len, at, &in);
        at += in.len;
    }
    return at == pc;
}

/* Words held, recomputed from the tree (children first). */
static int held_of(vm_machine *a, uint32_t id, uint64_t *out, int depth) {
    vm_proc *p = a->procs[id];
    if (depth > (int)VM_MAX_NEST) return -1;
    uint64_t h = p->nkeys;
    for (uint32_t i = 0; i < a->npages; i++)
        if (a->pages[i].live && a->pages[i].owner == id) h += a->pages[i].n;
    for (uint32_t k = 0; k < p->nkeys; k++) {
        if (p->keys[k].kind != VM_KEY_PROC) continue;
        vm_proc *c = a->procs[p->keys[k].obj];
        uint64_t ch;
        if (held_of(a, c->id, &ch, depth + 1)) return -1;
        if (ch != c->held) return -1;
        h += VM_PROC_WORDS + (c->len + 7u) / 8u + c->nargs + (uint64_t)c->depth + c->msize +
             c->ncalls + ch + c->ewords;
    }
    *out = h;
    return 0;
}

/* Read a snapshot, or with cap an image (a subtree: docs/snapshot.md,
 * "Process images") whose processes' shape limits may not pass cap's. */
static int load(vm_machine *a, const uint8_t *d, size_t n, char *err, size_t errcap,
                const vm_limits *cap) {
    base_rd rr = {d, n, 0, err, errcap, false}, *r = &rr;
    if (errcap) err[0] = 0;
    if (n < SNAP_HEADER) {
        base_rd_fail(r, "truncated: %zu bytes is shorter than the %u-byte header", n, SNAP_HEADER);
        return -1;
    }
    if (memcmp(d, cap ? IMAGE_MAGIC : SNAP_MAGIC, 8) != 0) {
        base_rd_fail(r, "not a frugal %s (bad magic)", cap ? "process image" : "snapshot");
        return -1;
    }
    r->off = 8;
    uint32_t version = G32("the version");
    if (cap && version != SNAP_VERSION) { /* images began with version 5 */
        r->off = 8;
        base_rd_fail(r, "process image version %u; this frugal reads version %u", version,
                     SNAP_VERSION);
        return -1;
    }
    if (version < 1 || version > SNAP_VERSION) {
        r->off = 8;
        base_rd_fail(r, "snapshot format version %u; this frugal reads versions 1 to %u", version,
                     SNAP_VERSION);
        return -1;
    }
    uint32_t flags = G32("the flags");
    if (flags != 0) {
        r->off = 12;
        base_rd_fail(r, "unknown flags %08x (this frugal writes 0)", flags);
        return -1;
    }
    uint64_t plen = G64("the payload length");
    uint32_t crc = G32("the checksum");
    if (G32("the reserved word") != 0) {
        r->off = 28;
        base_rd_fail(r, "the reserved word is not 0");
        return -1;
    }
    if (plen != n - SNAP_HEADER) {
        r->off = 16;
        base_rd_fail(r, "payload length %llu, but %zu bytes follow the header",
                     (unsigned long long)plen, n - SNAP_HEADER);
        return -1;
    }
    uint32_t got = (uint32_t)crc32(0L, d + SNAP_HEADER, 0);
    for (uint64_t off = 0; off < plen;) {
        uInt k = plen - off > 1u << 30 ? 1u << 30 : (uInt)(plen - off);
        got = (uint32_t)crc32(got, d + SNAP_HEADER + off, k);
        off += k;
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let the fuzzer past the checksum */
    if (got != crc) {
        r->off = 24;
        base_rd_fail(r, "checksum mismatch (stored %08x, computed %08x): the image is corrupt", crc,
                     got);
        return -1;
    }
#endif
    r->off = SNAP_HEADER;

    /* Build into the machine: first reset it to a single empty root. */
    vm_reset(a);
    uint32_t np = G32("the process count");
    /* an image has no dead slots: each process takes at least 128 bytes */
    if (!base_room_for(r, np, cap ? 128 : 1, 1u << 24, "the process count")) return -1;
    if (np == 0) {
        base_rd_fail(r, "no root process");
        return -1;
    }
    /* allocate slots */
    while (a->nprocs < np)
        if (vm_procs_add(a)) goto oom;
    for (uint32_t i = 0; i < a->nprocs; i++) {
        vm_proc *p = a->procs[i];
        p->live = false;
        vm_evm_free(p->evm);
        p->evm = NULL;
        p->ewords = 0;
        p->need_gas = p->need_grow = p->need_stack = 0;
        p->caller = VM_NONE;
        p->callable = false;
        p->mark = 0; /* below: 1 for a process some suspended instruction is inside */
    }
    for (uint32_t i = 0; i < np && !r->bad; i++) {
        vm_proc *p = a->procs[i];
        uint8_t live = G8("a process's live flag");
        if (live > 1) base_rd_fail(r, "process %u: live flag %u", i, live);
        if ((i == 0 || cap) && live != 1) base_rd_fail(r, "process %u is not live", i);
        if (r->bad || !live) continue;
        p->id = i;
        p->live = true;
        p->parent = G32("a parent id");
        p->child = G32("a child id");
        p->status = (vm_status)G32("a status");
        p->ip = G32("an instruction pointer");
        get_limits(r, &p->lim, version);
        if (!r->bad && cap &&
            (p->lim.stack > cap->stack || p->lim.calls > cap->calls || p->lim.nest > cap->nest ||
             p->lim.keys > cap->keys))
            base_rd_fail(r, "process %u: stack, call, nesting or key limits over the loader's", i);
        p->gas_used = G64("gas used");
        p->memtime = G64("memory-time used");
        p->held = G64("words held");
        p->rec_gas0 = G64("a RECURSE start");
        p->rec_mt0 = G64("a RECURSE start");
        uint32_t len = G32("a code length");
        if (r->bad) break;
        if ((uint32_t)p->status >= VM_NSTATUS)
            base_rd_fail(r, "process %u: unknown status %u", i, p->status);
        if (!base_room_for(r, len, 1, VM_MAX_CODE, "a code length")) break;
        if (vm_grow((void **)&p->code, &p->code_cap, len ? len : 1, 1)) goto oom;
        memcpy(p->code, d + r->off, len);
        p->len = len;
        r->off += len;
        if (vm_interp_decode(a, p)) goto oom;
        uint32_t depth = G32("a stack depth");
        if (!r->bad && depth > p->lim.stack)
            base_rd_fail(r, "process %u: stack depth over its limit", i);
        if (!base_room_for(r, depth, 8, VM_MAX_STACK, "a stack depth")) break;
        if (vm_grow((void **)&p->stack, &p->stack_alloc, (size_t)p->lim.stack + 1,
                    sizeof(vm_word)) ||
            vm_grow((void **)&p->calls, &p->calls_alloc, (size_t)p->lim.calls + 1,
                    sizeof(uint32_t)))
            goto oom;
        for (uint32_t k = 0; k < depth; k++)
            p->stack[k] = (vm_word)G64("a stack word");
        p->depth = depth;
        uint32_t msize = G32("a heap size");
        if (!base_room_for(r, msize, 8, VM_MAX_MEM, "a heap size")) break;
        if (msize && vm_grow((void **)&p->heap, &p->heap_alloc, msize, sizeof(vm_word))) goto oom;
        for (uint32_t k = 0; k < msize; k++)
            p->heap[k] = (vm_word)G64("a heap word");
        p->msize = msize;
        uint32_t ncalls = G32("a call depth");
        if (!r->bad && ncalls > p->lim.calls)
            base_rd_fail(r, "process %u: call depth over its limit", i);
        if (!base_room_for(r, ncalls, 4, VM_MAX_CALLS, "a call depth")) break;
        for (uint32_t k = 0; k < ncalls && !r->bad; k++) {
            uint32_t ret = G32("a return address");
            p->calls[k] = ret;
            if (r->bad) break;
            if (!(ret & VM_LOOP_TAG)) {
                if (!insn_start(p, ret))
                    base_rd_fail(r, "process %u: return address %u is not an instruction", i, ret);
                continue;
            }
            /* a loop frame (v4): its round count, then its round, below it */
            uint32_t round = k + 1 < ncalls ? G32("a loop round") : 0;
            if (!r->bad &&
                (version < 4 || k + 1 >= ncalls || !(round & VM_LOOP_TAG) ||
                 (ret & VM_LOOP_MAX) == 0 || (round & VM_LOOP_MAX) >= (ret & VM_LOOP_MAX)))
                base_rd_fail(r, "process %u: call stack entry %u is not a loop frame", i, k);
            p->calls[++k] = round;
        }
        p->ncalls = ncalls;
        uint32_t nargs = version >= 4 ? G32("an argument count") : 0;
        if (!r->bad && nargs > VM_MAX_ARGS)
            base_rd_fail(r, "process %u: %u argument words (at most %u)", i, nargs, VM_MAX_ARGS);
        if (!base_room_for(r, nargs, 8, VM_MAX_ARGS, "an argument count")) break;
        if (nargs && vm_grow((void **)&p->args, &p->args_alloc, nargs, sizeof(vm_word))) goto oom;
        for (uint32_t k = 0; k < nargs; k++)
            p->args[k] = (vm_word)G64("an argument word");
        p->nargs = nargs;
        uint32_t nkeys = G32("a key count");
        if (!r->bad && nkeys > p->lim.keys)
            base_rd_fail(r, "process %u: more keys than its limit", i);
        if (!base_room_for(r, nkeys, 6, VM_MAX_KEYS, "a key count")) break;
        if (nkeys && vm_grow((void **)&p->keys, &p->keys_alloc, nkeys, sizeof(vm_key))) goto oom;
        for (uint32_t k = 0; k < nkeys; k++) {
            p->keys[k].kind = G8("a key kind");
            p->keys[k].rights = G8("key rights");
            p->keys[k].obj = G32("a key object");
            if (!r->bad && (p->keys[k].kind > (version >= 3 ? VM_KEY_CALL : VM_KEY_CHAN) ||
                            p->keys[k].rights > VM_RIGHTS_ALL))
                base_rd_fail(r, "process %u: key %u has kind %u, rights %u", i, k, p->keys[k].kind,
                             p->keys[k].rights);
        }
        p->nkeys = nkeys;
        if (version >= 5) {
            p->rng.state = G64("a RAND state");
            p->rng.inc = G64("a RAND increment");
            p->place = G64("a place");
            p->nborn = G32("a child count");
            if (!r->bad && !(p->rng.inc & 1))
                base_rd_fail(r, "process %u: RAND increment %llx is even", i,
                             (unsigned long long)p->rng.inc);
        } else { /* before RAND: every process gets a stream of its own */
            p->place = i == 0 ? 0 : vm_place_child(0, i);
            vm_place_stream(&p->rng, p->place);
            p->nborn = 0;
        }
        uint8_t kind = version >= 2 ? G8("a process kind") : 0;
        if (!r->bad && (kind > 1 || (kind && (i == 0 || cap)) ||
                        (i != 0 && (kind == 1) != vm_evm_container(p->code, p->len))))
            base_rd_fail(r, "process %u: kind %u (0 native, 1 EVM) does not fit its code", i, kind);
        if (!r->bad && kind) {
            if (vm_evm_attach(p)) goto oom;
            if (vm_evm_load(p, r, version) == -2) goto oom;
        }
        if (!r->bad && !insn_start(p, p->ip))
            base_rd_fail(r, "process %u: IP %u is not an instruction", i, p->ip);
    }
    if (r->bad) return -1;

    uint32_t npages = G32("the page count");
    if (!base_room_for(r, npages, 9, 1u << 24, "the page count")) return -1;
    if (vm_grow0((void **)&a->pages, &a->pages_alloc, npages ? npages : 1, sizeof(vm_page)))
        goto oom;
    for (uint32_t i = 0; i < npages && !r->bad; i++) {
        vm_page *g = &a->pages[i];
        uint8_t live = G8("a page's live flag");
        g->owner = G32("a page owner");
        uint32_t pn = G32("a page size");
        if (r->bad) break;
        if (live > 1 || (!live && (pn || cap)))
            base_rd_fail(r, "page %u: bad live flag or size", i);
        if (!base_room_for(r, pn, 8, VM_MAX_MEM, "a page size")) break;
        if (live && (g->owner >= np || !a->procs[g->owner]->live))
            base_rd_fail(r, "page %u: its owner %u is not a live process", i, g->owner);
        if (vm_grow((void **)&g->words, &g->alloc, pn ? pn : 1, sizeof(vm_word))) goto oom;
        for (uint32_t k = 0; k < pn; k++)
            g->words[k] = (vm_word)G64("a page word");
        g->n = pn;
        g->live = live;
    }
    a->npages = npages;
    if (cap) goto tail; /* an image holds no channels and no seed */
    uint32_t nchans = G32("the channel count");
    if (!base_room_for(r, nchans, 8, 1u << 16, "the channel count")) return -1;
    for (uint32_t i = 0; i < nchans && !r->bad; i++) {
        uint32_t ccap = G32("a channel capacity"), len = G32("a channel length");
        if (r->bad) break;
        if (ccap == 0 || ccap > VM_MAX_MEM || len > ccap) {
            base_rd_fail(r, "channel %u: capacity %u, length %u", i, ccap, len);
            break;
        }
        if (!base_room_for(r, len, 8, ccap, "a channel length")) break;
        if (i >= a->nchans && vm_chan_new(a, ccap) < 0) goto oom;
        vm_chan *c = &a->chans[i];
        c->head = c->len = 0; /* emptied, then sized for what the image holds */
        c->cap = ccap;
        if (c->alloc > ccap) c->alloc = 0; /* reserve reallocates at most cap */
        if (vm_chan_reserve(c, len)) goto oom;
        c->len = len;
        for (uint32_t k = 0; k < len; k++)
            c->words[k] = (vm_word)G64("a channel word");
    }
    if (r->bad) return -1;
    a->nchans = nchans > a->nchans ? nchans : a->nchans;
    a->seed = version >= 5 ? G64("the seed") : 0;
tail:
    if (r->bad) return -1;
    if (r->off != r->n) {
        base_rd_fail(r, "%zu bytes of trailing data", r->n - r->off);
        return -1;
    }

    /* The tree must add up. */
    for (uint32_t i = 0; i < np; i++) {
        vm_proc *p = a->procs[i];
        if (!p->live) continue;
        if (i == 0 && p->parent != VM_NONE) goto bad_tree;
        if (i != 0 && (p->parent >= np || !a->procs[p->parent]->live)) goto bad_tree;
        for (uint32_t k = 0; k < p->nkeys; k++) {
            vm_key *key = &p->keys[k];
            if (key->kind == VM_KEY_PROC &&
                (key->obj >= np || key->obj == 0 || !a->procs[key->obj]->live ||
                 a->procs[key->obj]->parent != i))
                goto bad_tree;
            if (key->kind == VM_KEY_PAGE && key->obj >= npages) goto bad_tree;
            if (key->kind == VM_KEY_CHAN && key->obj >= a->nchans) goto bad_tree;
            if (key->kind == VM_KEY_CALL && (key->obj >= np || !a->procs[key->obj]->live ||
                                             (!a->procs[key->obj]->evm && version < 5)))
                goto bad_tree;
        }
        if (p->child != VM_NONE) {
            /* suspended inside RECURSE of that child, or (v5) KCALL of that
             * callee, with its arguments; nothing is suspended in two */
            vm_word *sp = p->stack + p->depth;
            if (p->child >= np || !a->procs[p->child]->live || p->ip >= p->len) goto bad_tree;
            vm_proc *c = a->procs[p->child];
            if (c->mark) goto bad_tree;
            c->mark = 1;
            if (p->code[p->ip] == VM_OP_KCALL) {
                if (version < 5 || p->depth < 3 || sp[-2] < 0 || (uint64_t)sp[-2] >= p->nkeys ||
                    p->keys[sp[-2]].kind != VM_KEY_CALL ||
                    !(p->keys[sp[-2]].rights & VM_RIGHT_CALL) || p->keys[sp[-2]].obj != p->child ||
                    c->evm)
                    goto bad_tree;
                c->caller = i;
            } else if (c->parent != i || p->code[p->ip] != VM_OP_RECURSE || p->ip + 1 >= p->len ||
                       p->code[p->ip + 1] > 1 || p->depth < 4 || sp[-4] < 0 ||
                       (uint64_t)sp[-4] >= p->nkeys || p->keys[sp[-4]].kind != VM_KEY_PROC ||
                       p->keys[sp[-4]].obj != p->child)
                goto bad_tree;
        }
    }
    for (uint32_t i = 0; i < np; i++)
        if (a->procs[i]->live && a->procs[i]->evm && vm_evm_check(a, a->procs[i], r)) return -1;
    /* every live child has exactly one key in its owner; the tree has no cycle */
    for (uint32_t i = 1; i < np; i++) {
        vm_proc *c = a->procs[i];
        if (!c->live) continue;
        uint32_t refs = 0;
        vm_proc *o = a->procs[c->parent];
        for (uint32_t k = 0; k < o->nkeys; k++)
            refs += o->keys[k].kind == VM_KEY_PROC && o->keys[k].obj == i;
        if (refs != 1) goto bad_tree;
        uint32_t steps = 0; /* owners nest no deeper than running chains can */
        for (uint32_t q = i; q != 0 && steps <= VM_MAX_NEST; steps++)
            q = a->procs[q]->parent;
        if (steps > VM_MAX_NEST) goto bad_tree;
    }
    /* a call key to a native process is held only below its owner (docs/isa.md,
     * "Calls"); suspended chains (child links) have no cycle and fit the chain */
    uint64_t linked = 0, walked = 0;
    for (uint32_t i = 0; i < np; i++) {
        vm_proc *p = a->procs[i];
        if (!p->live) continue;
        linked += p->child != VM_NONE;
        for (uint32_t k = 0; k < p->nkeys; k++) {
            if (p->keys[k].kind != VM_KEY_CALL) continue; /* obj names a page or channel */
            vm_proc *c = a->procs[p->keys[k].obj];
            if (c->evm) continue;
            if (c->parent == VM_NONE) {
                if (cap) continue; /* an image's root: its owner is the loader, above all */
                goto bad_tree;
            }
            uint32_t q = p->parent;
            while (q != VM_NONE && q != c->parent)
                q = a->procs[q]->parent;
            if (q == VM_NONE) goto bad_tree;
        }
    }
    for (uint32_t i = 0; i < np; i++) {
        vm_proc *p = a->procs[i];
        if (!p->live || p->mark || p->child == VM_NONE) continue;
        uint32_t len = 1;
        for (uint32_t q = p->child; q != VM_NONE && len <= VM_MAX_NEST; q = a->procs[q]->child)
            len++;
        if (len > VM_MAX_NEST) goto bad_tree;
        walked += len - 1;
    }
    if (walked != linked) goto bad_tree;
    for (uint32_t i = 0; i < np; i++)
        a->procs[i]->mark = 0; /* the supervisor's mark, used above as scratch */
    uint64_t h;
    if (held_of(a, 0, &h, 0) || h != a->procs[0]->held) {
        r->off = SNAP_HEADER;
        base_rd_fail(r, "the words held by the processes do not add up");
        return -1;
    }
    /* a suspended chain can be deeper than the root's nesting limit (it may
     * have been lowered since): room for the deepest possible */
    if (vm_reindex(a) ||
        vm_grow((void **)&a->chain, &a->chain_alloc, (size_t)VM_MAX_NEST + 1, sizeof(uint32_t)))
        goto oom;
    return 0;
bad_tree:
    r->off = SNAP_HEADER;
    base_rd_fail(r, "the process tree is inconsistent (owners, keys or a suspended RECURSE)");
    return -1;
oom:
    base_rd_fail(r, "out of memory while restoring");
    return -1;
}

int vm_snapshot_load(vm_machine *a, const uint8_t *d, size_t n, char *err, size_t errcap) {
    if (load(a, d, n, err, errcap, NULL) == 0) return 0;
    vm_load(a, NULL, 0); /* never leave a half-restored tree */
    return -1;
}

int vm_image_load(vm_machine *a, const uint8_t *d, size_t n, const vm_limits *cap, char *err,
                  size_t errcap) {
    if (load(a, d, n, err, errcap, cap) == 0) return 0;
    vm_load(a, NULL, 0);
    return -1;
}
