/* Internal to vm/: the snapshot writer and reader (vm/snapshot.c), shared
 * by the modules that serialize their own state into a snapshot (EVM
 * processes: vm/evm_proc.c, vm/evm/interp.c, vm/evm/memhost.c). Integers are
 * little-endian. The reader never reads past the image: a short read, a
 * count over its limit or over the bytes left sets an error naming the
 * offset and the problem, and every later read returns 0. */
#ifndef FRUGAL_VM_SNAPIO_H
#define FRUGAL_VM_SNAPIO_H

#include "vm/vm.h"

typedef struct {
    vm_buf *b;
    int err;
} vm_wr;

void vm_put(vm_wr *w, const void *p, size_t n);
void vm_put_u(vm_wr *w, uint64_t v, int bytes);

typedef struct {
    const uint8_t *d;
    size_t n, off;
    char *err;
    size_t errcap;
    bool bad;
} vm_rd;

void vm_rd_fail(vm_rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t vm_get_u(vm_rd *r, int bytes, const char *what);
/* n bytes into out (zeroes after an error). */
void vm_get(vm_rd *r, void *out, size_t n, const char *what);
/* A count of items of `size` bytes each must be at most max and fit in what
 * is left. */
bool vm_room_for(vm_rd *r, uint64_t count, uint64_t size, uint64_t max, const char *what);

/* Shorthands over a writer `w` and a reader `r` in scope. */
#define U8(v)     vm_put_u(w, (v), 1)
#define U32(v)    vm_put_u(w, (v), 4)
#define U64(v)    vm_put_u(w, (uint64_t)(v), 8)
#define G8(what)  ((uint8_t)vm_get_u(r, 1, what))
#define G32(what) ((uint32_t)vm_get_u(r, 4, what))
#define G64(what) vm_get_u(r, 8, what)

#endif
