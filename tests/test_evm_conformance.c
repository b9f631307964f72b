/* The legacy Ethereum VM tests (../shared/conformance/evm-vmtests): all 410
 * must pass under the Frontier schedule. The tests run from the repo root. */
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <criterion/criterion.h>

#define VMTESTS "../shared/conformance/evm-vmtests"

Test(evm_conformance, legacy_vmtests_all_pass) {
    int passed = 0, failed = 0;
    int rc = exp_evm_vmtests_run(VMTESTS, false, &passed, &failed);
    cr_assert_eq(rc, 0, "cannot read %s", VMTESTS);
    cr_expect_eq(failed, 0, "%d legacy VM tests failed", failed);
    cr_assert_eq(passed, 410, "%d of 410 legacy VM tests passed", passed);
}

Test(evm_conformance, missing_dir_is_an_error) {
    int passed = 0, failed = 0;
    cr_assert_eq(exp_evm_vmtests_run("/nonexistent/evm-vmtests", false, &passed, &failed), -1);
}
