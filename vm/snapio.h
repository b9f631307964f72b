/* Internal to vm/: shorthands for the snapshot writer and reader
 * (base_wr and base_rd of base/base.h), used by the modules that serialize
 * their own state into a snapshot (vm/snapshot.c, EVM processes:
 * vm/evm_proc.c, vm/evm/interp.c, vm/evm/memhost.c). Integers are
 * little-endian; the reader never reads past the image. */
#ifndef FRUGAL_VM_SNAPIO_H
#define FRUGAL_VM_SNAPIO_H

#include "vm/vm.h"

/* Shorthands over a writer `w` and a reader `r` in scope. */
#define U8(v)     base_put_u(w, (v), 1)
#define U32(v)    base_put_u(w, (v), 4)
#define U64(v)    base_put_u(w, (uint64_t)(v), 8)
#define G8(what)  ((uint8_t)base_get_u(r, 1, what))
#define G32(what) ((uint32_t)base_get_u(r, 4, what))
#define G64(what) base_get_u(r, 8, what)

#endif
