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

/* ---- SHA-256, RIPEMD-160, identity: standard digests, formula gas ---- */

Test(evm_precompile, hashes_and_identity) {
    static const struct {
        int id;
        const char *in, *out;
    } cases[] = {
        {2, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {2, "616263", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {3, "", "0000000000000000000000009c1185a5c5e9fc54612808977ee8f548b2258d31"},
        {3, "616263", "0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
        {4, "", ""},
        {4, "616263", "616263"},
    };
    pre_run r = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        uint8_t *in = unhex(cases[i].in, &n);
        run_pre(&r, EVM_FORK_FRONTIER, cases[i].id, in, n, 1000, 1 << 20);
        cr_assert_eq(r.res.status, EVM_SUCCESS);
        cr_assert(out_is(&r, cases[i].out), "precompile %d on %s", cases[i].id, cases[i].in);
        free(in);
    }
    /* gas per 32-byte word: 60 + 12, 600 + 120, 15 + 3 */
    static const size_t lens[] = {0, 1, 31, 32, 33, 64, 1000};
    uint8_t big[1000] = {0};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        int64_t w = (int64_t)((lens[i] + 31) / 32);
        cr_assert_eq(evm_precompile_gas(EVM_FORK_CANCUN, 2, big, lens[i]), 60 + 12 * w);
        cr_assert_eq(evm_precompile_gas(EVM_FORK_CANCUN, 3, big, lens[i]), 600 + 120 * w);
        cr_assert_eq(evm_precompile_gas(EVM_FORK_CANCUN, 4, big, lens[i]), 15 + 3 * w);
        run_pre(&r, EVM_FORK_CANCUN, 4, big, lens[i], 15 + 3 * w, 1 << 20);
        cr_assert_eq(r.res.status, EVM_SUCCESS);
        cr_assert_eq(r.res.output_size, lens[i]);
        run_pre(&r, EVM_FORK_CANCUN, 4, big, lens[i], 14 + 3 * w, 1 << 20);
        cr_assert_eq(r.res.status, EVM_OUT_OF_GAS);
    }
    /* identity's output is capped like any frame's memory */
    run_pre(&r, EVM_FORK_CANCUN, 4, big, 1000, 100000, 999);
    cr_assert_eq(r.res.status, EVM_OUT_OF_MEMORY);
    free(r.buf);
}

/* ---- availability and prices per fork ---- */

Test(evm_precompile, availability_and_prices_per_fork) {
    for (int f = 0; f < EVM_NFORKS; f++) {
        int top = f >= EVM_FORK_CANCUN      ? 10
                  : f >= EVM_FORK_ISTANBUL  ? 9
                  : f >= EVM_FORK_BYZANTIUM ? 8
                                            : 4;
        for (int id = 0; id <= 12; id++) {
            evm_address a = {{[19] = (uint8_t)id}};
            int want = id >= 1 && id <= top ? id : 0;
            cr_assert_eq(evm_precompile_of((evm_fork)f, &a), want, "%s: 0x%02x",
                         evm_fork_name((evm_fork)f), id);
        }
        evm_address hi = {{[0] = 1, [19] = 1}};
        cr_assert_eq(evm_precompile_of((evm_fork)f, &hi), 0);
        if (f < EVM_FORK_BYZANTIUM) continue;
        bool ist = f >= EVM_FORK_ISTANBUL;
        uint8_t pairs[2 * 192] = {0};
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 6, pairs, 128), ist ? 150 : 500);
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 7, pairs, 96), ist ? 6000 : 40000);
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 8, pairs, 0), ist ? 45000 : 100000);
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 8, pairs, 384),
                     ist ? 45000 + 2 * 34000 : 100000 + 2 * 80000);
        /* modexp of 1 byte numbers, exponent 3: EIP-198 rounds to 0, EIP-2565's floor is 200 */
        uint8_t mx[99] = {[31] = 1, [63] = 1, [95] = 1, [96] = 2, [97] = 3, [98] = 5};
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 5, mx, sizeof mx),
                     f >= EVM_FORK_BERLIN ? 200 : 0);
    }
    uint8_t kzg[192] = {0};
    cr_assert_eq(evm_precompile_gas(EVM_FORK_CANCUN, 10, kzg, 192), 50000);
    uint8_t b2[213] = {[2] = 1, [3] = 2}; /* 258 rounds */
    cr_assert_eq(evm_precompile_gas(EVM_FORK_ISTANBUL, 9, b2, 213), 258);
}

/* ---- hostile inputs: huge lengths, malformed points ---- */

static void put_be64(uint8_t *w32, uint64_t v) {
    memset(w32, 0, 32);
    for (int i = 0; i < 8; i++)
        w32[31 - i] = (uint8_t)(v >> (8 * i));
}

Test(evm_precompile, modexp_huge_lengths_cost_their_gas) {
    pre_run r = {0};
    uint8_t in[200];
    /* lengths of 2^255: out of gas whatever the gas, at once */
    memset(in, 0, sizeof in);
    in[0] = in[32] = in[64] = 0x80;
    for (int f = EVM_FORK_BYZANTIUM; f < EVM_NFORKS; f++) {
        cr_assert_eq(evm_precompile_gas((evm_fork)f, 5, in, 96), INT64_MAX);
        run_pre(&r, (evm_fork)f, 5, in, 96, INT64_MAX - 1, 1 << 20);
        cr_assert_eq(r.res.status, EVM_OUT_OF_GAS);
        cr_assert_eq(r.res.gas_left, 0);
    }
    /* no base and no modulus: an empty result whatever the exponent's length */
    memset(in, 0, sizeof in);
    in[32] = 0xff;
    run_pre(&r, EVM_FORK_ISTANBUL, 5, in, 96, 0, 1 << 20);
    cr_assert_eq(r.res.status, EVM_SUCCESS);
    cr_assert_eq(r.res.output_size, 0);
    run_pre(&r, EVM_FORK_CANCUN, 5, in, 96, 200, 1 << 20);
    cr_assert_eq(r.res.status, EVM_SUCCESS);
    /* a modulus of 2^30 bytes that the gas pays for: refused by the memory
     * cap before anything is allocated */
    memset(in, 0, sizeof in);
    put_be64(in, 1);
    put_be64(in + 64, (uint64_t)1 << 30);
    int64_t g = evm_precompile_gas(EVM_FORK_CANCUN, 5, in, 96);
    cr_assert_lt(g, INT64_MAX);
    run_pre(&r, EVM_FORK_CANCUN, 5, in, 96, g, 1 << 20);
    cr_assert_eq(r.res.status, EVM_OUT_OF_MEMORY);
    cr_assert_eq(r.res.gas_left, 0);
    cr_assert_lt(r.cap, (size_t)1 << 20);
    /* a base of 2^32 bytes, mostly past the input (zeros): 3 * 256^(2^32 - 1) mod 7 */
    memset(in, 0, sizeof in);
    put_be64(in, (uint64_t)1 << 32);
    put_be64(in + 32, 1);
    put_be64(in + 64, 1);
    in[96] = 3;
    g = evm_precompile_gas(EVM_FORK_CANCUN, 5, in, 97);
    run_pre(&r, EVM_FORK_CANCUN, 5, in, 97, g, 1 << 20);
    cr_assert_eq(r.res.status, EVM_SUCCESS);
    cr_assert_eq(r.res.output_size, 1, "the modulus is past the input: zero, so 0");
    cr_assert_eq(r.res.output[0], 0);
    /* the same with everything in the input: 3^5 mod 7 = 5; 0^0 mod 1 = 0 */
    uint8_t small[99] = {[31] = 1, [63] = 1, [95] = 1, [96] = 3, [97] = 5, [98] = 7};
    run_pre(&r, EVM_FORK_CANCUN, 5, small, 99, 200, 1 << 20);
    cr_assert(out_is(&r, "05"));
    uint8_t one[97] = {[31] = 0, [63] = 0, [95] = 1, [96] = 1};
    run_pre(&r, EVM_FORK_CANCUN, 5, one, 97, 200, 1 << 20);
    cr_assert(out_is(&r, "00"));
    free(r.buf);
}

#define BN_G1                                                                                      \
    "0000000000000000000000000000000000000000000000000000000000000001"                             \
    "0000000000000000000000000000000000000000000000000000000000000002"
#define BN_G2                                                                                      \
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"                             \
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"                             \
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"                             \
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
/* on the twist (x = 2 + u), not in the order-r subgroup */
#define BN_G2_OUTSIDE                                                                              \
    "0000000000000000000000000000000000000000000000000000000000000001"                             \
    "0000000000000000000000000000000000000000000000000000000000000002"                             \
    "2b76c179599bb92a963dac85546a005a777f7c13f6a7b75d5918b6b5808f5fde"                             \
    "101f7278419308b95099eca02dcee0c5381f4d26d1d62313f057167f064101ce"
#define BN_P "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"

static evm_status run_hex(pre_run *r, int id, const char *hex) {
    size_t n;
    uint8_t *in = unhex(hex, &n);
    run_pre(r, EVM_FORK_CANCUN, id, in, n, 10000000, 1 << 20);
    free(in);
    return r->res.status;
}

Test(evm_precompile, malformed_points_fail_with_all_gas) {
    pre_run r = {0};
    /* x = p, off the curve, G2 off the twist or outside the subgroup, a
     * pairing input of 191 bytes */
    cr_assert_eq(
        run_hex(&r, 6, BN_P "0000000000000000000000000000000000000000000000000000000000000002"),
        EVM_PRECOMPILE_FAILURE);
    cr_assert_eq(run_hex(&r, 6,
                         "0000000000000000000000000000000000000000000000000000000000000001000000000"
                         "0000000000000000000000000000000000000000000000000000003"),
                 EVM_PRECOMPILE_FAILURE);
    cr_assert_eq(r.res.gas_left, 0);
    cr_assert_eq(run_hex(&r, 7,
                         BN_P "0000000000000000000000000000000000000000000000000000000000000002"
                              "0000000000000000000000000000000000000000000000000000000000000001"),
                 EVM_PRECOMPILE_FAILURE);
    cr_assert_eq(run_hex(&r, 8, BN_G1 BN_G2_OUTSIDE), EVM_PRECOMPILE_FAILURE);
    char bad[800];
    snprintf(bad, sizeof bad, "%s%s", BN_G1, BN_G2);
    bad[strlen(bad) - 1] = 'b';
    cr_assert_eq(run_hex(&r, 8, bad), EVM_PRECOMPILE_FAILURE);
    bad[strlen(bad) - 2] = 0;
    cr_assert_eq(run_hex(&r, 8, bad), EVM_PRECOMPILE_FAILURE, "191 bytes");
    /* the point at infinity pairs to 1 whatever the other point, if valid */
    cr_assert_eq(run_hex(&r, 8,
                         "0000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000" BN_G2),
                 EVM_SUCCESS);
    cr_assert(out_is(&r, "0000000000000000000000000000000000000000000000000000000000000001"));
    cr_assert_eq(
        run_hex(&r, 8,
                "0000000000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000000000" BN_G2_OUTSIDE),
        EVM_PRECOMPILE_FAILURE, "infinity does not excuse an invalid G2 point");
    /* blake2f: a bad flag, a bad length */
    uint8_t b2[214] = {[3] = 1, [212] = 2};
    run_pre(&r, EVM_FORK_CANCUN, 9, b2, 213, 1000, 1 << 20);
    cr_assert_eq(r.res.status, EVM_PRECOMPILE_FAILURE);
    b2[212] = 1;
    run_pre(&r, EVM_FORK_CANCUN, 9, b2, 214, 1000, 1 << 20);
    cr_assert_eq(r.res.status, EVM_PRECOMPILE_FAILURE);
    run_pre(&r, EVM_FORK_CANCUN, 9, b2, 213, 1000, 1 << 20);
    cr_assert_eq(r.res.status, EVM_SUCCESS);
    cr_assert_eq(r.res.gas_left, 999);
    free(r.buf);
}

/* e(a g, G) e(b g, G) e(-(a+b) g, G) = 1 and e(a g, G) e(-b g, G) != 1 for
 * a != b, over random scalars: G1 arithmetic and the pairing agree. */
Test(evm_precompile, pairing_is_bilinear_in_g1) {
    pre_run r = {0};
    uint64_t s = 11;
    uint8_t g1[64], in[3 * 192], pt[3][64];
    size_t n;
    uint8_t *g = unhex(BN_G1, &n), *g2 = unhex(BN_G2, &n);
    memcpy(g1, g, 64);
    for (int iter = 0; iter < 6; iter++) {
        uint64_t a = 1 + (s = s * 6364136223846793005ull + 1442695040888963407ull) % 1000000007;
        uint64_t b = 1 + (s = s * 6364136223846793005ull + 1442695040888963407ull) % 1000000007;
        uint64_t k[3] = {a, b, a + b};
        for (int j = 0; j < 3; j++) {
            uint8_t mi[96];
            memcpy(mi, g1, 64);
            put_be64(mi + 64, k[j]);
            run_pre(&r, EVM_FORK_CANCUN, 7, mi, 96, 6000, 1 << 20);
            cr_assert_eq(r.res.status, EVM_SUCCESS);
            memcpy(pt[j], r.res.output, 64);
        }
        /* a g + b g == (a+b) g */
        uint8_t ad[128];
        memcpy(ad, pt[0], 64);
        memcpy(ad + 64, pt[1], 64);
        run_pre(&r, EVM_FORK_CANCUN, 6, ad, 128, 150, 1 << 20);
        cr_assert_eq(memcmp(r.res.output, pt[2], 64), 0);
        /* negate (a+b) g: y -> p - y, via mul by r - 1 */
        uint8_t mi[96];
        memcpy(mi, pt[2], 64);
        uint8_t *rm1 =
            unhex("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000", &n);
        memcpy(mi + 64, rm1, 32);
        free(rm1);
        run_pre(&r, EVM_FORK_CANCUN, 7, mi, 96, 6000, 1 << 20);
        uint8_t neg[64];
        memcpy(neg, r.res.output, 64);
        for (int j = 0; j < 3; j++) {
            memcpy(in + 192 * j, j == 2 ? neg : pt[j], 64);
            memcpy(in + 192 * j + 64, g2, 128);
        }
        run_pre(&r, EVM_FORK_CANCUN, 8, in, 3 * 192, 200000, 1 << 20);
        cr_assert_eq(r.res.status, EVM_SUCCESS);
        cr_assert_eq(r.res.output[31], 1, "iteration %d: the product is not 1", iter);
        /* e(a g, G) e(-(a+b) g, G) = e(-b g, G) != 1 */
        memcpy(in + 192, in + 384, 192);
        run_pre(&r, EVM_FORK_CANCUN, 8, in, 2 * 192, 200000, 1 << 20);
        cr_assert_eq(r.res.status, EVM_SUCCESS);
        cr_assert_eq(r.res.output[31], 0, "iteration %d: a degenerate pairing", iter);
    }
    free(g);
    free(g2);
    free(r.buf);
}

/* ---- KZG point evaluation (EIP-4844) ---- */

/* two valid proofs (geth's and the execution-spec tests' vectors) */
static const char *const KZG_OK_INPUTS[] = {
    "01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b"
    "564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306"
    "24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1"
    "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca2"
    "5f26936857bc3a7c2539ea8ec3a952b7873033e038326e87ed3e1276fd140253"
    "fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a",
    "01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b"
    "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000"
    "1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9"
    "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca2"
    "5f26936857bc3a7c2539ea8ec3a952b7a62ad71d14c5719385c0686f18714304"
    "75bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c",
};
#define KZG_RESULT                                                                                 \
    "0000000000000000000000000000000000000000000000000000000000001000"                             \
    "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"

Test(evm_precompile, kzg_point_evaluation) {
    pre_run r = {0};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *in = unhex(KZG_OK_INPUTS[k], &n);
        cr_assert_eq(n, 192);
        run_pre(&r, EVM_FORK_CANCUN, 10, in, n, 50000, 1 << 20);
        cr_assert_eq(r.res.status, EVM_SUCCESS, "valid proof %d: %s", k,
                     evm_status_name(r.res.status));
        cr_assert_eq(r.res.gas_left, 0);
        cr_assert(out_is(&r, KZG_RESULT));
        run_pre(&r, EVM_FORK_CANCUN, 10, in, n, 49999, 1 << 20);
        cr_assert_eq(r.res.status, EVM_OUT_OF_GAS);
        /* any changed byte of z, y, commitment (then the hash) or proof fails */
        uint64_t s = 5 + (uint64_t)k;
        for (int t = 0; t < 12; t++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = t < 2 ? (size_t)t * 31 : 32 + (size_t)(s >> 33) % 160;
            in[at] ^= (uint8_t)(1 + (s >> 20) % 255);
            run_pre(&r, EVM_FORK_CANCUN, 10, in, n, 100000, 1 << 20);
            cr_assert_eq(r.res.status, EVM_PRECOMPILE_FAILURE, "proof %d, byte %zu changed", k, at);
            cr_assert_eq(r.res.gas_left, 0);
            in[at] ^= (uint8_t)(1 + (s >> 20) % 255);
        }
        run_pre(&r, EVM_FORK_CANCUN, 10, in, 191, 100000, 1 << 20);
        cr_assert_eq(r.res.status, EVM_PRECOMPILE_FAILURE);
        free(in);
    }
    /* z = r (not a field element), everything else valid */
    size_t n;
    uint8_t *in = unhex(KZG_OK_INPUTS[1], &n);
    in[63] = 0x01;
    run_pre(&r, EVM_FORK_CANCUN, 10, in, n, 100000, 1 << 20);
    cr_assert_eq(r.res.status, EVM_PRECOMPILE_FAILURE);
    free(in);
    free(r.buf);
}

/* ---- calls from EVM code ---- */

static const evm_address SELF = {{[19] = 0xaa}};
static const evm_address CALLER = {{[19] = 0xcc}};

typedef struct {
    evm_vm *vm;
    evm_memhost *h;
    evm_result res;
    int64_t used;
} tx;

static evm_status run_tx(tx *t, evm_fork f, const char *hex, int64_t gas) {
    t->vm = evm_vm_new();
    evm_vm_set_fork(t->vm, f);
    t->h = evm_memhost_new(t->vm);
    size_t n;
    uint8_t *code = unhex(hex, &n);
    evm_memhost_set_code(t->h, &SELF, code, n);
    free(code);
    evm_bytes32 bal = {{[30] = 0x10}};
    evm_memhost_set_balance(t->h, &SELF, &bal);
    evm_memhost_begin_tx(t->h, &SELF, 1);
    evm_message m = {.kind = EVM_CALL_CALL,
                     .gas = gas,
                     .recipient = SELF,
                     .code_address = SELF,
                     .sender = CALLER};
    evm_memhost_transact(t->h, &m, &t->res);
    t->used = gas - t->res.gas_left;
    return t->res.status;
}

static void tx_free(tx *t) {
    evm_memhost_free(t->h);
    evm_vm_free(t->vm);
}

/* "abc" at memory 29..31; OP(gas, 0x02, [value,] 29, 3, 0, 32); return the output */
#define SHA_ABC(call, value, gas)                                                                  \
    "62616263600052"                                                                               \
    "60206000600360"                                                                               \
    "1d" value "6002" gas call "50"                                                                \
    "60206000f3"

Test(evm_precompile, called_from_code_with_exact_gas) {
    tx t;
    /* Cancun: PUSH3 PUSH1 MSTORE(+3 memory) = 12, five PUSH1 15, GAS 2,
     * STATICCALL warm 100 + SHA-256 72, POP 2, PUSH1 PUSH1 6 */
    cr_assert_eq(run_tx(&t, EVM_FORK_CANCUN, SHA_ABC("fa", "", "5a"), 100000), EVM_SUCCESS);
    cr_assert_eq(t.res.output_size, 32u);
    cr_assert_eq(t.res.output[0], 0xba);
    cr_assert_eq(t.used, 12 + 15 + 2 + 100 + 72 + 2 + 6);
    tx_free(&t);
    /* Istanbul: STATICCALL costs 700, nothing is warm or cold */
    cr_assert_eq(run_tx(&t, EVM_FORK_ISTANBUL, SHA_ABC("fa", "", "5a"), 100000), EVM_SUCCESS);
    cr_assert_eq(t.used, 12 + 15 + 2 + 700 + 72 + 2 + 6);
    tx_free(&t);
    /* Frontier: CALL with value 0 and 5000 gas (which must be there in
     * full): 40 + 25000 for an account that does not exist */
    cr_assert_eq(run_tx(&t, EVM_FORK_FRONTIER, SHA_ABC("f1", "6000", "611388"), 100000),
                 EVM_SUCCESS);
    cr_assert_eq(t.res.output[0], 0xba);
    cr_assert_eq(t.used, 12 + 18 + 3 + 40 + 25000 + 72 + 2 + 6);
    tx_free(&t);
    /* DELEGATECALL and CALLCODE run it too */
    cr_assert_eq(run_tx(&t, EVM_FORK_CANCUN, SHA_ABC("f4", "", "5a"), 100000), EVM_SUCCESS);
    cr_assert_eq(t.res.output[0], 0xba);
    tx_free(&t);
    cr_assert_eq(run_tx(&t, EVM_FORK_CANCUN, SHA_ABC("f2", "6000", "5a"), 100000), EVM_SUCCESS);
    cr_assert_eq(t.res.output[0], 0xba);
    tx_free(&t);
    /* before Byzantium, 0x05 is an ordinary (empty) account: success, no output */
    cr_assert_eq(run_tx(&t, EVM_FORK_SPURIOUS_DRAGON,
                        "6001600060206000600060006005"
                        "5a"
                        "f1"
                        "600052"
                        "60206000f3",
                        100000),
                 EVM_SUCCESS);
    cr_assert_eq(t.res.output[31], 1);
    tx_free(&t);
}

Test(evm_precompile, a_failure_consumes_the_forwarded_gas_and_undoes_the_value) {
    tx t;
    /* CALL(5000, 0x06, value 7, in 0..128 = (0, 0, 0, 1): (0, 1) is off the
     * curve): 0 pushed, 5000 gone, the value stays with SELF */
    const char *code = "6001606052" /* mem[96..128) = 1 */
                       "6040600060806000"
                       "6007"
                       "6006"
                       "611388"
                       "f1"
                       "600052"
                       "60206000f3";
    cr_assert_eq(run_tx(&t, EVM_FORK_CANCUN, code, 100000), EVM_SUCCESS);
    cr_assert_eq(t.res.output[31], 0, "the call failed");
    /* PUSH1 PUSH1 MSTORE (4 words) 21, seven pushes 21, CALL warm 100 +
     * value 9000 + new account 25000, the 5000 forwarded (the stipend is
     * lost too, but it was never the caller's), PUSH1 MSTORE 6, PUSH1 PUSH1 6 */
    cr_assert_eq(t.used, 21 + 21 + 34100 + 5000 + 6 + 6, "used %lld", (long long)t.used);
    evm_address six = {{[19] = 6}};
    evm_bytes32 b;
    evm_memhost_iface.get_balance(t.h, &six, &b);
    cr_assert(evm_b32_is_zero(&b), "the value transfer was undone");
    tx_free(&t);
    /* the same call to SHA-256 succeeds and keeps the value */
    code = "6040600060806000"
           "6007"
           "6002"
           "611388"
           "f1"
           "600052"
           "60206000f3";
    cr_assert_eq(run_tx(&t, EVM_FORK_CANCUN, code, 100000), EVM_SUCCESS);
    cr_assert_eq(t.res.output[31], 1);
    evm_address two = {{[19] = 2}};
    evm_memhost_iface.get_balance(t.h, &two, &b);
    cr_assert_eq(b.b[31], 7);
    tx_free(&t);
}

/* Legacy VM-test mode records calls to precompiled contracts like any call. */
Test(evm_precompile, recorded_not_run_in_vmtest_mode) {
    evm_vm *vm = evm_vm_new();
    evm_vm_set_fork(vm, EVM_FORK_FRONTIER);
    evm_memhost *h = evm_memhost_new(vm);
    evm_memhost_set_record_calls(h, true);
    size_t n;
    uint8_t *code = unhex("602060006003601d6000600261c350f1", &n);
    evm_message m = {.kind = EVM_CALL_CALL, .gas = 100000, .recipient = SELF, .code_address = SELF};
    evm_result r;
    evm_execute(vm, &evm_memhost_iface, h, &m, code, n, &r);
    cr_assert_eq(r.status, EVM_SUCCESS);
    cr_assert_eq(evm_memhost_ncallcreates(h), 1u);
    cr_assert_eq(evm_memhost_callcreate(h, 0)->to.b[19], 2);
    free(code);
    evm_memhost_free(h);
    evm_vm_free(vm);
}
