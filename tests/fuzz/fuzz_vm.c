/* libFuzzer: any bytes as native code (with a few initial stack words and
 * limits taken from the input) run to a status within their limits. */
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vm_machine *a;
    if (!a && !(a = vm_machine_new())) abort();
    if (size < 4) return 0;
    vm_limits l = {.gas = 1 + data[0] * 40u,
                   .mem = 1 + data[1] * 8u,
                   .stack = 1 + data[2],
                   .memtime = data[3] ? data[3] * 500u : 0};
    if (vm_load(a, data + 4, size - 4) || vm_set_limits(a, &l)) return 0;
    vm_push(a, 3);
    vm_push(a, -2);
    vm_status s = vm_run(a);
    vm_meters m;
    vm_meters_get(a, &m);
    if (s == VM_RUNNING || m.gas > l.gas || m.mem > l.mem) abort();
    return 0;
}
