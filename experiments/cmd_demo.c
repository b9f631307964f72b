/* frugal demo: what the metered VM does, shown on real programs. Until the
 * GP engine lands this runs the VM itself: metering, suspension on a
 * resource, refuel and resume, and fixed-point arithmetic. */
#include "experiments/cli.h"
#include "vm/vm.h"

#include <inttypes.h>
#include <string.h>

static const char sum_src[] = "; sum of 1..n, n on the stack\n"
                              "        PUSH 0          ; acc\n"
                              "loop:   OVER            ; n acc n\n"
                              "        JZ done\n"
                              "        OVER\n"
                              "        ADD             ; n acc+n\n"
                              "        SWAP 0\n"
                              "        PUSH 1\n"
                              "        SUB\n"
                              "        SWAP 0          ; n-1 acc+n\n"
                              "        JMP loop\n"
                              "done:   SWAP 0\n"
                              "        POP\n"
                              "        HALT\n";

static const char hyp_src[] = "; hypotenuse in Q32.32: sqrt(a*a + b*b)\n"
                              "        DUP 0\n"
                              "        FMUL\n"
                              "        SWAP 0\n"
                              "        DUP 0\n"
                              "        FMUL\n"
                              "        ADD\n"
                              "        FSQRT\n";

static void show(const char *what, vm_arena *a) {
    vm_meters m;
    vm_meters_get(a, &m);
    printf("  %-34s %-12s gas %-8" PRIu64 " memtime %-9" PRIu64 " top %" PRId64 "\n", what,
           vm_status_name(vm_status_get(a)), m.gas, m.memtime,
           vm_depth(a) ? vm_stack(a)[vm_depth(a) - 1] : 0);
}

int exp_cmd_demo(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: frugal demo\nRuns the default demonstration and prints what happened.\n");
        return EXP_EXIT_OK;
    }
    int rc = EXP_EXIT_FAIL;
    vm_buf sum = {0}, hyp = {0};
    vm_arena *a = vm_arena_new();
    if (!a) goto cleanup;
    if (vm_asm(sum_src, strlen(sum_src), "sum.s", &sum, stderr) ||
        vm_asm(hyp_src, strlen(hyp_src), "hyp.s", &hyp, stderr))
        goto cleanup;

    printf("frugal demo: the metered VM\n\n");
    printf("1. sum of 1..1000 with ample gas\n");
    vm_load(a, sum.data, sum.len);
    vm_push(a, 1000);
    vm_run(a);
    show("one run", a);
    vm_meters full;
    vm_meters_get(a, &full);

    printf("\n2. the same with 1000 gas at a time: it stops, is refuelled, resumes\n");
    vm_load(a, sum.data, sum.len);
    vm_push(a, 1000);
    vm_limits l = {.gas = 1000};
    int stops = 0;
    vm_set_limits(a, &l);
    while (vm_run(a) == VM_OUT_OF_GAS) {
        stops++;
        if (stops <= 3) show("stopped, refuelling", a);
        l.gas += 1000;
        vm_set_limits(a, &l);
    }
    show("finished", a);
    vm_meters m;
    vm_meters_get(a, &m);
    printf("  %d stops; same result, gas and memtime as one run: %s\n", stops,
           m.gas == full.gas && m.memtime == full.memtime ? "yes" : "NO");

    printf("\n3. a runaway program is a status, never a hang: sum of 1..10^12 with 10^6 gas\n");
    vm_load(a, sum.data, sum.len);
    vm_set_limits(a, &(vm_limits){.gas = 1000000});
    vm_push(a, 1000000000000);
    vm_run(a);
    show("bounded", a);

    printf("\n4. fixed point: hypotenuse of 3 and 4 in Q32.32\n");
    vm_load(a, hyp.data, hyp.len);
    vm_push(a, vm_fx_from_int(3));
    vm_push(a, vm_fx_from_int(4));
    vm_run(a);
    show("sqrt(3*3 + 4*4)", a);
    printf("  = %.10f\n", vm_fx_to_double(vm_stack(a)[0]));
    rc = stops > 0 && m.gas == full.gas ? EXP_EXIT_OK : EXP_EXIT_FAIL;
cleanup:
    vm_buf_free(&sum);
    vm_buf_free(&hyp);
    vm_arena_free(a);
    return rc;
}
