/* The EVM guest: uint256, Keccak-256, opcodes, gas per fork, limits,
 * hypervisor policies and DELEGATECALL isolation. */
#include "vm/evm/evm.h"
#include "vm/evm/evm_impl.h"
#include "vm/evm/keccak.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static const evm_address SELF = {{[19] = 0xaa}};
static const evm_address CALLER = {{[19] = 0xcc}};
static const evm_address OTHER = {{[19] = 0xbb}};

typedef struct {
    evm_vm *vm;
    evm_memhost *h;
    evm_result res;
    uint8_t out[1024];
    size_t out_n;
} run_t;

static void hex_or_die(const char *hex, uint8_t **b, size_t *n) {
    cr_assert_eq(evm_hex_decode(hex, b, n), 0, "bad hex %s", hex);
}

static void setup(run_t *r, evm_fork f) {
    r->vm = evm_vm_new();
    cr_assert(r->vm);
    evm_vm_set_fork(r->vm, f);
    r->h = evm_memhost_new(r->vm);
    cr_assert(r->h);
    evm_bytes32 bal = {{[30] = 0x10}};
    evm_memhost_set_balance(r->h, &CALLER, &bal);
}

static void teardown(run_t *r) {
    evm_memhost_free(r->h);
    evm_vm_free(r->vm);
}

static void set_code(run_t *r, const evm_address *a, const char *hex) {
    uint8_t *c;
    size_t n;
    hex_or_die(hex, &c, &n);
    evm_memhost_set_code(r->h, a, c, n);
    free(c);
}

/* Runs SELF's code (hex) as a transaction from CALLER with gas, its frame
 * at depth (0 for a transaction's own call). */
static evm_status run_msg(run_t *r, const char *hex, int64_t gas, int32_t depth) {
    set_code(r, &SELF, hex);
    evm_address warm[2] = {SELF, CALLER};
    evm_memhost_begin_tx(r->h, warm, 2);
    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = EVM_CALL_CALL;
    m.depth = depth;
    m.gas = gas;
    m.recipient = m.code_address = SELF;
    m.sender = CALLER;
    evm_memhost_transact(r->h, &m, &r->res);
    r->out_n = r->res.output_size < sizeof r->out ? r->res.output_size : sizeof r->out;
    if (r->out_n) memcpy(r->out, r->res.output, r->out_n);
    return r->res.status;
}

static evm_status run_at(run_t *r, const char *hex, int64_t gas) {
    return run_msg(r, hex, gas, 0);
}

static u256 out_word(run_t *r) {
    cr_assert_eq(r->out_n, 32, "output is %zu bytes", r->out_n);
    return u256_from_be(r->out);
}

static uint64_t slot_of(run_t *r, const evm_address *a, uint64_t key) {
    evm_bytes32 k = {{0}}, v;
    k.b[31] = (uint8_t)key;
    evm_memhost_get_storage(r->h, a, &k, &v);
    u256 x = evm_b32_to_u256(&v);
    return x.w[0];
}

/* Code that returns the top of the stack: PUSH0 MSTORE PUSH1 32 PUSH0 RETURN,
 * written with PUSH1 0 to work in every fork. */
#define RET_TOP "60005260206000f3"

static uint64_t eval(evm_fork f, const char *prefix, int64_t gas, evm_status want) {
    run_t r;
    setup(&r, f);
    char code[4096];
    snprintf(code, sizeof code, "%s%s", prefix, RET_TOP);
    evm_status st = run_at(&r, code, gas);
    cr_assert_eq(st, want, "%s: status %s", prefix, evm_status_name(st));
    uint64_t v = st == EVM_SUCCESS ? out_word(&r).w[0] : 0;
    teardown(&r);
    return v;
}

static int64_t gas_used(evm_fork f, const char *hex, int64_t gas) {
    run_t r;
    setup(&r, f);
    run_at(&r, hex, gas);
    int64_t used = gas - r.res.gas_left;
    teardown(&r);
    return used;
}

/* ---- Keccak-256 ---- */

static void expect_hash(const char *msg, size_t n, const char *hex) {
    uint8_t h[32];
    char got[65];
    evm_keccak256((const uint8_t *)msg, n, h);
    for (int i = 0; i < 32; i++)
        sprintf(got + 2 * i, "%02x", h[i]);
    cr_assert_str_eq(got, hex);
}

Test(evm_keccak, vectors) {
    expect_hash("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect_hash("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    char a200[200];
    memset(a200, 'a', sizeof a200);
    /* 200 bytes cross the 136-byte rate */
    expect_hash(a200, 200, "96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
}

Test(evm_keccak, incremental_equals_oneshot) {
    uint8_t m[600], a[32], b[32];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof m; n += 17) {
        evm_keccak256(m, n, a);
        evm_keccak_ctx c;
        evm_keccak_init(&c);
        for (size_t i = 0; i < n; i += 5)
            evm_keccak_update(&c, m + i, n - i < 5 ? n - i : 5);
        evm_keccak_final(&c, b);
        cr_assert_eq(memcmp(a, b, 32), 0, "n=%zu", n);
    }
}

/* ---- uint256 ---- */

static u256 H(const char *s) {
    u256 v;
    cr_assert_eq(evm_u256_from_hex(s, &v), 0);
    return v;
}

#define MAX "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define MIN "0x8000000000000000000000000000000000000000000000000000000000000000"

Test(evm_u256, arithmetic) {
    u256 max = H(MAX), one = u256_from64(1), two = u256_from64(2), z = u256_from64(0);
    u256 r = u256_add(&max, &one);
    cr_assert(u256_is_zero(&r));
    r = u256_sub(&z, &one);
    cr_assert(u256_eq(&r, &max));
    r = u256_mul(&max, &max);
    cr_assert(u256_eq(&r, &one));
    r = evm_u256_div(&max, &z);
    cr_assert(u256_is_zero(&r));
    u256 min = H(MIN), neg1 = max;
    r = evm_u256_sdiv(&min, &neg1);
    cr_assert(u256_eq(&r, &min), "SDIV(-2^255, -1) = -2^255");
    u256 m7 = u256_neg(&(u256){{7, 0, 0, 0}}), three = u256_from64(3);
    r = evm_u256_smod(&m7, &three);
    u256 m1 = u256_neg(&one);
    cr_assert(u256_eq(&r, &m1), "-7 smod 3 = -1");
    r = evm_u256_addmod(&max, &two, &(u256){{10, 0, 0, 0}});
    /* (2^256 - 1 + 2) mod 10 = (2^256 + 1) mod 10 = 7 */
    cr_assert_eq(r.w[0], 7);
    r = evm_u256_mulmod(&max, &max, &(u256){{12, 0, 0, 0}});
    /* (2^256-1)^2 mod 12: 2^256 = 4 mod 12, so (3)^2 = 9 */
    cr_assert_eq(r.w[0], 9);
    r = evm_u256_exp(&two, &(u256){{255, 0, 0, 0}});
    cr_assert(u256_eq(&r, &min));
    r = evm_u256_exp(&two, &(u256){{256, 0, 0, 0}});
    cr_assert(u256_is_zero(&r));
    r = evm_u256_signextend(&z, &(u256){{0xff, 0, 0, 0}});
    cr_assert(u256_eq(&r, &max));
    r = evm_u256_byte(&(u256){{31, 0, 0, 0}}, &(u256){{0x1234, 0, 0, 0}});
    cr_assert_eq(r.w[0], 0x34);
    r = u256_sar(&min, 255);
    cr_assert(u256_eq(&r, &max));
    r = u256_shl(&one, 255);
    cr_assert(u256_eq(&r, &min));
    r = u256_shr(&min, 255);
    cr_assert(u256_eq(&r, &one));
}

/* A random word whose limbs are often 0, 1 or all ones (edge cases). */
static u256 edge_word(uint64_t *x) {
    u256 r;
    for (int i = 0; i < 4; i++) {
        *x = *x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = *x ^ (*x >> 29), k = (*x >> 60) & 7;
        r.w[i] = k == 0 ? 0 : k == 1 ? ~0ull : k == 2 ? 1 : v;
    }
    return r;
}

/* The inline fast paths the loop uses agree with the general code:
 * ADDMOD against addition over 257 bits and division, EXP against a plain
 * multiply loop (the exponent's bits, one limb or more). */
Test(evm_u256, inline_addmod_and_exp_match_the_general_code) {
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        u256 a = edge_word(&x), b = edge_word(&x), m = edge_word(&x);
        if (i % 3 == 0) { /* operands below the modulus: the inline path */
            a = evm_u256_mod(&a, &m);
            b = evm_u256_mod(&b, &m);
        }
        uint64_t s[5];
        u128 c = 0;
        for (int k = 0; k < 4; k++) {
            c += (u128)a.w[k] + b.w[k];
            s[k] = (uint64_t)c;
            c >>= 64;
        }
        s[4] = (uint64_t)c;
        /* (s mod m) by long division, bit by bit, over 257 bits */
        u256 r = u256_from64(0);
        if (!u256_is_zero(&m)) {
            for (int bit = 256; bit >= 0; bit--) {
                bool top = r.w[3] >> 63;
                r = u256_shl(&r, 1);
                r.w[0] |= (s[bit / 64] >> (bit % 64)) & 1;
                if (top || !u256_lt(&r, &m)) r = u256_sub(&r, &m);
            }
        }
        u256 got = u256_addmod(&a, &b, &m), slow = evm_u256_addmod(&a, &b, &m);
        cr_assert(u256_eq(&got, &r) && u256_eq(&slow, &r), "addmod case %d", i);
        u256 e = edge_word(&x);
        if (i % 2) e = u256_from64(e.w[0] & 0x3ff);
        u256 want = u256_from64(1);
        for (int bit = 255; bit >= 0; bit--) {
            want = u256_mul(&want, &want);
            if ((e.w[bit / 64] >> (bit % 64)) & 1) want = u256_mul(&want, &a);
        }
        got = u256_exp(&a, &e);
        cr_assert(u256_eq(&got, &want), "exp case %d", i);
    }
}

/* ---- opcodes ---- */

Test(evm_ops, known_answers) {
    evm_fork C = EVM_FORK_CANCUN;
    cr_assert_eq(eval(C, "6002600301", 100000, EVM_SUCCESS), 5);       /* 3 + 2 */
    cr_assert_eq(eval(C, "6002600303", 100000, EVM_SUCCESS), 1);       /* 3 - 2 */
    cr_assert_eq(eval(C, "6003600a04", 100000, EVM_SUCCESS), 3);       /* 10 / 3 */
    cr_assert_eq(eval(C, "6003600a06", 100000, EVM_SUCCESS), 1);       /* 10 % 3 */
    cr_assert_eq(eval(C, "600a6003600408", 100000, EVM_SUCCESS), 7);   /* (4+3)%10 */
    cr_assert_eq(eval(C, "6003600a0a", 100000, EVM_SUCCESS), 1000);    /* 10^3 */
    cr_assert_eq(eval(C, "6003600210", 100000, EVM_SUCCESS), 1);       /* 2 < 3 */
    cr_assert_eq(eval(C, "600115", 100000, EVM_SUCCESS), 0);           /* ISZERO 1 */
    cr_assert_eq(eval(C, "600160041b", 100000, EVM_SUCCESS), 16);      /* 1 << 4 */
    cr_assert_eq(eval(C, "60ff601e1a", 100000, EVM_SUCCESS), 0);       /* BYTE 30 of 0xff */
    cr_assert_eq(eval(C, "58", 100000, EVM_SUCCESS), 0);               /* PC */
    cr_assert_eq(eval(C, "5f", 100000, EVM_SUCCESS), 0);               /* PUSH0 */
    cr_assert_eq(eval(C, "6001600052600051", 100000, EVM_SUCCESS), 1); /* MSTORE/MLOAD */
    cr_assert_eq(eval(C, "6001600052596000", 100000, EVM_SUCCESS), 0); /* MSIZE then dummy */
    /* TSTORE then TLOAD */
    cr_assert_eq(eval(C, "602a60015d60015c", 100000, EVM_SUCCESS), 42);
    /* MCOPY: mem[32..64] = mem[0..32] */
    cr_assert_eq(eval(C, "602a6000526020600060205e602051", 100000, EVM_SUCCESS), 42);
    /* CALLDATASIZE with no data */
    cr_assert_eq(eval(C, "36", 100000, EVM_SUCCESS), 0);
    /* CALLER */
    cr_assert_eq(eval(C, "33", 100000, EVM_SUCCESS), 0xcc);
    /* ADDRESS */
    cr_assert_eq(eval(C, "30", 100000, EVM_SUCCESS), 0xaa);
}

Test(evm_ops, jumps) {
    evm_fork C = EVM_FORK_CANCUN;
    /* PUSH1 4 JUMP INVALID JUMPDEST PUSH1 7 */
    cr_assert_eq(eval(C, "600456fe5b6007", 100000, EVM_SUCCESS), 7);
    /* jump into PUSH data: PUSH1 4 JUMP PUSH1 0x5b: byte 4 is a 0x5b inside PUSH data */
    eval(C, "600456605b", 100000, EVM_BAD_JUMP);
    /* JUMPI not taken */
    cr_assert_eq(eval(C, "6000600a576001", 100000, EVM_SUCCESS), 1);
    /* jump beyond code */
    eval(C, "61ffff56", 100000, EVM_BAD_JUMP);
}

Test(evm_ops, stack_limits) {
    evm_fork C = EVM_FORK_CANCUN;
    eval(C, "01", 100000, EVM_STACK_UNDERFLOW);
    /* 1024 pushes are fine, the 1025th overflows: JUMPDEST PUSH0 PUSH1 0 JUMP loop */
    run_t r;
    setup(&r, C);
    cr_assert_eq(run_at(&r, "5b5f600056", 1000000), EVM_STACK_OVERFLOW);
    teardown(&r);
    /* exactly 1024 items then STOP */
    char code[1024 * 2 + 3];
    for (int i = 0; i < 1024; i++)
        memcpy(code + 2 * i, "5f", 2);
    strcpy(code + 2048, "00");
    setup(&r, C);
    cr_assert_eq(run_at(&r, code, 1000000), EVM_SUCCESS);
    teardown(&r);
}

Test(evm_ops, undefined_and_fork_availability) {
    eval(EVM_FORK_CANCUN, "0c", 100000, EVM_INVALID_INSTRUCTION);
    eval(EVM_FORK_CANCUN, "fe", 100000, EVM_INVALID_INSTRUCTION);
    eval(EVM_FORK_LONDON, "5f", 100000, EVM_INVALID_INSTRUCTION);            /* PUSH0 */
    eval(EVM_FORK_SHANGHAI, "60015c", 100000, EVM_INVALID_INSTRUCTION);      /* TLOAD */
    eval(EVM_FORK_BYZANTIUM, "600160011b", 100000, EVM_INVALID_INSTRUCTION); /* SHL */
    eval(EVM_FORK_FRONTIER, "3d", 100000, EVM_INVALID_INSTRUCTION);          /* RETURNDATASIZE */
}

Test(evm_gas, static_and_dynamic) {
    /* PUSH1 PUSH1 ADD STOP = 3+3+3 */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "6001600101", 100000), 9);
    /* MSTORE at 0: 3+3+3 + 3 (one word) */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "6001600052", 100000), 12);
    /* memory of 1024 words: 3*1024 + 1024^2/512 = 5120; MSTORE8 at 32767 */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "6001617fff53", 100000), 3 + 3 + 3 + 5120);
    /* EXP 2^256-1: 10 + 50 * 32 (Cancun), 10 + 10 * 32 (Frontier) */
    char code[200];
    snprintf(code, sizeof code, "7f%s60020a", MAX + 2);
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, code, 100000), 3 + 3 + 10 + 50 * 32);
    cr_assert_eq(gas_used(EVM_FORK_FRONTIER, code, 100000), 3 + 3 + 10 + 10 * 32);
    /* SSTORE 1 to a fresh slot: Frontier 20000; Cancun 20000 + 2100 cold */
    cr_assert_eq(gas_used(EVM_FORK_FRONTIER, "6001600055", 100000), 20006);
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "6001600055", 100000), 22106);
    /* SLOAD: Frontier 50, Istanbul 800, Cancun cold 2100 then warm 100 */
    cr_assert_eq(gas_used(EVM_FORK_FRONTIER, "600054", 100000), 53);
    cr_assert_eq(gas_used(EVM_FORK_ISTANBUL, "600054", 100000), 803);
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "60005460005401", 100000), 3 + 2100 + 3 + 100 + 3);
    /* BALANCE of a cold account: 2600 in Cancun, 20 in Frontier */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "60bb31", 100000), 2603);
    cr_assert_eq(gas_used(EVM_FORK_FRONTIER, "60bb31", 100000), 23);
    /* KECCAK256 of 64 bytes: 30 + 6*2 + memory 3*2 + 4/512 */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN, "6040600020", 100000), 3 + 3 + 30 + 12 + 6);
    /* LOG2 of 1 byte: 375 + 2*375 + 8 + memory 3 */
    cr_assert_eq(gas_used(EVM_FORK_CANCUN,
                          "60006000600160"
                          "00a2",
                          100000),
                 12 + 375 + 750 + 8 + 3);
}

Test(evm_gas, sstore_refunds_per_fork) {
    run_t r;
    /* slot 0 = 1 before the tx; SSTORE 0 clears it */
    for (int f = 0; f < EVM_NFORKS; f++) {
        setup(&r, (evm_fork)f);
        evm_bytes32 k = {{0}}, v = {{[31] = 1}};
        evm_memhost_set_storage(r.h, &SELF, &k, &v);
        cr_assert_eq(run_at(&r, "6000600055", 100000), EVM_SUCCESS);
        int64_t want = f >= EVM_FORK_LONDON ? 4800 : 15000;
        cr_assert_eq(r.res.gas_refund, want, "fork %s refund %ld", evm_fork_name((evm_fork)f),
                     (long)r.res.gas_refund);
        teardown(&r);
    }
    /* EIP-2200: set then restore in one tx, Istanbul: 20000 + 800, refund 19200 */
    setup(&r, EVM_FORK_ISTANBUL);
    cr_assert_eq(run_at(&r, "60016000556000600055", 100000), EVM_SUCCESS);
    cr_assert_eq(100000 - r.res.gas_left, 12 + 20000 + 800);
    cr_assert_eq(r.res.gas_refund, 19200);
    teardown(&r);
    /* EIP-2200 stipend rule: SSTORE with gas <= 2300 fails */
    setup(&r, EVM_FORK_ISTANBUL);
    cr_assert_eq(run_at(&r, "6001600055", 2306), EVM_OUT_OF_GAS);
    teardown(&r);
    cr_assert_eq(evm_refund_cap(EVM_FORK_BERLIN, 100, 80), 50);
    cr_assert_eq(evm_refund_cap(EVM_FORK_LONDON, 100, 80), 20);
}

Test(evm_gas, out_of_gas_consumes_everything) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    cr_assert_eq(run_at(&r, "6001600101", 8), EVM_OUT_OF_GAS);
    cr_assert_eq(r.res.gas_left, 0);
    /* huge memory offsets are out of gas, not a crash */
    char code[100];
    snprintf(code, sizeof code, "60017f%s52", MAX + 2);
    cr_assert_eq(run_at(&r, code, 1000000), EVM_OUT_OF_GAS);
    teardown(&r);
}

Test(evm_vm, words_in_use_and_revert) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    /* MSTORE at 64 uses 3 words of memory */
    cr_assert_eq(run_at(&r, "600160405260016002", 100000), EVM_SUCCESS);
    cr_assert_geq(evm_vm_words_peak(r.vm), 3);
    cr_assert_eq(evm_vm_words_in_use(r.vm), 0);
    /* REVERT keeps gas and output, undoes storage */
    cr_assert_eq(run_at(&r, "600160005560206000fd", 100000), EVM_REVERT);
    cr_assert_gt(r.res.gas_left, 0);
    cr_assert_eq(r.out_n, 32);
    cr_assert_eq(slot_of(&r, &SELF, 0), 0);
    teardown(&r);
}

Test(evm_vm, disasm_and_names) {
    cr_assert_eq(evm_op_by_name("add"), EVM_OP_ADD);
    cr_assert_eq(evm_op_by_name("SHA3"), EVM_OP_KECCAK256);
    cr_assert_eq(evm_fork_by_name("cancun"), EVM_FORK_CANCUN);
    cr_assert_eq(evm_fork_by_name("petersburg"), EVM_FORK_CONSTANTINOPLE);
    cr_assert_eq(evm_static_gas(EVM_FORK_LONDON, EVM_OP_PUSH0), -1);
    cr_assert_eq(evm_static_gas(EVM_FORK_FRONTIER, EVM_OP_SLOAD), 50);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    const uint8_t code[] = {0x60, 0x01, 0x0c, 0x61, 0xff};
    evm_disasm(code, sizeof code, f);
    fclose(f);
    cr_assert(strstr(buf, "PUSH1 0x01"));
    cr_assert(strstr(buf, "UNDEFINED(0x0c)"));
    cr_assert(strstr(buf, "truncated"));
    free(buf);
}

/* ---- nested calls, DELEGATECALL isolation ---- */

/* OTHER's code: returns MSIZE (its memory size at entry) and stores 7 at
 * slot 1 (of whichever storage it runs against). */
#define OTHER_CODE                                                                                 \
    "6007600155"                                                                                   \
    "59" RET_TOP

/* SELF: MSTORE 0x42 at 0x100 (memory of 9 words), then
 * DELEGATECALL(gas, OTHER, 0, 0, 0, 32) and return mem[0..32] (the callee's
 * MSIZE), after storing the call's success at slot 2. */
#define CALLER_CODE(callop, extra_arg)                                                             \
    "6042610100526020600060006000" extra_arg "60bb5a" callop "600255"                              \
    "600051" RET_TOP

Test(evm_calls, delegatecall_does_not_share_memory) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    cr_assert_eq(run_at(&r, CALLER_CODE("f4", ""), 1000000), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1, "call succeeded");
    /* the callee saw fresh, empty memory */
    cr_assert_eq(out_word(&r).w[0], 0);
    /* and wrote to the caller's storage */
    cr_assert_eq(slot_of(&r, &SELF, 1), 7);
    cr_assert_eq(slot_of(&r, &OTHER, 1), 0);
    teardown(&r);
}

Test(evm_calls, call_uses_callee_storage_and_returndata) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    /* CALL has a value argument (0) */
    cr_assert_eq(run_at(&r, CALLER_CODE("f1", "6000"), 1000000), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1);
    cr_assert_eq(slot_of(&r, &OTHER, 1), 7);
    cr_assert_eq(slot_of(&r, &SELF, 1), 0);
    teardown(&r);
    /* RETURNDATASIZE after the call is 32 */
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    cr_assert_eq(run_at(&r, "6020600060006000600060bb5af1503d" RET_TOP, 1000000), EVM_SUCCESS);
    cr_assert_eq(out_word(&r).w[0], 32);
    teardown(&r);
}

Test(evm_calls, staticcall_forbids_sstore) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    cr_assert_eq(run_at(&r, CALLER_CODE("fa", ""), 1000000), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 0, "STATICCALL into SSTORE fails");
    cr_assert_eq(slot_of(&r, &OTHER, 1), 0);
    teardown(&r);
}

Test(evm_calls, create_runs_init_code) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    /* init code: return the one byte 0x00 ... simpler: returns 1 byte (STOP)
     * 600060005360016000f3 = MSTORE8 0 at 0, RETURN(0, 1) */
    /* SELF: store init code in memory, CREATE(0, off, 10), EXTCODESIZE of result */
    const char *code = "69600060005360016000f3600052" /* PUSH10 init; MSTORE at 0 */
                       "600a6016600"
                       "0f0"         /* CREATE(0, 22, 10) */
                       "3b" RET_TOP; /* EXTCODESIZE */
    cr_assert_eq(run_at(&r, code, 1000000), EVM_SUCCESS);
    cr_assert_eq(out_word(&r).w[0], 1);
    teardown(&r);
}

/* A message that cannot be sent (the sender's balance is below its value,
 * or the call depth is 1024) fails at once and gives the caller back all the
 * gas it was given, the 2300 stipend of a value call included; a create
 * keeps all its gas. Known answers from @ethereumjs/evm 10.1.0 (gas used
 * and the returned word, with SELF's balance and the frame's depth given):
 * the refused calls cost 2300 less than the sent ones would have been
 * without the stipend. Each code returns the call's or create's result. */
Test(evm_calls, refused_message_returns_all_its_gas) {
    static const char *call = "6000600060006000600160bb611000f1", /* CALL 1 wei to 0xbb */
        *callcode = "6000600060006000600160bb611000f2",           /* CALLCODE 1 wei */
            *create = "600060006001f0",                           /* CREATE 1 wei, no code */
                *create2 = "6000600060006001f5";                  /* CREATE2 1 wei, salt 0 */
    static const struct {
        evm_fork fork;
        const char **code;
        uint64_t balance;
        int32_t depth;
        int64_t used;
        uint64_t out; /* low 8 bytes of the returned word */
    } cases[] = {
        {EVM_FORK_FRONTIER, &call, 0, 0, 31776, 0},
        {EVM_FORK_FRONTIER, &call, 5, 0, 31776, 1},
        {EVM_FORK_FRONTIER, &call, 5, 1024, 31776, 0},
        {EVM_FORK_FRONTIER, &callcode, 0, 0, 6776, 0},
        {EVM_FORK_FRONTIER, &callcode, 5, 1024, 6776, 0},
        {EVM_FORK_HOMESTEAD, &call, 0, 0, 31776, 0},
        {EVM_FORK_TANGERINE_WHISTLE, &call, 0, 0, 32436, 0},
        {EVM_FORK_TANGERINE_WHISTLE, &call, 5, 0, 32436, 1},
        {EVM_FORK_TANGERINE_WHISTLE, &call, 5, 1024, 32436, 0},
        {EVM_FORK_TANGERINE_WHISTLE, &callcode, 0, 0, 7436, 0},
        {EVM_FORK_SPURIOUS_DRAGON, &call, 0, 0, 32436, 0},
        {EVM_FORK_BYZANTIUM, &callcode, 5, 1024, 7436, 0},
        {EVM_FORK_BERLIN, &call, 0, 0, 34336, 0},
        {EVM_FORK_BERLIN, &callcode, 0, 0, 9336, 0},
        {EVM_FORK_CANCUN, &call, 0, 0, 34336, 0},
        {EVM_FORK_CANCUN, &call, 5, 0, 34336, 1},
        {EVM_FORK_CANCUN, &call, 5, 1024, 34336, 0},
        {EVM_FORK_CANCUN, &callcode, 0, 0, 9336, 0},
        {EVM_FORK_CANCUN, &callcode, 5, 0, 9336, 1},
        {EVM_FORK_CANCUN, &callcode, 5, 1024, 9336, 0},
        {EVM_FORK_FRONTIER, &create, 0, 0, 32024, 0},
        {EVM_FORK_FRONTIER, &create, 5, 1024, 32024, 0},
        {EVM_FORK_CANCUN, &create, 0, 0, 32024, 0},
        {EVM_FORK_CANCUN, &create, 5, 0, 32024, 0xf5af8ce495134facull},
        {EVM_FORK_CANCUN, &create, 5, 1024, 32024, 0},
        {EVM_FORK_CANCUN, &create2, 0, 0, 32027, 0},
        {EVM_FORK_CANCUN, &create2, 5, 1024, 32027, 0},
    };
    /* issue 16's case (frugal evm 5f5f5f5f600160bb5ff100 --gas 100000) */
    cr_expect_eq(gas_used(EVM_FORK_CANCUN, "5f5f5f5f600160bb5ff100", 100000), 34316);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_t r;
        setup(&r, cases[i].fork);
        u256 v = u256_from64(cases[i].balance);
        evm_bytes32 b = evm_u256_to_b32(&v);
        evm_memhost_set_balance(r.h, &SELF, &b);
        char code[256];
        snprintf(code, sizeof code, "%s%s", *cases[i].code, RET_TOP);
        cr_assert_eq(run_msg(&r, code, 100000, cases[i].depth), EVM_SUCCESS, "case %zu", i);
        cr_expect_eq(100000 - r.res.gas_left, cases[i].used,
                     "case %zu (%s %s, balance %llu, depth %d): gas used %lld, want %lld", i,
                     evm_fork_name(cases[i].fork), *cases[i].code,
                     (unsigned long long)cases[i].balance, cases[i].depth,
                     (long long)(100000 - r.res.gas_left), (long long)cases[i].used);
        cr_expect_eq(out_word(&r).w[0], cases[i].out, "case %zu: result %llx", i,
                     (unsigned long long)out_word(&r).w[0]);
        teardown(&r);
    }
}

/* The world of the metered tests: SELF runs hex with a balance. */
static void metered_world(run_t *r, evm_fork f, const char *hex, uint64_t balance) {
    setup(r, f);
    set_code(r, &OTHER, "3460005260206000f3"); /* returns CALLVALUE */
    set_code(r, &SELF, hex);
    u256 v = u256_from64(balance);
    evm_bytes32 b = evm_u256_to_b32(&v);
    evm_memhost_set_balance(r->h, &SELF, &b);
}

/* What a metered run of SELF's code (the loop of an EVM process in the
 * tree) consumes of its budget, given all at once (chunk 0) or chunk by
 * chunk (each stop gets what it asked for); *used, the gas the same code
 * uses run by evm_execute, which the metered run must end with too. */
static int64_t metered(evm_fork f, const char *hex, uint64_t balance, int64_t gas, int64_t chunk,
                       int64_t *used) {
    run_t r;
    metered_world(&r, f, hex, balance);
    run_at(&r, hex, gas);
    *used = gas - r.res.gas_left;
    evm_status want = r.res.status;
    teardown(&r);
    metered_world(&r, f, hex, balance);
    evm_address warm[2] = {SELF, CALLER};
    evm_memhost_begin_tx(r.h, warm, 2);
    uint8_t *code;
    size_t n;
    hex_or_die(hex, &code, &n);
    evm_message m = {.kind = EVM_CALL_CALL, .gas = gas, .recipient = SELF, .sender = CALLER};
    m.code_address = SELF;
    const int64_t ample = (int64_t)1 << 40;
    evm_meter mt = {.mt = INT64_MAX / 4, .memcap = ample};
    cr_assert_eq(evm_run_start(r.vm, &m, code, n), EVM_SUCCESS);
    evm_result res;
    int64_t consumed = 0, give = chunk ? chunk : ample;
    for (int stops = 0;; stops++) {
        cr_assert_lt(stops, 100000, "%s: no end", hex);
        mt.gas = give;
        evm_status st = evm_run_resume(r.vm, &evm_memhost_iface, r.h, &mt, &res);
        consumed += give - mt.gas;
        if (st == EVM_SUCCESS) break;
        cr_assert_eq(st, EVM_ST_FENCE, "%s: stopped with %d", hex, (int)st);
        give = mt.need_gas > chunk ? mt.need_gas : chunk;
    }
    cr_assert_eq(res.status, want, "%s: %s metered, %s alone", hex, evm_status_name(res.status),
                 evm_status_name(want));
    cr_assert_eq(gas - res.gas_left, *used, "%s: gas used %lld metered, %lld alone", hex,
                 (long long)(gas - res.gas_left), (long long)*used);
    free(code);
    teardown(&r);
    return consumed;
}

/* A metered run (an EVM process) consumes exactly the gas its transaction
 * uses, so an EVM process's gas is its transaction's gas used: a value
 * call's stipend is the callee's on top of the call gas, whether it comes
 * back unspent, is spent, or the call is refused; and the gas a create
 * burns in a collision is consumed. */
Test(evm_calls, metered_run_consumes_the_gas_used) {
    static const struct {
        const char *code;
        uint64_t balance;
        int64_t used; /* by ethereumjs 10.1.0 */
    } cases[] = {
        /* CALL 1 wei to a new account: refused (34316 in ethereumjs), and paid */
        {"5f5f5f5f600160dd5ff100", 0, 34316},
        {"5f5f5f5f600160dd5ff100", 5, 34316},
        /* CALL 1 wei to code that spends 17 of the stipend: 16 + 11600 + 17 - 2300 */
        {"5f5f5f5f600160bb5ff100", 5, 9333},
        /* 1000 gas and 7 wei; CALL, CALLCODE: 21 + 3 + 11600 + 17 - 2300 */
        {"6020600060006000600760bb6103e8f100", 9, 9341},
        {"6020600060006000600760bb6103e8f200", 9, 9341},
        /* the same, then INVALID: everything consumed */
        {"6020600060006000600760bb6103e8f1fe", 9, 100000},
        /* CREATE2 twice with the same salt: the second collides and burns
         * the gas it was given */
        {"6000600060006000f5506000600060006000f500", 0, 99438},
        /* CALL 7 wei to itself with all its gas, until the gas runs out */
        {"6000600060006000600760aa5af100", 99, 91034},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t used,
            consumed = metered(EVM_FORK_CANCUN, cases[i].code, cases[i].balance, 100000, 0, &used);
        cr_expect_eq(consumed, used, "%s: the metered run consumed %lld, the call used %lld",
                     cases[i].code, (long long)consumed, (long long)used);
        cr_expect_eq(used, cases[i].used, "%s: gas used %lld, want %lld", cases[i].code,
                     (long long)used, (long long)cases[i].used);
        /* stopped and resumed at every instruction it cannot pay for */
        consumed = metered(EVM_FORK_CANCUN, cases[i].code, cases[i].balance, 100000, 300, &used);
        cr_expect_eq(consumed, used, "%s: in chunks of 300 the metered run consumed %lld",
                     cases[i].code, (long long)consumed);
    }
}

/* ---- policies ---- */

static evm_status run_policy(run_t *r, evm_policy_fn fn, void *ctx, const char *code) {
    evm_vm_set_policy(r->vm, fn, ctx);
    return run_at(r, code, 1000000);
}

Test(evm_policy, isolated) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    /* allow: own storage */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, "6005600355"), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 3), 5);
    /* deny: a CALL fails with 0 pushed; the frame goes on */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, CALLER_CODE("f1", "6000")), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &OTHER, 1), 0);
    cr_assert_eq(out_word(&r).w[0], 0);
    evm_bytes32 k = {{[31] = 2}}, v;
    evm_memhost_get_storage(r.h, &SELF, &k, &v);
    cr_assert(evm_b32_is_zero(&v), "0 pushed for a denied call");
    /* deny: DELEGATECALL too */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, CALLER_CODE("f4", "")), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 1), 0);
    /* deny: LOG reverts the frame (storage written before it is undone) */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, "600960045560006000a0"), EVM_DENIED);
    cr_assert_eq(slot_of(&r, &SELF, 4), 0);
    cr_assert_gt(r.res.gas_left, 0, "a denied frame keeps its gas, like REVERT");
    /* deny: SELFDESTRUCT */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, "60bbff"), EVM_DENIED);
    /* deny: CREATE pushes 0 */
    cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, "600060006000f0" RET_TOP), EVM_SUCCESS);
    cr_assert_eq(out_word(&r).w[0], 0);
    teardown(&r);
}

Test(evm_policy, keys) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    evm_keys none = {.keys = NULL}, one = {.keys = &OTHER, .n = 1};
    cr_assert_eq(run_policy(&r, evm_policy_keys, &none, CALLER_CODE("f1", "6000")), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 0, "denied without a key");
    cr_assert_eq(slot_of(&r, &OTHER, 1), 0);
    cr_assert_eq(run_policy(&r, evm_policy_keys, &one, CALLER_CODE("f1", "6000")), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1, "allowed with a key");
    cr_assert_eq(slot_of(&r, &OTHER, 1), 7);
    cr_assert_eq(run_policy(&r, evm_policy_keys, &one, "60bbff"), EVM_DENIED);
    teardown(&r);
}

/* keys per caller ("is the callee allowed for this caller?"): every call
 * kind is allowed by a pair naming the calling frame's address and denied by
 * a pair naming another caller; code run by DELEGATECALL calls with the
 * authority of the account that delegated. */
static const evm_address THIRD = {{[19] = 0xdd}};
#define KIND_CALL(op, value)                                                                       \
    "6020600060006000" value "60bb5a" op "600255"                                                  \
    "00"

Test(evm_policy, keys_per_caller_every_call_kind) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, "600160005260206000f3"); /* returns 1 */
    static const struct {
        const char *op, *value;
    } kinds[] = {{"f1", "6000"}, {"f2", "6000"}, {"f4", ""}, {"fa", ""}};
    evm_key_pair mine = {SELF, OTHER}, theirs = {CALLER, OTHER};
    evm_keys allow_me = {NULL, 0, &mine, 1}, allow_them = {NULL, 0, &theirs, 1};
    evm_keys anyone = {&OTHER, 1, NULL, 0};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char code[128];
        snprintf(code, sizeof code, KIND_CALL("%s", "%s"), kinds[i].value, kinds[i].op);
        cr_assert_eq(run_policy(&r, evm_policy_keys, &allow_me, code), EVM_SUCCESS);
        cr_assert_eq(slot_of(&r, &SELF, 2), 1, "op %s: allowed for this caller", kinds[i].op);
        cr_assert_eq(run_policy(&r, evm_policy_keys, &allow_them, code), EVM_SUCCESS);
        cr_assert_eq(slot_of(&r, &SELF, 2), 0, "op %s: denied, allowed for another caller",
                     kinds[i].op);
        cr_assert_eq(run_policy(&r, evm_policy_keys, &anyone, code), EVM_SUCCESS);
        cr_assert_eq(slot_of(&r, &SELF, 2), 1, "op %s: allowed for every caller", kinds[i].op);
    }
    /* THIRD calls OTHER and stores the flag at its slot 3. SELF may call
     * THIRD; THIRD (not SELF) may call OTHER. */
    set_code(&r, &THIRD,
             "6020600060006000600060bb5af1600355"
             "00");
    evm_key_pair pairs[2] = {{SELF, THIRD}, {THIRD, OTHER}};
    evm_keys chain = {NULL, 0, pairs, 2};
    cr_assert_eq(run_policy(&r, evm_policy_keys, &chain,
                            "6020600060006000600060dd5af1600255"
                            "00"),
                 EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1);
    cr_assert_eq(slot_of(&r, &THIRD, 3), 1, "THIRD's own call to OTHER is allowed");
    /* DELEGATECALL: THIRD's code runs as SELF, whose call to OTHER is denied */
    cr_assert_eq(run_policy(&r, evm_policy_keys, &chain,
                            "60206000600060006000"
                            "60dd5af4600255"
                            "00"),
                 EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1, "the DELEGATECALL itself is allowed");
    cr_assert_eq(slot_of(&r, &SELF, 3), 0, "but SELF may not call OTHER");
    /* the tables policy's calls follow the same lists */
    evm_tables t = {NULL, 0, 128, &allow_me};
    char code[128];
    snprintf(code, sizeof code, KIND_CALL("%s", "%s"), "", "fa");
    cr_assert_eq(run_policy(&r, evm_policy_tables, &t, code), EVM_DENIED, "slot 2 is no table");
    teardown(&r);
}

Test(evm_policy, tables) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    /* table id: top 128 bits = 0x11..11 */
    evm_bytes32 tid;
    memset(tid.b, 0, 32);
    memset(tid.b, 0x11, 16);
    evm_tables t = {&tid, 1, 128, NULL};
    /* SSTORE 5 at slot 0x1111..11_0000..03 (PUSH32 key) */
    char code[200];
    snprintf(code, sizeof code, "60057f%s%s55", "11111111111111111111111111111111",
             "00000000000000000000000000000003");
    cr_assert_eq(run_policy(&r, evm_policy_tables, &t, code), EVM_SUCCESS);
    evm_bytes32 k;
    memcpy(k.b, tid.b, 32);
    k.b[31] = 3;
    evm_bytes32 v;
    evm_memhost_get_storage(r.h, &SELF, &k, &v);
    cr_assert_eq(v.b[31], 5);
    /* a slot outside the table is denied: the frame reverts */
    cr_assert_eq(run_policy(&r, evm_policy_tables, &t, "6005600355"), EVM_DENIED);
    cr_assert_eq(slot_of(&r, &SELF, 3), 0);
    teardown(&r);
}

static evm_verdict redirect_to_other(void *ctx, evm_action *act) {
    (void)ctx;
    if (act->op == EVM_OP_CALL) {
        act->target = OTHER;
        return EVM_REDIRECT;
    }
    if (act->op == EVM_OP_SSTORE && act->key.b[31] == 9) {
        act->key.b[31] = 8;
        return EVM_REDIRECT;
    }
    return EVM_ALLOW;
}

Test(evm_policy, redirect) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    set_code(&r, &OTHER, OTHER_CODE);
    /* call to 0xdd is redirected to OTHER */
    cr_assert_eq(run_policy(&r, redirect_to_other, NULL, "6000600060006000600060dd5af1600255"),
                 EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 2), 1);
    cr_assert_eq(slot_of(&r, &OTHER, 1), 7);
    /* SSTORE to slot 9 lands in slot 8 */
    cr_assert_eq(run_policy(&r, redirect_to_other, NULL, "6005600955"), EVM_SUCCESS);
    cr_assert_eq(slot_of(&r, &SELF, 8), 5);
    cr_assert_eq(slot_of(&r, &SELF, 9), 0);
    teardown(&r);
}

/* ---- tracing ---- */

static void count_steps(void *ctx, const evm_step *s) {
    int *n = ctx;
    (*n)++;
    cr_assert_geq(s->gas, 0);
}

Test(evm_vm, tracer_sees_every_step) {
    run_t r;
    setup(&r, EVM_FORK_CANCUN);
    int n = 0;
    evm_vm_set_tracer(r.vm, count_steps, &n);
    cr_assert_eq(run_at(&r, "600160020100", 100000), EVM_SUCCESS);
    cr_assert_eq(n, 4);
    teardown(&r);
}

/* A frame halted by a denied LOG returns exactly the gas a per-instruction
 * meter would: the same with and without a tracer (which forces it). */
static void nop_trace(void *ctx, const evm_step *s) {
    (void)ctx;
    (void)s;
}

Test(evm_policy, denied_log_returns_exact_gas) {
    run_t r;
    int64_t left[2];
    for (int traced = 0; traced < 2; traced++) {
        setup(&r, EVM_FORK_CANCUN);
        if (traced) evm_vm_set_tracer(r.vm, nop_trace, NULL);
        /* LOG0 then more instructions in the same straight line */
        cr_assert_eq(run_policy(&r, evm_policy_isolated, NULL, "60006000a0600160020160035000"),
                     EVM_DENIED);
        left[traced] = r.res.gas_left;
        teardown(&r);
    }
    cr_assert_eq(left[0], left[1]);
    cr_assert_eq(left[0], 1000000 - 6 - 375);
}

/* A contract calling itself with all its gas reaches the 1024 call depth
 * limit (or, with a small C stack, fails the deepest calls) without
 * crashing, and the outermost frame still succeeds. */
Test(evm_calls, deep_recursion) {
    run_t r;
    setup(&r, EVM_FORK_TANGERINE_WHISTLE);
    cr_assert_eq(run_at(&r,
                        "600060006000600060003"
                        "05a"
                        "f1"
                        "600055",
                        1000000000000ll),
                 EVM_SUCCESS);
    cr_assert_eq(evm_vm_words_in_use(r.vm), 0);
    teardown(&r);
}

/* A CREATE ending in a world without the created account (a restored
 * snapshot can say so) fails cleanly instead of storing code nowhere. */
Test(evm_memhost, create_end_without_its_account) {
    evm_vm *vm = evm_vm_new();
    evm_memhost *h = evm_memhost_new(vm);
    evm_message m = {.kind = EVM_CALL_CREATE};
    m.recipient.b[19] = 0x42;
    static const uint8_t out[] = {EVM_OP_STOP};
    evm_result r = {.status = EVM_SUCCESS, .output = out, .output_size = 1};
    evm_memhost_iface.call_end(h, &m, 0, &r);
    cr_assert_eq(r.status, EVM_INTERNAL_ERROR);
    cr_assert(!evm_memhost_exists(h, &m.recipient));
    evm_memhost_free(h);
    evm_vm_free(vm);
}
