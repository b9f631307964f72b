/* The arena: the public process API around the interpreter. */
#include "vm/vm_impl.h"

#include <stdlib.h>
#include <string.h>

int vm_grow(void **p, uint32_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    if (need > UINT32_MAX) return -1;
    size_t n = (size_t)*cap * 2;
    if (n < need) n = need;
    if (n > UINT32_MAX) n = UINT32_MAX;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = (uint32_t)n;
    return 0;
}

vm_arena *vm_arena_new(void)
{
    vm_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (vm_set_limits(a, &(vm_limits){0}) || vm_load(a, NULL, 0)) {
        vm_arena_free(a);
        return NULL;
    }
    return a;
}

void vm_arena_free(vm_arena *a)
{
    if (!a) return;
    free(a->code);
    free(a->cells);
    free(a->cold);
    free(a->fix);
    free(a->fast_at);
    free(a->step_at);
    free(a->lead);
    free(a->stack);
    free(a->heap);
    free(a->calls);
    free(a);
}

int vm_load(vm_arena *a, const uint8_t *code, size_t len)
{
    if (len > VM_MAX_CODE) return -1;
    if (vm_grow((void **)&a->code, &a->code_cap, len ? len : 1, 1)) return -1;
    if (len) memcpy(a->code, code, len);
    a->len = (uint32_t)len;
    a->decoded = 0;
    if (vm_interp_decode(a)) return -1;
    vm_reset(a);
    return 0;
}

void vm_reset(vm_arena *a)
{
    a->depth = a->msize = a->ncalls = a->ip = 0;
    a->status = VM_RUNNING;
    a->gas_used = a->memtime = 0;
}

static uint64_t clamp(uint64_t v, uint64_t dflt, uint64_t max)
{
    if (v == 0) v = dflt;
    return v > max ? max : v;
}

int vm_set_limits(vm_arena *a, const vm_limits *l)
{
    vm_limits n = {
        .gas = clamp(l->gas, VM_DEFAULT_GAS, VM_MAX_GAS),
        .mem = (uint32_t)clamp(l->mem, VM_DEFAULT_MEM, VM_MAX_MEM),
        .memtime = clamp(l->memtime, VM_MAX_MEMTIME, VM_MAX_MEMTIME),
        .stack = (uint32_t)clamp(l->stack, VM_DEFAULT_STACK, VM_MAX_STACK),
        .calls = (uint32_t)clamp(l->calls, VM_DEFAULT_CALLS, VM_MAX_CALLS),
    };
    /* The stack never holds more than stack words; keep the contents. */
    if (vm_grow((void **)&a->stack, &a->stack_alloc, (size_t)n.stack + 1, sizeof(vm_word)) ||
        vm_grow((void **)&a->calls, &a->calls_alloc, (size_t)n.calls + 1, sizeof(uint32_t)))
        return -1;
    a->lim = n;
    return 0;
}

void vm_get_limits(const vm_arena *a, vm_limits *l) { *l = a->lim; }

int vm_push(vm_arena *a, vm_word w)
{
    if (a->depth >= a->lim.stack || (uint64_t)a->depth + a->msize + a->ncalls >= a->lim.mem)
        return -1;
    a->stack[a->depth++] = w;
    return 0;
}

vm_status vm_run(vm_arena *a)
{
    if (a->status == VM_HALTED) return VM_HALTED;
    if (a->decoded != 1 && vm_interp_decode(a)) return a->status = VM_OUT_OF_MEMORY;
    if (a->depth > a->lim.stack) return a->status = VM_STACK_OVERFLOW;
    return vm_interp_run(a);
}

vm_status vm_run_unmetered(vm_arena *a)
{
    if (a->status == VM_HALTED) return VM_HALTED;
    if (a->decoded != 2 && vm_interp_nm_decode(a)) return a->status = VM_OUT_OF_MEMORY;
    if (a->depth > a->lim.stack) return a->status = VM_STACK_OVERFLOW;
    return vm_interp_nm_run(a);
}

vm_status vm_status_get(const vm_arena *a) { return a->status; }
uint32_t vm_ip(const vm_arena *a) { return a->ip; }
uint32_t vm_depth(const vm_arena *a) { return a->depth; }
const vm_word *vm_stack(const vm_arena *a) { return a->stack; }
uint32_t vm_msize(const vm_arena *a) { return a->msize; }
const vm_word *vm_heap(const vm_arena *a) { return a->heap; }
uint32_t vm_call_depth(const vm_arena *a) { return a->ncalls; }

void vm_meters_get(const vm_arena *a, vm_meters *m)
{
    m->gas = a->gas_used;
    m->memtime = a->memtime;
    m->mem = a->depth + a->msize + a->ncalls;
}

uint64_t vm_gas_left(const vm_arena *a)
{
    return a->lim.gas > a->gas_used ? a->lim.gas - a->gas_used : 0;
}

void vm_set_trace(vm_arena *a, vm_trace_fn fn, void *ctx)
{
    a->trace = fn;
    a->trace_ctx = ctx;
}

void vm_set_stepping(vm_arena *a, bool on) { a->stepping = on; }
