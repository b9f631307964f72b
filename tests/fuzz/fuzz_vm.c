/* libFuzzer: any bytes as native code (with a few initial stack words and
 * limits taken from the input) run to a status within their limits; and
 * when vm_run_cases batches the code, each case gives what vm_run gives. */
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

enum { NCASES = 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vm_machine *a;
    if (!a && !(a = vm_machine_new())) abort();
    if (size < 4) return 0;
    vm_limits l = {.gas = 1 + data[0] * 40u,
                   .mem = 1 + data[1] * 8u,
                   .stack = 1 + data[2],
                   .memtime = data[3] ? data[3] * 500u : 0,
                   .underflow = data[3] & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT};
    const uint8_t *code = data + 4;
    size_t len = size - 4;
    if (vm_set_limits(a, &l)) return 0;
    /* the cases: (3, -2), (0, INT64_MIN), (-7, the code's length) */
    static const vm_word in[NCASES * 2] = {3, -2, 0, INT64_MIN, -7, 0};
    vm_word cin[NCASES * 2], out[NCASES * 2];
    memcpy(cin, in, sizeof in);
    cin[5] = (vm_word)len;
    vm_cases_result r;
    int rc = vm_run_cases(a, code, len, cin, 2, NCASES, 2, out, &r);
    for (int i = 0; i < NCASES; i++) {
        if (vm_load(a, code, len)) return 0;
        vm_set_args(a, cin + 2 * i, 2);
        if (vm_push(a, cin[2 * i]) || vm_push(a, cin[2 * i + 1])) return 0;
        vm_status s = vm_run(a);
        vm_meters m;
        vm_meters_get(a, &m);
        if (s == VM_RUNNING || m.gas > l.gas || m.mem > l.mem) abort();
        if (rc != 0) continue;
        uint32_t d = vm_depth(a);
        if (s != r.status || m.gas != r.m.gas || m.memtime != r.m.memtime || d != r.depth) abort();
        for (uint32_t k = 0; s == VM_HALTED && k < 2; k++)
            if (out[2 * i + k] != (d + k >= 2 ? vm_stack(a)[d + k - 2] : 0)) abort();
    }
    return 0;
}
