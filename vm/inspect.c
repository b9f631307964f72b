/* Inspection of what a process holds (vm_proc_regions, for frugal inspect
 * --image): its own memory, pages, channels and EVM frames. */
#include "vm/vm_impl.h"

static void words(vm_region_fn fn, void *ctx, vm_region_kind kind, uint32_t obj, const vm_word *w,
                  size_t n) {
    if (n) fn(ctx, &(vm_region){kind, obj, w, NULL, n});
}

/* Whether key i of p is the first of p's keys to (kind, obj). */
static bool first_key(const vm_proc *p, uint32_t i) {
    for (uint32_t k = 0; k < i; k++)
        if (p->keys[k].kind == p->keys[i].kind && p->keys[k].obj == p->keys[i].obj) return false;
    return true;
}

int vm_proc_regions(const vm_machine *a, uint32_t id, vm_region_fn fn, void *ctx) {
    if (id >= a->nprocs || !a->procs[id]->live) return -1;
    const vm_proc *p = a->procs[id];
    words(fn, ctx, VM_REGION_STACK, 0, p->stack, p->depth);
    words(fn, ctx, VM_REGION_HEAP, 0, p->heap, p->msize);
    vm_word buf[64]; /* return addresses are 32-bit: as words, 64 at a time */
    for (uint32_t i = 0; i < p->ncalls; i += 64) {
        uint32_t n = p->ncalls - i < 64 ? p->ncalls - i : 64;
        for (uint32_t k = 0; k < n; k++)
            buf[k] = p->calls[i + k];
        words(fn, ctx, VM_REGION_CALLS, 0, buf, n);
    }
    for (uint32_t g = 0; g < a->npages; g++) /* owned pages */
        if (a->pages[g].live && a->pages[g].owner == id)
            words(fn, ctx, VM_REGION_PAGE, g, a->pages[g].words, a->pages[g].n);
    for (uint32_t i = 0; i < p->nkeys; i++) { /* pages of others it may use */
        const vm_key *k = &p->keys[i];
        if (k->kind != VM_KEY_PAGE || k->obj >= a->npages || !first_key(p, i)) continue;
        const vm_page *g = &a->pages[k->obj];
        if (g->live && g->owner != id) words(fn, ctx, VM_REGION_PAGE, k->obj, g->words, g->n);
    }
    for (uint32_t i = 0; i < p->nkeys; i++) {
        const vm_key *k = &p->keys[i];
        if (k->kind != VM_KEY_CHAN || k->obj >= a->nchans || !first_key(p, i)) continue;
        const vm_chan *c = &a->chans[k->obj];
        uint32_t first = c->len < c->alloc - c->head ? c->len : c->alloc - c->head;
        words(fn, ctx, VM_REGION_CHAN, k->obj, c->words + c->head, first);
        words(fn, ctx, VM_REGION_CHAN, k->obj, c->words, c->len - first); /* wrapped */
    }
    vm_evm_regions(p, fn, ctx);
    return 0;
}
