/* frugal evm through the binary named by $FRUGAL: every policy can be chosen
 * with --policy, a bad one is an error naming it (exit 2), and --help lists
 * the policies and the precompiled contracts. */
#include "testutil.h"

#include <stdio.h>

/* "abc" in memory, STATICCALL SHA-256 (0x02) on it, return the flag */
#define SHA_CALL "62616263600052602060006003601d60025afa60005260206000f3"
#define ONE      "0x0000000000000000000000000000000000000000000000000000000000000001"
#define ZERO     "0x0000000000000000000000000000000000000000000000000000000000000000"

/* frugal evm CODE --policy POLICY: stdout and stderr, then "rc=N" */
static char *evm(const char *code, const char *policy) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s evm %s --policy '%s' 2>&1; echo rc=$?", frugal, code, policy);
    return tu_run_cmd(cmd);
}

static void expect(const char *code, const char *policy, const char *want) {
    char *out = evm(code, policy);
    cr_assert(strstr(out, want), "--policy %s: expected %s in:\n%s", policy, want, out);
    free(out);
}

Test(evm_cli, every_policy_from_the_command_line) {
    expect(SHA_CALL, "allow", "return: " ONE);
    expect(SHA_CALL, "isolated", "return: " ZERO);
    expect(SHA_CALL, "keys:0x02", "return: " ONE);
    expect(SHA_CALL, "keys:0x03,2", "return: " ONE);
    expect(SHA_CALL, "keys:0x03", "return: " ZERO);
    /* per caller: the running contract is 0x...aa */
    expect(SHA_CALL, "keys:0xaa:0x02", "return: " ONE);
    expect(SHA_CALL, "keys:0xbb:0x02", "return: " ZERO);
    expect(SHA_CALL, "tables:128", "return: " ZERO);
    /* tables: slot 3 is in table 0 for 128 bits, slot 2^255 is not */
    expect("6005600355", "tables:128", "status: SUCCESS");
    expect("600560ff60f81b55", "tables:128", "status: DENIED");
    expect("600560ff60f81b55", "tables:1", "status: DENIED");
    expect("600560ff60f81b55", "isolated", "status: SUCCESS");
    expect("6005600155", "tables:256", "status: DENIED");
    expect("6005600055", "tables:256", "status: SUCCESS");
}

Test(evm_cli, bad_policies_are_errors) {
    static const struct {
        const char *policy, *msg;
    } bad[] = {
        {"tables", "--policy tables: expected allow, isolated"},
        {"bogus", "--policy bogus: expected"},
        {"tables:0", "tables:0: BITS must be 1 to 256"},
        {"tables:257", "tables:257: BITS must be 1 to 256"},
        {"tables:x", "tables:x: BITS must be 1 to 256"},
        {"keys:", "keys: '' is not an address"},
        {"keys:0x02,zz", "keys: 'zz' is not an address"},
        {"keys:0x0000000000000000000000000000000000000000ff", "is not an address"},
        {"keys:0xaa:", "keys: '0xaa:' is not CALLER:CALLEE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = evm("6000", bad[i].policy);
        cr_assert(strstr(out, bad[i].msg) && strstr(out, "rc=2"), "--policy %s:\n%s", bad[i].policy,
                  out);
        free(out);
    }
}

Test(evm_cli, help_lists_policies_and_precompiles) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s evm --help; echo rc=$?", frugal);
    char *out = tu_run_cmd(cmd);
    static const char *const want[] = {"keys:ITEM[,ITEM...]",  "CALLER:CALLEE",
                                       "tables:BITS",          "isolated",
                                       "KZG point evaluation", "rc=0"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(out, want[i]), "--help lacks %s:\n%s", want[i], out);
    free(out);
}
