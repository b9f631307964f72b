/* libFuzzer: any bytes given to the snapshot reader get an error or a tree
 * that runs to a status. */
#include "vm/vm.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vm_machine *a;
    if (!a && !(a = vm_machine_new())) abort();
    char err[256];
    if (vm_snapshot_load(a, data, size, err, sizeof err) == 0) {
        vm_limits l;
        vm_get_limits(a, &l);
        l.gas = 10000;
        if (l.mem > 100000) l.mem = 100000;
        vm_set_limits(a, &l);
        vm_run(a);
        vm_buf b = {0};
        vm_snapshot_save(a, &b); /* and what it became saves again */
        vm_buf_free(&b);
    }
    return 0;
}
