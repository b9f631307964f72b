/* Differential testing against @ethereumjs/evm (tests/node): seeded random
 * EVM programs run in both EVMs with the same world and context; status, gas
 * used, refund, return data, logs, and the storage, balance, nonce and code
 * size of every watched account must agree. Each program also runs in
 * frugal's metered loop (an EVM process's), which must agree with its plain
 * run and consume exactly the gas used. A mismatch is minimised by delta
 * debugging and printed.
 *
 * FRUGAL_DIFFTEST_N programs (default 2000), FRUGAL_DIFFTEST_SEED (default 1),
 * FRUGAL_DIFFTEST_FORK (default cancun), FRUGAL_DIFFTEST_PRECOMPILES (below).
 * tests/node/install.sh installs the pinned ethereumjs on first use.
 *
 * The generator is a table of snippets (SNIPPETS, with weights); a new kind
 * of instruction sequence is one function and one row. Call targets, account
 * queries and SELFDESTRUCT beneficiaries come from pick_target; a call's
 * input is written by call_input, per target. */
#define _GNU_SOURCE
#include "vm/evm/evm.h"
#include "vm/evm/evm_impl.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODE_DIR         "tests/node"
#define MAX_INSNS        160
#define MAX_PROGRAM      16384
#define MAX_SNIPPET      1024 /* bytes one snippet adds at most (a precompile's input) */
#define MAX_RANDOM_ADDRS 4

/* The fork under test: FRUGAL_DIFFTEST_FORK (default cancun), or set by
 * the all-forks test. */
static const char *g_fork;
static const char *fork_name(void) {
    if (g_fork) return g_fork;
    const char *f = getenv("FRUGAL_DIFFTEST_FORK");
    return f && *f ? f : "cancun";
}

/* Calls to the precompiled contracts 0x01..0x0a: snip_precompile calls one
 * with an input from precompile_input (valid and edge inputs), and snip_call
 * aims some of its calls at them with such inputs. Every such program is
 * compared (frugal implements them all; ethereumjs runs 0x0a with a stub
 * KZG that rejects every proof, and no generated input holds a valid one:
 * see precompile_input). FRUGAL_DIFFTEST_PRECOMPILES=0 leaves these calls
 * out (to tell a precompile's mismatch from another); a raw CALL byte may
 * still reach one, and is compared too. BALANCE, EXTCODESIZE, EXTCODEHASH
 * and EXTCODECOPY of them, and SELFDESTRUCT to them, are always generated. */
#define PRECOMPILE_CALLS 1
static bool precompile_calls(void) {
    const char *v = getenv("FRUGAL_DIFFTEST_PRECOMPILES");
    return v && *v ? atoi(v) != 0 : PRECOMPILE_CALLS;
}

/* ---- the world ---- */

/* Every program is the code of SELF, called by ORIGIN (the transaction's
 * origin and caller) under a fixed block context (run.js has the same). The
 * other accounts are WORLD's; run.js is told them with each program. */
#define SELF_ADDR     0xaa
#define ORIGIN_ADDR   0xcc
#define COINBASE_ADDR 0xc0 /* no account; warm from Shanghai (EIP-3651) */
#define MISSING_ADDR  0xdd /* no account */
#define DESTRUCTOR    0xbc

typedef struct {
    uint8_t addr;
    uint64_t balance, nonce;
    const char *code; /* hex, or NULL */
} world_account;

static const world_account WORLD[] = {
    {ORIGIN_ADDR, 1000000000000000000ull, 0, NULL},
    {0xbb, 0, 0, "6000356001553360005260206000f3"}, /* SSTORE(1, calldata[0]); returns CALLER */
    {DESTRUCTOR, 1000, 1, "600035ff"},              /* SELFDESTRUCT to the address calldata[0] */
    {0xbd, 0, 1, "3460005260206000f3"},             /* returns CALLVALUE */
    {0xee, 5000, 3, NULL},                          /* an EOA with a balance, cold */
    {0xde, 0, 0, NULL}, /* exists but empty: dead from Spurious Dragon */
    {0x05, 1, 0, NULL}, /* a precompile's address with a balance */
};
#define NWORLD (sizeof WORLD / sizeof WORLD[0])

/* SELF's balance before the call (the call's value comes on top). */
static const uint64_t SELF_BALANCES[] = {0, 0, 1, 7, 1000000, 1000000, 1000000000000000000ull};

/* One-byte addresses that programs name, besides random ones and the
 * precompiles 0x01..0x0a (one of which has a balance: WORLD): SELF, WORLD's
 * accounts, the coinbase, a missing account, the zero address. All of them
 * are watched after the call. */
static const uint8_t NAMED[] = {SELF_ADDR,     0xbb, DESTRUCTOR, 0xbd,         ORIGIN_ADDR,
                                COINBASE_ADDR, 0xee, 0xde,       MISSING_ADDR, 0x00};
#define NPRECOMPILES 10

/* ---- programs ---- */

typedef struct {
    uint8_t b[34];
    uint8_t n;
    int16_t label; /* >= 0: a PUSH2 whose target is JUMPDEST number label */
    bool jumpdest;
} insn;

typedef struct {
    insn v[MAX_INSNS * 12];
    int n;
    uint8_t data[64];
    int ndata;
    int64_t gas;
    unsigned value;
    uint64_t balance;                   /* SELF's, before the call */
    int32_t depth;                      /* of the call: 0, or near the limit of 1024 */
    int njd;                            /* JUMPDESTs the program will have */
    bool pre_calls;                     /* calls may target the precompiles */
    evm_address rand[MAX_RANDOM_ADDRS]; /* random addresses named (watched too) */
    int nrand;
} program;

static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned below(uint64_t *s, unsigned n) {
    return (unsigned)(rnd(s) % n);
}

static void emit_op(program *p, uint8_t op) {
    if (p->n >= (int)(sizeof p->v / sizeof p->v[0])) return;
    insn *i = &p->v[p->n++];
    memset(i, 0, sizeof *i);
    i->label = -1;
    i->b[0] = op;
    i->n = 1;
    i->jumpdest = op == EVM_OP_JUMPDEST;
}

static void emit_push(program *p, const uint8_t *be, unsigned len) {
    if (p->n >= (int)(sizeof p->v / sizeof p->v[0])) return;
    insn *i = &p->v[p->n++];
    memset(i, 0, sizeof *i);
    i->label = -1;
    if (len == 0) {
        i->b[0] = EVM_OP_PUSH0;
        i->n = 1;
        return;
    }
    i->b[0] = (uint8_t)(EVM_OP_PUSH1 + len - 1);
    memcpy(i->b + 1, be, len);
    i->n = (uint8_t)(1 + len);
}

/* PUSH of v in as few bytes as it needs (at least one). */
static void push_u64(program *p, uint64_t v) {
    uint8_t b[8];
    unsigned len = 0;
    for (uint64_t x = v; x; x >>= 8)
        len++;
    if (!len) len = 1;
    for (unsigned i = 0; i < len; i++)
        b[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    emit_push(p, b, len);
}

static void push_small(program *p, unsigned v) {
    push_u64(p, v);
}

static void push_value(program *p, uint64_t *s) {
    uint8_t b[32];
    unsigned len = below(s, 33);
    switch (below(s, 6)) {
    case 0: push_small(p, below(s, 40)); return;
    case 1: memset(b, 0xff, sizeof b); break; /* all ones */
    case 2:
        memset(b, 0, sizeof b);
        b[0] = 0x80; /* 2^(8len-1) */
        break;
    default:
        for (unsigned i = 0; i < 32; i++)
            b[i] = (uint8_t)rnd(s);
        break;
    }
    emit_push(p, b, len);
}

/* ---- addresses ---- */

typedef enum {
    TARGET_CALL,  /* CALL family: precompiles only when p->pre_calls */
    TARGET_QUERY, /* BALANCE, EXTCODE* */
    TARGET_PAYEE, /* SELFDESTRUCT beneficiary */
} target_use;

typedef struct {
    int named; /* the one-byte address (what call_input dispatches on), or -1 */
    uint8_t w[32];
    unsigned len; /* PUSH width */
} target;

/* An address for use: one of NAMED, a precompile, or a random (missing,
 * cold) address, sometimes with junk above its 160 bits, which both EVMs
 * must ignore. */
static target pick_target(program *p, uint64_t *s, target_use use) {
    target t = {.named = -1};
    uint8_t a[20] = {0};
    unsigned k = below(s, 20);
    if (k < 13) {
        t.named = NAMED[below(s, sizeof NAMED)];
    } else if (k < 17 && (use != TARGET_CALL || p->pre_calls)) {
        t.named = 1 + (int)below(s, NPRECOMPILES);
    } else if (k < 19) {
        if (p->nrand < MAX_RANDOM_ADDRS) {
            for (int i = 0; i < 20; i++)
                p->rand[p->nrand].b[i] = (uint8_t)rnd(s);
            p->nrand++;
        }
        memcpy(a, p->rand[below(s, (unsigned)p->nrand)].b, 20);
    } else {
        t.named = SELF_ADDR;
    }
    if (t.named >= 0) a[19] = (uint8_t)t.named;
    if (below(s, 8) == 0) { /* junk in the upper 96 bits */
        for (int i = 0; i < 12; i++)
            t.w[i] = (uint8_t)rnd(s);
        t.w[0] |= 1;
        memcpy(t.w + 12, a, 20);
        t.len = 32;
    } else if (t.named >= 0) {
        t.w[0] = (uint8_t)t.named;
        t.len = 1;
    } else {
        memcpy(t.w, a, 20);
        t.len = 20;
    }
    return t;
}

static void push_target(program *p, const target *t) {
    emit_push(p, t->w, t->len);
}

/* ---- call inputs ---- */

/* ---- precompile inputs ---- */

/* Inputs the precompile calls start from (test vectors and curve facts). */
#define ECREC_VALID                                                                                \
    "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"                             \
    "000000000000000000000000000000000000000000000000000000000000001c"                             \
    "73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f"                             \
    "eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549"
#define SECP_N "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define BN_P   "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"
#define BN_R   "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
static const char *const BN_G1[] = {
    /* generator, its negation, infinity, a point from bn256Add, off the curve, x = p */
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000002",
    "0000000000000000000000000000000000000000000000000000000000000001"
    "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45",
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000",
    "18b18acfb4c2c30276db5411368e7185b311dd124691610c5d3b74034e093dc9"
    "063c909c4720840cb5134cb9f59fa749755796819658d32efc0d288198f37266",
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000003",
    BN_P "0000000000000000000000000000000000000000000000000000000000000002",
};
static const char *const BN_G2[] = {
    /* generator (EIP-197), infinity, a twist point outside the subgroup, the
     * generator with a flipped bit (off the twist) */
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa",
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "2b76c179599bb92a963dac85546a005a777f7c13f6a7b75d5918b6b5808f5fde"
    "101f7278419308b95099eca02dcee0c5381f4d26d1d62313f057167f064101ce",
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7dab",
};
/* a valid point evaluation (its proof is corrupted before use: ethereumjs
 * runs with a stub KZG that rejects every proof, tests/node/run.js) */
#define KZG_VALID                                                                                  \
    "01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b"                             \
    "564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306"                             \
    "24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1"                             \
    "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca2"                             \
    "5f26936857bc3a7c2539ea8ec3a952b7873033e038326e87ed3e1276fd140253"                             \
    "fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a"

#define PRE_IN_AT  0x200 /* where the input is written in memory */
#define PRE_IN_MAX 448

static size_t put_hex(uint8_t *b, size_t at, const char *hex) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        b[at + i] = (uint8_t)v;
    }
    return at + n;
}

static void put_len(uint8_t *b, size_t at, uint64_t *s) {
    /* a modexp length: mostly small, sometimes far beyond any gas */
    static const char *const huge[] = {
        "8000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000010000000000000000",
        "0000000000000000000000000000000000000000000000000000000100000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    memset(b + at, 0, 32);
    if (below(s, 8) == 0)
        put_hex(b, at, huge[below(s, 4)]);
    else
        b[at + 31] = (uint8_t)below(s, 41);
}

/* Input bytes for precompile id (1..10) in b[0..PRE_IN_MAX): valid inputs
 * from test vectors, and edge cases (short inputs, bad points, huge modexp
 * lengths, bad blake2f rounds and flags). Returns its length. 0x0a's input
 * never holds a valid proof (ethereumjs has a stub KZG, tests/node/run.js):
 * valid proofs are tested against known answers (tests/test_evm_precompile.c). */
static size_t precompile_bytes(int id, uint8_t *b, uint64_t *s) {
    size_t n = 0;
    memset(b, 0, PRE_IN_MAX);
    switch (id) {
    case 1: /* ecrecover: a valid signature, then bad v, r, s or length */
        n = put_hex(b, 0, ECREC_VALID);
        switch (below(s, 6)) {
        case 0: break;
        case 1: b[63] = (uint8_t)(below(s, 2) ? 27 : below(s, 256)); break;
        case 2: b[62] = 1; break;
        case 3: b[64 + below(s, 64)] ^= (uint8_t)(1 + below(s, 255)); break;
        case 4: /* r or s: the group order, or zero */
            if (below(s, 2))
                put_hex(b, below(s, 2) ? 64 : 96, SECP_N);
            else
                memset(b + (below(s, 2) ? 64 : 96), 0, 32);
            break;
        default: n = below(s, 128); break;
        }
        return n;
    case 2:
    case 3:
    case 4:
        n = below(s, 101);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rnd(s);
        return n;
    case 5: { /* modexp: small lengths, random numbers; or huge lengths */
        put_len(b, 0, s);
        put_len(b, 32, s);
        put_len(b, 64, s);
        n = 96;
        for (int k = 0; k < 3; k++) {
            uint64_t len = b[k * 32 + 31], big = 0;
            for (int i = 0; i < 31; i++)
                big |= b[k * 32 + i];
            if (big) continue;           /* a huge length: nothing after it counts */
            unsigned fill = below(s, 4); /* random, zeros, ones, small */
            for (uint64_t i = 0; i < len && n < PRE_IN_MAX; i++)
                b[n++] = fill == 0   ? (uint8_t)rnd(s)
                         : fill == 1 ? 0
                         : fill == 2 ? 0xff
                                     : (uint8_t)(i + 1 == len ? below(s, 4) : 0);
        }
        if (below(s, 4) == 0) n = below(s, (unsigned)n + 1);
        return n;
    }
    case 6:
    case 7: { /* alt_bn128 add, mul */
        n = put_hex(b, 0, BN_G1[below(s, 6)]);
        if (id == 6) {
            n = put_hex(b, n, BN_G1[below(s, 6)]);
        } else {
            static const char *const k[] = {"00", "01", "02", BN_R, "ff"};
            unsigned c = below(s, 6);
            if (c < 5) {
                put_hex(b, 64 + (c == 3 ? 0 : 31), k[c]);
                if (c == 4) memset(b + 64, 0xff, 32);
            } else {
                for (int i = 64; i < 96; i++)
                    b[i] = (uint8_t)rnd(s);
            }
            n = 96;
        }
        if (below(s, 5) == 0) b[below(s, (unsigned)n)] ^= (uint8_t)(1 + below(s, 255));
        if (below(s, 5) == 0) n = below(s, (unsigned)n + 40);
        return n;
    }
    case 8: { /* pairing: 0 to 2 pairs; often e(g, G) e(-g, G) = 1 */
        unsigned k = below(s, 3);
        for (unsigned i = 0; i < k; i++) {
            n = put_hex(b, n, BN_G1[below(s, 3) ? (i & 1) : below(s, 6)]);
            n = put_hex(b, n, BN_G2[below(s, 3) ? 0 : below(s, 4)]);
        }
        if (below(s, 6) == 0 && n) b[below(s, (unsigned)n)] ^= 1;
        if (below(s, 6) == 0) n = below(s, (unsigned)n + 50);
        return n;
    }
    case 9: { /* blake2f: rounds, h, m, t, f; bad flags and lengths */
        for (int i = 0; i < 213; i++)
            b[i] = (uint8_t)rnd(s);
        static const uint32_t rounds[] = {0, 1, 12, 0xffffffffu};
        uint32_t r = below(s, 2) ? below(s, 40) : rounds[below(s, 4)];
        b[0] = (uint8_t)(r >> 24);
        b[1] = (uint8_t)(r >> 16);
        b[2] = (uint8_t)(r >> 8);
        b[3] = (uint8_t)r;
        b[212] = (uint8_t)(below(s, 4) ? below(s, 2) : below(s, 256));
        n = 213;
        if (below(s, 6) == 0) n = below(s, 2) ? 212 : 214;
        return n;
    }
    default: /* 0x0a: the valid input corrupted, random, or a bad length */
        n = put_hex(b, 0, KZG_VALID);
        if (below(s, 4) == 0)
            for (int i = 0; i < 192; i++)
                b[i] = (uint8_t)rnd(s);
        else
            b[32 + below(s, 160)] ^= (uint8_t)(1 + below(s, 255));
        if (below(s, 6) == 0) n = below(s, 2) ? 191 : 193;
        return n;
    }
}

/* Writes an input for the precompiled contract addr (1..10; above 10, one
 * for 0x0a) at memory [off, off + *len) and sets *len; in gets its bytes. */
static void precompile_input(program *p, uint64_t *s, int addr, unsigned off, unsigned *len,
                             uint8_t in[PRE_IN_MAX]) {
    size_t n = precompile_bytes(addr > 10 ? 10 : addr, in, s);
    for (size_t at = 0; at < n; at += 32) {
        emit_push(p, in + at, 32); /* the bytes past n are zeros */
        push_small(p, off + (unsigned)at);
        emit_op(p, EVM_OP_MSTORE);
    }
    *len = (unsigned)n;
}

/* Writes the input of a call to t at memory [off, off+*len) before the
 * call's arguments are pushed; it may set *len. */
static void call_input(program *p, uint64_t *s, const target *t, unsigned off, unsigned *len) {
    if (t->named == DESTRUCTOR) { /* its beneficiary is calldata[0] */
        target b = pick_target(p, s, TARGET_PAYEE);
        push_target(p, &b);
        push_small(p, off);
        emit_op(p, EVM_OP_MSTORE);
        if (*len < 32) *len = 32;
    } else if (t->named >= 1 && t->named <= NPRECOMPILES) {
        uint8_t in[PRE_IN_MAX];
        precompile_input(p, s, t->named, off, len, in);
    }
}

/* A call's value: none, a little, SELF's balance, just above it (the call
 * is refused), or any word. */
static void push_call_value(program *p, uint64_t *s) {
    uint64_t bal = p->balance + p->value;
    switch (below(s, 10)) {
    case 0:
    case 1: push_small(p, 1 + below(s, 9)); break;
    case 2: push_u64(p, bal); break;
    case 3: push_u64(p, bal + 1 + below(s, 3)); break;
    case 4: push_value(p, s); break;
    default: push_small(p, 0); break;
    }
}

/* ---- snippets ---- */

static const uint8_t ARITH[] = {
    EVM_OP_ADD,        EVM_OP_MUL,    EVM_OP_SUB,    EVM_OP_DIV,    EVM_OP_SDIV,
    EVM_OP_MOD,        EVM_OP_SMOD,   EVM_OP_ADDMOD, EVM_OP_MULMOD, EVM_OP_EXP,
    EVM_OP_SIGNEXTEND, EVM_OP_LT,     EVM_OP_GT,     EVM_OP_SLT,    EVM_OP_SGT,
    EVM_OP_EQ,         EVM_OP_ISZERO, EVM_OP_AND,    EVM_OP_OR,     EVM_OP_XOR,
    EVM_OP_NOT,        EVM_OP_BYTE,   EVM_OP_SHL,    EVM_OP_SHR,    EVM_OP_SAR,
};
static const uint8_t ENV[] = {
    EVM_OP_ADDRESS,      EVM_OP_ORIGIN,    EVM_OP_CALLER,      EVM_OP_CALLVALUE,
    EVM_OP_CALLDATASIZE, EVM_OP_CODESIZE,  EVM_OP_GASPRICE,    EVM_OP_RETURNDATASIZE,
    EVM_OP_COINBASE,     EVM_OP_TIMESTAMP, EVM_OP_NUMBER,      EVM_OP_PREVRANDAO,
    EVM_OP_GASLIMIT,     EVM_OP_CHAINID,   EVM_OP_SELFBALANCE, EVM_OP_BASEFEE,
    EVM_OP_BLOBBASEFEE,  EVM_OP_MSIZE,     EVM_OP_PC,          EVM_OP_GAS,
};

static void snip_push(program *p, uint64_t *s) {
    push_value(p, s);
}

static void snip_arith(program *p, uint64_t *s) {
    push_value(p, s);
    push_value(p, s);
    if (below(s, 4) == 0) push_value(p, s);
    emit_op(p, ARITH[below(s, sizeof ARITH)]);
}

static void snip_dup(program *p, uint64_t *s) {
    emit_op(p, (uint8_t)(EVM_OP_DUP1 + below(s, below(s, 10) ? 4 : 16)));
}

static void snip_swap(program *p, uint64_t *s) {
    emit_op(p, (uint8_t)(EVM_OP_SWAP1 + below(s, below(s, 10) ? 3 : 16)));
}

static void snip_pop(program *p, uint64_t *s) {
    (void)s;
    emit_op(p, EVM_OP_POP);
}

static void snip_memory(program *p, uint64_t *s) {
    unsigned op = below(s, 3);
    if (op < 2) push_value(p, s);
    push_small(p, below(s, 10) ? below(s, 300) : 60000);
    emit_op(p, op == 0 ? EVM_OP_MSTORE : op == 1 ? EVM_OP_MSTORE8 : EVM_OP_MLOAD);
}

static void snip_storage(program *p, uint64_t *s) {
    unsigned op = below(s, 4);
    if (op == 0 || op == 2) push_value(p, s);
    push_small(p, below(s, 6));
    static const uint8_t ops[] = {EVM_OP_SSTORE, EVM_OP_SLOAD, EVM_OP_TSTORE, EVM_OP_TLOAD};
    emit_op(p, ops[op]);
}

static void snip_env(program *p, uint64_t *s) {
    emit_op(p, ENV[below(s, sizeof ENV)]);
}

static void snip_copy(program *p, uint64_t *s) { /* copies and hashing */
    static const uint8_t ops[] = {EVM_OP_CALLDATACOPY,   EVM_OP_CODECOPY,  EVM_OP_MCOPY,
                                  EVM_OP_RETURNDATACOPY, EVM_OP_KECCAK256, EVM_OP_CALLDATALOAD};
    uint8_t op = ops[below(s, sizeof ops)];
    if (op == EVM_OP_KECCAK256) {
        push_small(p, below(s, 100));
        push_small(p, below(s, 100));
    } else if (op == EVM_OP_CALLDATALOAD) {
        push_small(p, below(s, 80));
    } else {
        push_small(p, op == EVM_OP_RETURNDATACOPY ? below(s, 3) * below(s, 33) : below(s, 70));
        push_small(p, op == EVM_OP_RETURNDATACOPY ? below(s, 3) : below(s, 70));
        push_small(p, below(s, 200));
    }
    emit_op(p, op);
}

/* CALL, CALLCODE, DELEGATECALL, STATICCALL to any target, with or without
 * value (CALL and CALLCODE), from a SELF whose balance may be too small. */
static void snip_call(program *p, uint64_t *s) {
    static const uint8_t ops[] = {EVM_OP_CALL, EVM_OP_STATICCALL, EVM_OP_DELEGATECALL,
                                  EVM_OP_CALLCODE};
    uint8_t op = ops[below(s, sizeof ops)];
    target t = pick_target(p, s, TARGET_CALL);
    unsigned out_len = below(s, 64), out_off = below(s, 64), in_len = below(s, 64),
             in_off = below(s, 64);
    call_input(p, s, &t, in_off, &in_len);
    push_small(p, out_len);
    push_small(p, out_off);
    push_small(p, in_len);
    push_small(p, in_off);
    if (op == EVM_OP_CALL || op == EVM_OP_CALLCODE) push_call_value(p, s);
    push_target(p, &t);
    switch (below(s, 8)) {
    case 0: push_small(p, 0); break;
    case 1: push_value(p, s); break; /* often more than there is */
    case 2:
    case 3: push_small(p, below(s, 50000)); break;
    default: emit_op(p, EVM_OP_GAS); break;
    }
    emit_op(p, op);
}

static void snip_create(program *p, uint64_t *s) {
    bool two = below(s, 2);
    if (two) push_value(p, s);
    push_small(p, below(s, 40)); /* len */
    push_small(p, below(s, 64)); /* off */
    if (below(s, 3))
        push_small(p, 0);
    else
        push_call_value(p, s);
    emit_op(p, two ? EVM_OP_CREATE2 : EVM_OP_CREATE);
}

static void snip_log(program *p, uint64_t *s) {
    unsigned n = below(s, 5);
    for (unsigned i = 0; i < n; i++)
        push_value(p, s);
    push_small(p, below(s, 40));
    push_small(p, below(s, 64));
    emit_op(p, (uint8_t)(EVM_OP_LOG0 + n));
}

/* BALANCE, EXTCODESIZE, EXTCODEHASH, EXTCODECOPY of any address, the
 * precompiles' included. */
static void snip_account(program *p, uint64_t *s) {
    static const uint8_t ops[] = {EVM_OP_BALANCE, EVM_OP_EXTCODESIZE, EVM_OP_EXTCODEHASH,
                                  EVM_OP_EXTCODECOPY};
    uint8_t op = ops[below(s, sizeof ops)];
    target t = pick_target(p, s, TARGET_QUERY);
    if (op == EVM_OP_EXTCODECOPY) {
        push_small(p, below(s, 48));  /* len */
        push_small(p, below(s, 40));  /* code offset */
        push_small(p, below(s, 100)); /* memory offset */
    }
    push_target(p, &t);
    emit_op(p, op);
}

static void snip_jump(program *p, uint64_t *s) {
    if (p->njd == 0) {
        emit_op(p, EVM_OP_JUMPDEST);
        return;
    }
    bool cond = below(s, 2);
    if (cond) push_value(p, s);
    emit_push(p, (const uint8_t[]){0, 0}, 2);
    p->v[p->n - 1].label = (int16_t)below(s, (unsigned)p->njd);
    emit_op(p, cond ? EVM_OP_JUMPI : EVM_OP_JUMP);
}

static void snip_jumpdest(program *p, uint64_t *s) {
    (void)s;
    emit_op(p, EVM_OP_JUMPDEST);
}

/* SELFDESTRUCT to any address: cold, missing, empty, a precompile, SELF. */
static void snip_selfdestruct(program *p, uint64_t *s) {
    target t = pick_target(p, s, TARGET_PAYEE);
    push_target(p, &t);
    emit_op(p, EVM_OP_SELFDESTRUCT);
}

/* A call to a precompiled contract (0x01..0x0b: 0x0b is an ordinary
 * account, as are those of later forks) with an input written at PRE_IN_AT,
 * by a call kind of the fork, with gas around the price; then the success
 * flag into slot 7 and the hash of the output region into slot 8. */
static void snip_precompile(program *p, uint64_t *s) {
    if (!p->pre_calls) return;
    int fork = evm_fork_by_name(fork_name());
    int id = 1 + (int)below(s, 11);
    uint8_t in[PRE_IN_MAX];
    unsigned n;
    precompile_input(p, s, id, PRE_IN_AT, &n, in);
    uint8_t ops[4] = {EVM_OP_CALL, EVM_OP_CALLCODE};
    unsigned nops = 2;
    if (fork >= EVM_FORK_HOMESTEAD) ops[nops++] = EVM_OP_DELEGATECALL;
    if (fork >= EVM_FORK_BYZANTIUM) ops[nops++] = EVM_OP_STATICCALL;
    uint8_t op = ops[below(s, nops)];
    unsigned outlen = 32 * below(s, 4);
    push_small(p, outlen);
    push_small(p, 0);
    push_small(p, n);
    push_small(p, PRE_IN_AT);
    if (op == EVM_OP_CALL || op == EVM_OP_CALLCODE) push_small(p, below(s, 5) ? 0 : 7);
    push_small(p, (unsigned)id);
    int pid =
        fork >= 0 ? evm_precompile_of((evm_fork)fork, &(evm_address){{[19] = (uint8_t)id}}) : 0;
    int64_t cost = pid ? evm_precompile_gas((evm_fork)fork, pid, in, n) : 0;
    unsigned g = below(s, 4);
    if (g == 0 || cost > 60000) {
        emit_op(p, EVM_OP_GAS);
    } else if (g == 1) {
        push_small(p, (unsigned)cost + below(s, 3) - (cost ? 1 : 0));
    } else {
        push_small(p, below(s, 60000));
    }
    emit_op(p, op);
    push_small(p, 7);
    emit_op(p, EVM_OP_SSTORE);
    push_small(p, outlen);
    push_small(p, 0);
    emit_op(p, EVM_OP_KECCAK256);
    push_small(p, 8);
    emit_op(p, EVM_OP_SSTORE);
}

static void snip_terminator(program *p, uint64_t *s) { /* mid-way, over the stack */
    static const uint8_t ops[] = {EVM_OP_STOP,   EVM_OP_INVALID, EVM_OP_REVERT,
                                  EVM_OP_RETURN, 0x0c,           EVM_OP_SELFDESTRUCT};
    emit_op(p, ops[below(s, sizeof ops)]);
}

static void snip_raw(program *p, uint64_t *s) {
    emit_op(p, (uint8_t)rnd(s)); /* any byte */
}

/* Snippets and their weights (relative; about 1000 in all). */
static const struct {
    void (*fn)(program *p, uint64_t *s);
    unsigned weight;
} SNIPPETS[] = {
    {snip_push, 220},     {snip_arith, 180}, {snip_dup, 60},        {snip_swap, 50},
    {snip_pop, 30},       {snip_memory, 60}, {snip_storage, 60},    {snip_env, 60},
    {snip_copy, 40},      {snip_call, 60},   {snip_create, 20},     {snip_log, 30},
    {snip_account, 50},   {snip_jump, 50},   {snip_jumpdest, 30},   {snip_selfdestruct, 3},
    {snip_terminator, 2}, {snip_raw, 6},     {snip_precompile, 30},
};

static size_t program_bytes(const program *p) {
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        n += p->v[i].n;
    return n;
}

static void gen(program *p, uint64_t seed) {
    uint64_t s = seed * 0x2545f4914f6cdd1dull + 1;
    memset(p, 0, sizeof *p);
    p->pre_calls = precompile_calls();
    p->ndata = (int)below(&s, 65);
    for (int i = 0; i < p->ndata; i++)
        p->data[i] = (uint8_t)rnd(&s);
    static const int64_t gases[] = {3000, 30000, 100000, 1000000, 5000000};
    p->gas = gases[below(&s, 5)];
    p->value = below(&s, 4) == 0 ? below(&s, 1000) : 0;
    p->balance = SELF_BALANCES[below(&s, sizeof SELF_BALANCES / sizeof SELF_BALANCES[0])];
    /* one in 8 runs at depth 1023 or 1024, where calls and creates are
     * refused (at once, or in the frame they start) */
    p->depth = below(&s, 8) ? 0 : EVM_MAX_DEPTH - (int32_t)below(&s, 2);
    int snippets = 3 + (int)below(&s, MAX_INSNS / 3);
    p->njd = (int)below(&s, 5);
    unsigned total = 0;
    for (size_t i = 0; i < sizeof SNIPPETS / sizeof SNIPPETS[0]; i++)
        total += SNIPPETS[i].weight;
    /* a stack base, so that most programs run past their first opcodes */
    for (unsigned i = below(&s, 12); i > 0; i--)
        push_value(p, &s);
    for (int k = 0; k < snippets && program_bytes(p) <= MAX_PROGRAM - MAX_SNIPPET; k++) {
        unsigned w = below(&s, total);
        size_t i = 0;
        while (w >= SNIPPETS[i].weight)
            w -= SNIPPETS[i++].weight;
        SNIPPETS[i].fn(p, &s);
    }
    /* make sure there are njd JUMPDESTs somewhere */
    int have = 0;
    for (int i = 0; i < p->n; i++)
        have += p->v[i].jumpdest;
    for (; have < p->njd; have++)
        emit_op(p, EVM_OP_JUMPDEST);
    switch (below(&s, 3)) {
    case 0:
        push_small(p, 32 * below(&s, 3));
        push_small(p, below(&s, 64));
        emit_op(p, below(&s, 4) ? EVM_OP_RETURN : EVM_OP_REVERT);
        break;
    case 1: emit_op(p, EVM_OP_STOP); break;
    default: break;
    }
}

/* Lays out p (keeping only the insns with keep[i], or all) into hex. */
static size_t layout(const program *p, const bool *keep, uint8_t *code) {
    int pos[MAX_INSNS * 12], jd[MAX_INSNS * 12], njd = 0;
    size_t n = 0;
    for (int i = 0; i < p->n; i++) {
        if (keep && !keep[i]) continue;
        pos[i] = (int)n;
        if (p->v[i].jumpdest) jd[njd++] = (int)n;
        n += p->v[i].n;
    }
    n = 0;
    for (int i = 0; i < p->n; i++) {
        if (keep && !keep[i]) continue;
        memcpy(code + n, p->v[i].b, p->v[i].n);
        if (p->v[i].label >= 0) {
            int t = njd ? jd[p->v[i].label % njd] : 0;
            code[n + 1] = (uint8_t)(t >> 8);
            code[n + 2] = (uint8_t)t;
        }
        n += p->v[i].n;
    }
    (void)pos;
    return n;
}

static void to_hex(const uint8_t *b, size_t n, char *out) {
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = 0;
}

/* ---- our side ---- */

static evm_address A(uint8_t b) {
    evm_address a = {{0}};
    a.b[19] = b;
    return a;
}

static void addr_hex(const evm_address *a, char *out) {
    out[0] = '0';
    out[1] = 'x';
    to_hex(a->b, 20, out + 2);
}

static json_t *word_json(const evm_bytes32 *w) {
    u256 v = evm_b32_to_u256(w);
    char h[80];
    evm_u256_to_hex(&v, h);
    return json_string(h);
}

static json_t *hex_json(uint64_t v) {
    u256 x = u256_from64(v);
    evm_bytes32 b = evm_u256_to_b32(&x);
    return word_json(&b);
}

/* The addresses whose state both EVMs report after the call: NAMED, the
 * precompiles and the program's random addresses. */
static size_t watched(const program *p, evm_address *out) {
    size_t n = 0;
    for (size_t i = 0; i < sizeof NAMED; i++)
        out[n++] = A(NAMED[i]);
    for (int i = 1; i <= NPRECOMPILES; i++)
        out[n++] = A((uint8_t)i);
    for (int i = 0; i < p->nrand; i++)
        out[n++] = p->rand[i];
    return n;
}
#define MAX_WATCHED (sizeof NAMED + NPRECOMPILES + MAX_RANDOM_ADDRS)

/* A memhost holding the world with code as SELF's, its transaction begun;
 * *m, the program's call. */
static evm_memhost *world_new(evm_vm *vm, const uint8_t *code, size_t n, const program *p,
                              evm_message *m) {
    evm_memhost *h = evm_memhost_new(vm);
    cr_assert(h);
    evm_address self = A(SELF_ADDR);
    u256 v = u256_from64(p->balance);
    evm_bytes32 b = evm_u256_to_b32(&v);
    evm_memhost_set_balance(h, &self, &b);
    evm_memhost_set_code(h, &self, code, n);
    for (size_t i = 0; i < NWORLD; i++) {
        evm_address a = A(WORLD[i].addr);
        v = u256_from64(WORLD[i].balance);
        b = evm_u256_to_b32(&v);
        evm_memhost_set_balance(h, &a, &b);
        if (WORLD[i].nonce) evm_memhost_set_nonce(h, &a, WORLD[i].nonce);
        if (WORLD[i].code) {
            uint8_t *c;
            size_t cn;
            cr_assert_eq(evm_hex_decode(WORLD[i].code, &c, &cn), 0);
            evm_memhost_set_code(h, &a, c, cn);
            free(c);
        }
    }
    evm_context *c = evm_memhost_context(h);
    c->origin = A(ORIGIN_ADDR);
    c->coinbase = A(COINBASE_ADDR);
    c->number = 100;
    c->timestamp = 1000;
    c->gas_limit = 30000000;
    memset(&c->prev_randao, 0, 32);
    c->prev_randao.b[31] = 0x42;
    memset(&c->base_fee, 0, 32);
    c->base_fee.b[31] = 7;
    memset(&c->blob_base_fee, 0, 32);
    c->blob_base_fee.b[31] = 1;
    memset(&c->gas_price, 0, 32);
    c->gas_price.b[31] = 10;
    evm_memhost_begin_tx(h, &self, 1);
    memset(m, 0, sizeof *m);
    m->kind = EVM_CALL_CALL;
    m->depth = p->depth;
    m->gas = p->gas;
    m->recipient = m->code_address = self;
    m->sender = A(ORIGIN_ADDR);
    m->input = p->data;
    m->input_size = (size_t)p->ndata;
    v = u256_from64(p->value);
    m->value = evm_u256_to_b32(&v);
    return h;
}

/* The program run again by the metered loop (as an EVM process runs, with
 * an ample budget) must end as the plain run o did, and consume exactly the
 * gas it used; NULL, or what differs. */
static char *metered_differs(const evm_vm *plain, const uint8_t *code, size_t n, const program *p,
                             json_t *o) {
    /* a VM of its own: a metered run leaves its finished frame in the VM */
    evm_vm *vm = evm_vm_new();
    cr_assert(vm);
    evm_vm_set_fork(vm, evm_vm_fork(plain));
    evm_vm_set_policy(vm, plain->policy, plain->policy_ctx);
    evm_message m;
    evm_memhost *h = world_new(vm, code, n, p, &m);
    const uint8_t *c;
    size_t cn;
    uint64_t snap;
    evm_result r;
    const int64_t ample = (int64_t)1 << 50;
    evm_meter mt = {.gas = ample, .mt = INT64_MAX / 4, .memcap = ample};
    if (evm_memhost_iface.call_begin(h, &m, &c, &cn, &snap, &r)) {
        cr_assert_eq(evm_run_start(vm, &m, c, cn), EVM_SUCCESS);
        cr_assert_eq(evm_run_resume(vm, &evm_memhost_iface, h, &mt, &r), EVM_SUCCESS);
        evm_memhost_iface.call_end(h, &m, snap, &r);
    }
    char *out = malloc(2 * r.output_size + 1), *why = NULL;
    to_hex(r.output, r.output_size, out);
    long long used = (long long)(p->gas - r.gas_left), consumed = (long long)(ample - mt.gas);
    char num[32];
    snprintf(num, sizeof num, "%lld", used);
    if (strcmp(num, json_string_value(json_object_get(o, "gasUsed"))) ||
        strcmp(out, json_string_value(json_object_get(o, "out"))) ||
        (r.status == EVM_SUCCESS) !=
            !strcmp(json_string_value(json_object_get(o, "status")), "success") ||
        consumed != used)
        if (asprintf(&why, "metered: %s, gas used %lld, consumed %lld, out %s",
                     evm_status_name(r.status), used, consumed, out) < 0)
            why = NULL;
    free(out);
    evm_memhost_free(h);
    evm_vm_free(vm);
    return why;
}

/* Runs a program in frugal's EVM; the result in run.js's JSON shape, with
 * "metered" when the metered loop disagrees with the plain one. */
static json_t *run_ours(evm_vm *vm, const uint8_t *code, size_t n, const program *p) {
    evm_message m;
    evm_memhost *h = world_new(vm, code, n, p, &m);
    evm_result r;
    evm_memhost_transact(h, &m, &r);
    if (getenv("FRUGAL_DIFFTEST_STATS")) fprintf(stderr, "why %s\n", evm_status_name(r.status));
    json_t *o = json_object();
    const char *st = r.status == EVM_SUCCESS                            ? "success"
                     : r.status == EVM_REVERT || r.status == EVM_DENIED ? "revert"
                                                                        : "error";
    json_object_set_new(o, "status", json_string(st));
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)(p->gas - r.gas_left));
    json_object_set_new(o, "gasUsed", json_string(num));
    snprintf(num, sizeof num, "%lld", (long long)r.gas_refund);
    json_object_set_new(o, "refund", json_string(num));
    char *out = malloc(2 * r.output_size + 1);
    to_hex(r.output, r.output_size, out);
    json_object_set_new(o, "out", json_string(out));
    free(out);
    json_t *storage = json_object(), *accounts = json_object();
    evm_address w[MAX_WATCHED];
    size_t nw = watched(p, w);
    for (size_t a = 0; a < nw; a++) {
        char ah[48];
        addr_hex(&w[a], ah);
        if (json_object_get(accounts, ah) || json_object_get(storage, ah)) continue;
        size_t ns = evm_memhost_storage(h, &w[a], 0, NULL, NULL);
        if (ns) {
            json_t *so = json_object();
            for (size_t i = 0; i < ns; i++) {
                evm_bytes32 k, val;
                evm_memhost_storage(h, &w[a], i, &k, &val);
                json_t *kj = word_json(&k);
                json_object_set_new(so, json_string_value(kj), word_json(&val));
                json_decref(kj);
            }
            json_object_set_new(storage, ah, so);
        }
        evm_bytes32 bal;
        evm_memhost_iface.get_balance(h, &w[a], &bal);
        uint64_t nonce = evm_memhost_nonce(h, &w[a]);
        size_t cs = evm_memhost_iface.get_code_size(h, &w[a]);
        if (evm_b32_is_zero(&bal) && !nonce && !cs) continue;
        json_t *ao = json_object();
        json_object_set_new(ao, "balance", word_json(&bal));
        snprintf(num, sizeof num, "%llu", (unsigned long long)nonce);
        json_object_set_new(ao, "nonce", json_string(num));
        json_object_set_new(ao, "codeSize", json_integer((json_int_t)cs));
        json_object_set_new(accounts, ah, ao);
    }
    json_object_set_new(o, "storage", storage);
    json_t *logs = json_array();
    for (size_t i = 0; i < evm_memhost_nlogs(h); i++) {
        const evm_log *l = evm_memhost_log(h, i);
        json_t *lo = json_object();
        char ah[48];
        addr_hex(&l->addr, ah);
        json_object_set_new(lo, "addr", json_string(ah));
        json_t *t = json_array();
        for (size_t k = 0; k < l->ntopics; k++)
            json_array_append_new(t, word_json(&l->topics[k]));
        json_object_set_new(lo, "topics", t);
        char *d = malloc(2 * l->size + 3);
        d[0] = '0';
        d[1] = 'x';
        to_hex(l->data, l->size, d + 2);
        json_object_set_new(lo, "data", json_string(d));
        free(d);
        json_array_append_new(logs, lo);
    }
    json_object_set_new(o, "logs", logs);
    json_object_set_new(o, "accounts", accounts);
    evm_memhost_free(h);
    /* a metered run is a transaction's call (depth 0) */
    char *why = p->depth ? NULL : metered_differs(vm, code, n, p, o);
    if (why) json_object_set_new(o, "metered", json_string(why));
    free(why);
    return o;
}

/* The job line for run.js: the program, its call, the world, the watch list. */
static char *job_json(const char *hex, const program *p) {
    json_t *j = json_object();
    char data[200];
    to_hex(p->data, (size_t)p->ndata, data);
    json_object_set_new(j, "code", json_string(hex));
    json_object_set_new(j, "data", json_string(data));
    json_object_set_new(j, "gas", json_integer((json_int_t)p->gas));
    json_object_set_new(j, "value", json_integer((json_int_t)p->value));
    json_object_set_new(j, "fork", json_string(fork_name()));
    json_object_set_new(j, "depth", json_integer(p->depth));
    json_t *accts = json_array();
    char ah[48];
    for (size_t i = 0; i <= NWORLD; i++) {
        json_t *a = json_object();
        evm_address ad = A(i < NWORLD ? WORLD[i].addr : SELF_ADDR);
        addr_hex(&ad, ah);
        json_object_set_new(a, "addr", json_string(ah));
        json_object_set_new(a, "balance", hex_json(i < NWORLD ? WORLD[i].balance : p->balance));
        json_object_set_new(a, "nonce", json_integer(i < NWORLD ? (json_int_t)WORLD[i].nonce : 0));
        if (i < NWORLD && WORLD[i].code) json_object_set_new(a, "code", json_string(WORLD[i].code));
        json_array_append_new(accts, a);
    }
    json_object_set_new(j, "accounts", accts);
    json_t *watch = json_array();
    evm_address w[MAX_WATCHED];
    size_t nw = watched(p, w);
    for (size_t i = 0; i < nw; i++) {
        addr_hex(&w[i], ah);
        json_array_append_new(watch, json_string(ah));
    }
    json_object_set_new(j, "watch", watch);
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return line;
}

/* ---- their side ---- */

static void ensure_node(void) {
    if (access(NODE_DIR "/node_modules/@ethereumjs/evm", F_OK) == 0) return;
    /* tests run in parallel: one install at a time */
    int rc = system("flock " NODE_DIR "/.install.lock sh -c 'test -d " NODE_DIR
                    "/node_modules/@ethereumjs/evm || " NODE_DIR "/install.sh' >&2");
    cr_assert_eq(rc, 0, "cannot install @ethereumjs/evm (tests/node/install.sh)");
}

typedef struct {
    char *hex;
    const program *p;
} job;

/* Runs jobs through one node process; returns an array of results. */
static json_t *run_theirs(const job *jobs, size_t n) {
    char in[] = "/tmp/frugal-evmdiff-in-XXXXXX", out[] = "/tmp/frugal-evmdiff-out-XXXXXX";
    int fi = mkstemp(in), fo = mkstemp(out);
    cr_assert(fi >= 0 && fo >= 0);
    close(fo);
    FILE *f = fdopen(fi, "w");
    cr_assert(f);
    for (size_t i = 0; i < n; i++) {
        char *line = job_json(jobs[i].hex, jobs[i].p);
        fprintf(f, "%s\n", line);
        free(line);
    }
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "node " NODE_DIR "/run.js < %s > %s", in, out);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "node run.js failed");
    json_t *arr = json_array();
    FILE *r = fopen(out, "r");
    cr_assert(r);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, r) > 0) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        cr_assert(j, "bad JSON from node: %s", line);
        json_object_del(j, "error");
        json_array_append_new(arr, j);
    }
    free(line);
    fclose(r);
    unlink(in);
    unlink(out);
    cr_assert_eq(json_array_size(arr), n, "node returned %zu of %zu results", json_array_size(arr),
                 n);
    return arr;
}

/* ---- minimisation ---- */

/* ethereumjs throws (a JS exception, not an EVM error) on a few inputs, e.g.
 * RangeError for REVERT with a 2^160 offset; those runs prove nothing. */
static bool crashed(json_t *theirs) {
    const char *st = json_string_value(json_object_get(theirs, "status"));
    return st && !strcmp(st, "crash");
}

/* A run that proves nothing: theirs met a known ethereumjs deviation
 * (run.js says which). */
static bool skipped(json_t *theirs) {
    return json_object_get(theirs, "skip") != NULL;
}

static bool differs(json_t *ours, json_t *theirs) {
    return !crashed(theirs) && !skipped(theirs) && !json_equal(ours, theirs);
}

/* Delta debugging over instructions: returns the kept set. */
static void minimise(evm_vm *vm, const program *p, bool *keep) {
    int n = p->n;
    for (int i = 0; i < n; i++)
        keep[i] = true;
    int chunks = 2;
    for (int round = 0; round < 60; round++) {
        int alive = 0, idx[MAX_INSNS * 12];
        for (int i = 0; i < n; i++)
            if (keep[i]) idx[alive++] = i;
        if (alive < 2) break;
        if (chunks > alive) chunks = alive;
        const int nc = chunks;
        job *jobs = calloc((size_t)chunks, sizeof *jobs);
        bool(*cand)[MAX_INSNS * 12] = calloc((size_t)chunks, sizeof *cand);
        uint8_t code[MAX_PROGRAM];
        for (int c = 0; c < chunks; c++) {
            memcpy(cand[c], keep, (size_t)n * sizeof(bool));
            int lo = alive * c / chunks, hi = alive * (c + 1) / chunks;
            for (int k = lo; k < hi; k++)
                cand[c][idx[k]] = false;
            size_t len = layout(p, cand[c], code);
            jobs[c].hex = malloc(2 * len + 1);
            to_hex(code, len, jobs[c].hex);
            jobs[c].p = p;
        }
        json_t *theirs = run_theirs(jobs, (size_t)chunks);
        int found = -1;
        for (int c = 0; c < chunks && found < 0; c++) {
            size_t len = layout(p, cand[c], code);
            json_t *ours = run_ours(vm, code, len, p);
            if (differs(ours, json_array_get(theirs, (size_t)c))) found = c;
            json_decref(ours);
        }
        if (found >= 0) {
            memcpy(keep, cand[found], (size_t)n * sizeof(bool));
            chunks = chunks > 2 ? chunks - 1 : 2;
        }
        for (int c = 0; c < nc; c++)
            free(jobs[c].hex);
        json_decref(theirs);
        free(jobs);
        free(cand);
        if (found < 0) {
            if (chunks >= alive) break;
            chunks = chunks * 2 > alive ? alive : chunks * 2;
        }
    }
}

static void report(evm_vm *vm, const program *p, json_t *ours, json_t *theirs, uint64_t seed) {
    char *a = json_dumps(ours, JSON_SORT_KEYS), *b = json_dumps(theirs, JSON_SORT_KEYS);
    uint8_t code[MAX_PROGRAM];
    size_t len = layout(p, NULL, code);
    char *hex = malloc(2 * len + 1);
    to_hex(code, len, hex);
    fprintf(stderr,
            "evm difftest mismatch, seed %llu\n  code %s\n  frugal      %s\n  ethereumjs  %s\n",
            (unsigned long long)seed, hex, a, b);
    free(a);
    free(b);
    free(hex);
    bool keep[MAX_INSNS * 12];
    minimise(vm, p, keep);
    len = layout(p, keep, code);
    hex = malloc(2 * len + 1);
    to_hex(code, len, hex);
    char data[200];
    to_hex(p->data, (size_t)p->ndata, data);
    fprintf(stderr, "  minimised: %s (calldata %s, gas %lld, value %u, balance %llu, depth %d)\n",
            hex, data, (long long)p->gas, p->value, (unsigned long long)p->balance, (int)p->depth);
    evm_disasm(code, len, stderr);
    job j = {hex, p};
    json_t *t = run_theirs(&j, 1);
    json_t *o = run_ours(vm, code, len, p);
    a = json_dumps(o, JSON_SORT_KEYS);
    b = json_dumps(json_array_get(t, 0), JSON_SORT_KEYS);
    fprintf(stderr, "  frugal      %s\n  ethereumjs  %s\n", a, b);
    free(a);
    free(b);
    json_decref(t);
    json_decref(o);
    free(hex);
}

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

/* Runs n programs from seed0 under the current fork; returns mismatches.
 * The first three are minimised and printed, the others' seeds listed. */
static long run_diff(long n, uint64_t seed0) {
    evm_vm *vm = evm_vm_new();
    cr_assert(vm);
    int fork = evm_fork_by_name(fork_name());
    cr_assert_geq(fork, 0, "unknown fork %s", fork_name());
    evm_vm_set_fork(vm, (evm_fork)fork);
    const long batch = 1000;
    program *ps = malloc((size_t)batch * sizeof *ps);
    job *jobs = calloc((size_t)batch, sizeof *jobs);
    cr_assert(ps && jobs);
    long mismatches = 0, threw = 0, skipped_js = 0;
    for (long base = 0; base < n; base += batch) {
        long m = n - base < batch ? n - base : batch;
        uint8_t code[MAX_PROGRAM];
        for (long i = 0; i < m; i++) {
            gen(&ps[i], seed0 * 1000003u + (uint64_t)(base + i));
            size_t len = layout(&ps[i], NULL, code);
            jobs[i].hex = malloc(2 * len + 1);
            to_hex(code, len, jobs[i].hex);
            jobs[i].p = &ps[i];
        }
        json_t *theirs = run_theirs(jobs, (size_t)m);
        for (long i = 0; i < m; i++) {
            size_t len = layout(&ps[i], NULL, code);
            json_t *ours = run_ours(vm, code, len, &ps[i]);
            json_t *t = json_array_get(theirs, (size_t)i);
            threw += crashed(t);
            skipped_js += !crashed(t) && skipped(t);
            if (getenv("FRUGAL_DIFFTEST_STATS")) {
                char *d = json_dumps(json_object_get(ours, "status"), JSON_ENCODE_ANY);
                fprintf(stderr, "status %s gas %s\n", d,
                        json_string_value(json_object_get(ours, "gasUsed")));
                free(d);
            }
            uint64_t seed = seed0 * 1000003u + (uint64_t)(base + i);
            if (differs(ours, t) && mismatches++ < 3)
                report(vm, &ps[i], ours, t, seed);
            else if (differs(ours, t))
                fprintf(stderr, "evm difftest mismatch, seed %llu\n", (unsigned long long)seed);
            json_decref(ours);
        }
        json_decref(theirs);
        for (long i = 0; i < m; i++)
            free(jobs[i].hex);
        if (n > 10 * batch && (base / batch + 1) % 10 == 0) /* long runs: progress */
            fprintf(stderr, "evm difftest (%s): %ld of %ld programs, %ld mismatches\n", fork_name(),
                    base + m, n, mismatches);
    }
    free(ps);
    free(jobs);
    evm_vm_free(vm);
    fprintf(stderr,
            "evm difftest (%s): %ld programs, %ld mismatches, skipped: %ld (ethereumjs threw), "
            "%ld (ethereumjs deviates)\n",
            fork_name(), n, mismatches, threw, skipped_js);
    long skips = threw + skipped_js;
    cr_expect_lt(skips * 100, n + 100, "%ld of %ld programs skipped", skips, n);
    return mismatches;
}

Test(evm_diff, random_programs_agree_with_ethereumjs) {
    ensure_node();
    long n = env_long("FRUGAL_DIFFTEST_N", 2000);
    uint64_t seed0 = (uint64_t)env_long("FRUGAL_DIFFTEST_SEED", 1);
    long bad = run_diff(n, seed0);
    cr_assert_eq(bad, 0, "%ld of %ld programs disagree with ethereumjs", bad, n);
}

/* Every fork's gas table and rules, 150 programs each. */
Test(evm_diff, every_fork_agrees_with_ethereumjs) {
    ensure_node();
    long bad = 0;
    for (int f = 0; f < EVM_NFORKS; f++) {
        g_fork = evm_fork_name((evm_fork)f);
        bad += run_diff(150, 77 + (uint64_t)f);
    }
    g_fork = NULL;
    cr_assert_eq(bad, 0, "%ld programs disagree with ethereumjs", bad);
}
