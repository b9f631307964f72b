/* Straight-line EVM blocks for superoptimisation (docs/tasks.md,
 * "evm-superopt"): reading a block written as hex or as text with opaque
 * symbolic pushes, printing code back as text, and the stack model that
 * evaluates candidates (pure opcodes by the EVM's own arithmetic,
 * evm_word_op; the environment and state reads per case). */
#include "fitness/fit_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- opaque constants ---- */

/* A symbolic push is PUSH32 of this prefix and the constant's index (4 bytes,
 * big-endian): real EVM code, 3 gas like any PUSH. Only indices below the
 * task's n_opaque are opaque; any other word is a literal. */
static const uint8_t OPAQUE_MARK[28] = {0xf0, 0x9f, 0x94, 0x92, 'f',  'r',  'u',  'g', 'a', 'l',
                                        '.',  'o',  'p',  'a',  'q',  'u',  'e',  '.', 'c', 'o',
                                        'n',  's',  't',  0x00, 0x5a, 0xa5, 0x3c, 0xc3};

void fit_evm_opaque_push(uint32_t k, uint8_t out[33]) {
    out[0] = EVM_OP_PUSH32;
    memcpy(out + 1, OPAQUE_MARK, sizeof OPAQUE_MARK);
    for (int i = 0; i < 4; i++)
        out[29 + i] = (uint8_t)(k >> (24 - 8 * i));
}

bool fit_evm_opaque_index(const uint8_t *imm, size_t n, uint32_t n_opaque, uint32_t *k) {
    if (n != 32 || memcmp(imm, OPAQUE_MARK, sizeof OPAQUE_MARK)) return false;
    uint32_t v =
        (uint32_t)imm[28] << 24 | (uint32_t)imm[29] << 16 | (uint32_t)imm[30] << 8 | imm[31];
    if (v >= n_opaque) return false;
    *k = v;
    return true;
}

static size_t imm_len(uint8_t op) {
    return op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0;
}

/* ---- reading blocks ---- */

void fit_evm_block_free(fit_evm_block *b) {
    if (!b) return;
    for (uint32_t i = 0; i < b->n_opaque; i++)
        free(b->opaque[i]);
    free(b->opaque);
    free(b->code);
    memset(b, 0, sizeof *b);
}

static bool is_hex_block(const char *s) {
    while (isspace((unsigned char)*s))
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = 0;
    for (; *s && !isspace((unsigned char)*s); s++, n++)
        if (!isxdigit((unsigned char)*s)) return false;
    while (isspace((unsigned char)*s))
        s++;
    return !*s && n && n % 2 == 0;
}

typedef struct {
    const char *src;
    size_t pos;          /* next unread byte */
    size_t tok, tok_len; /* the current token */
    fit_evm_block *b;
    size_t cap;                 /* bytes room in b->code */
    char *keys[FIT_MAX_OPAQUE]; /* the identity of each symbolic push */
    size_t *col;
    char *err;
    size_t errcap;
} blk_reader;

static bool next_token(blk_reader *r) {
    const char *s = r->src;
    while (s[r->pos] && isspace((unsigned char)s[r->pos]))
        r->pos++;
    if (!s[r->pos]) return false;
    r->tok = r->pos;
    while (s[r->pos] && !isspace((unsigned char)s[r->pos]))
        r->pos++;
    r->tok_len = r->pos - r->tok;
    return true;
}

/* Peek at the next token without consuming it: its start and length. */
static bool peek_token(const blk_reader *r, size_t *at, size_t *n) {
    blk_reader c = *r;
    if (!next_token(&c)) return false;
    *at = c.tok;
    *n = c.tok_len;
    return true;
}

static int blk_fail(blk_reader *r, size_t at, const char *fmt, const char *arg)
    __attribute__((format(printf, 3, 0)));
static int blk_fail(blk_reader *r, size_t at, const char *fmt, const char *arg) {
    if (r->col) *r->col = at + 1;
    base_errf(r->err, r->errcap, fmt, arg);
    return -1;
}

static int emit(blk_reader *r, const uint8_t *bytes, size_t n) {
    if (r->b->len + n > r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 256;
        while (nc < r->b->len + n)
            nc *= 2;
        uint8_t *p = realloc(r->b->code, nc);
        if (!p) {
            base_errf(r->err, r->errcap, "out of memory");
            return -1;
        }
        r->b->code = p;
        r->cap = nc;
    }
    memcpy(r->b->code + r->b->len, bytes, n);
    r->b->len += n;
    return 0;
}

/* A number token: 0x-prefixed hex, or bare digits read as hex (bare_hex) or
 * decimal. Big-endian into out[32]; its significant bytes in *nbytes.
 * 0, or -1 when it is not a number or does not fit 256 bits. */
static int parse_number(const char *s, size_t n, bool bare_hex, uint8_t out[32], size_t *nbytes,
                        size_t *ndigits) {
    memset(out, 0, 32);
    bool hex = bare_hex;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
        hex = true;
    }
    if (!n) return -1;
    if (ndigits) *ndigits = n;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i], d;
        if (hex && isxdigit(c))
            d = isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
        else if (!hex && isdigit(c))
            d = c - '0';
        else
            return -1;
        /* out = out * base + d */
        unsigned carry = (unsigned)d, base = hex ? 16u : 10u;
        for (int k = 31; k >= 0; k--) {
            unsigned v = out[k] * base + carry;
            out[k] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry) return -1;
    }
    size_t lead = 0;
    while (lead < 32 && out[lead] == 0)
        lead++;
    *nbytes = 32 - lead;
    return 0;
}

static bool looks_like_operand(const char *s, size_t n) {
    char name[24];
    if (n < sizeof name) {
        memcpy(name, s, n);
        name[n] = 0;
        if (evm_op_by_name(name) >= 0 || !strncasecmp(name, "PUSH", 4) ||
            !strcasecmp(name, "METAPUSH"))
            return false;
    }
    uint8_t w[32];
    size_t nb;
    return parse_number(s, n, true, w, &nb, NULL) == 0 ||
           parse_number(s, n, false, w, &nb, NULL) == 0;
}

/* The index of the opaque constant key (its kind and operand, as solc names
 * it), made if new with display (the source's spelling, white space
 * normalised) as its text. */
static int opaque_intern(blk_reader *r, const char *key, const char *display) {
    fit_evm_block *b = r->b;
    for (uint32_t i = 0; i < b->n_opaque; i++)
        if (!strcasecmp(r->keys[i], key)) return (int)i;
    if (b->n_opaque >= FIT_MAX_OPAQUE) {
        base_errf(r->err, r->errcap, "more than %d distinct symbolic pushes", FIT_MAX_OPAQUE);
        return -1;
    }
    char **p = realloc(b->opaque, (b->n_opaque + 1) * sizeof *p);
    if (!p) goto oom;
    b->opaque = p;
    if (!(b->opaque[b->n_opaque] = strdup(display))) goto oom;
    if (!(r->keys[b->n_opaque] = strdup(key))) {
        free(b->opaque[b->n_opaque]);
        goto oom;
    }
    return (int)b->n_opaque++;
oom:
    base_errf(r->err, r->errcap, "out of memory");
    return -1;
}

/* A symbolic push of kind (with an operand if want_operand and the next
 * token is one) that started at `at`. */
static int emit_opaque(blk_reader *r, size_t at, const char *kind, bool want_operand) {
    char key[200], display[260];
    size_t oat, on;
    if (want_operand && peek_token(r, &oat, &on) && looks_like_operand(r->src + oat, on)) {
        next_token(r);
        if (on > 120) return blk_fail(r, oat, "symbolic push operand too long%s", "");
        snprintf(key, sizeof key, "%s %.*s", kind, (int)on, r->src + oat);
    } else {
        snprintf(key, sizeof key, "%s", kind);
    }
    size_t n = 0;
    for (size_t i = at; i < r->pos && n + 1 < sizeof display; i++) {
        bool sp = isspace((unsigned char)r->src[i]);
        if (sp && (!n || display[n - 1] == ' ')) continue;
        display[n++] = sp ? ' ' : r->src[i];
    }
    while (n && display[n - 1] == ' ')
        n--;
    display[n] = 0;
    int k = opaque_intern(r, key, display);
    if (k < 0) {
        if (r->col) *r->col = at + 1;
        return -1;
    }
    uint8_t bytes[33];
    fit_evm_opaque_push((uint32_t)k, bytes);
    return emit(r, bytes, sizeof bytes);
}

static const char *const METAPUSH_KIND[8] = {"PUSHDEPLOYADDRESS", "PUSHSIZE",  "PUSHLIB",
                                             "PUSHIMMUTABLE",     "PUSH data", "PUSH [tag]",
                                             "PUSH [$]",          "PUSH #[$]"};

static int read_text(blk_reader *r) {
    while (next_token(r)) {
        size_t at = r->tok, n = r->tok_len;
        const char *s = r->src + at;
        char name[40];
        if (n >= sizeof name) return blk_fail(r, at, "unknown opcode '%s'", "(too long)");
        memcpy(name, s, n);
        name[n] = 0;
        if (!strcasecmp(name, "PUSHDEPLOYADDRESS") || !strcasecmp(name, "PUSHSIZE")) {
            for (char *c = name; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            if (emit_opaque(r, at, name, false)) return -1;
            continue;
        }
        if (!strcasecmp(name, "PUSHLIB") || !strcasecmp(name, "PUSHIMMUTABLE")) {
            for (char *c = name; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            if (emit_opaque(r, at, name, true)) return -1;
            continue;
        }
        if (!strcasecmp(name, "METAPUSH")) { /* forves' notation: METAPUSH kind value */
            if (!next_token(r) || r->tok_len != 1 || r->src[r->tok] < '0' || r->src[r->tok] > '7')
                return blk_fail(r, r->tok_len ? r->tok : at, "METAPUSH needs a kind 0..7%s", "");
            const char *kind = METAPUSH_KIND[r->src[r->tok] - '0'];
            bool op = strcmp(kind, "PUSHDEPLOYADDRESS") && strcmp(kind, "PUSHSIZE");
            size_t oat, on;
            if (!op && peek_token(r, &oat, &on) && looks_like_operand(r->src + oat, on))
                next_token(r); /* forves writes a 0x0 operand after these */
            if (emit_opaque(r, at, kind, op)) return -1;
            continue;
        }
        if (!strcasecmp(name, "PUSH")) {
            size_t oat, on;
            if (!peek_token(r, &oat, &on)) return blk_fail(r, at, "PUSH needs an operand%s", "");
            char sym[16];
            if (on < sizeof sym) {
                memcpy(sym, r->src + oat, on);
                sym[on] = 0;
            } else {
                sym[0] = 0;
            }
            if (!strcmp(sym, "[tag]") || !strcmp(sym, "[$]") || !strcmp(sym, "#[$]") ||
                !strcasecmp(sym, "data")) {
                next_token(r);
                char kind[24];
                snprintf(kind, sizeof kind, "PUSH %s", !strcasecmp(sym, "data") ? "data" : sym);
                if (emit_opaque(r, at, kind, true)) return -1;
                continue;
            }
            if (sym[0] == '[' || sym[0] == '#')
                return blk_fail(r, oat, "unknown symbolic push 'PUSH %s'", sym);
            next_token(r);
            uint8_t w[32];
            size_t nb, nd;
            if (parse_number(r->src + oat, on, true, w, &nb, &nd))
                return blk_fail(r, oat, "PUSH operand is not a hex number%s", "");
            /* solc's assembly: the operand's digits give the size */
            size_t size = (nd + 1) / 2;
            if (size > 32) size = 32;
            if (size < nb) size = nb;
            if (size == 0) size = 1;
            uint8_t bytes[33];
            bytes[0] = (uint8_t)(EVM_OP_PUSH1 + size - 1);
            memcpy(bytes + 1, w + 32 - size, size);
            if (emit(r, bytes, 1 + size)) return -1;
            continue;
        }
        int op = evm_op_by_name(name);
        if (op < 0) return blk_fail(r, at, "unknown opcode '%s'", name);
        size_t k = imm_len((uint8_t)op);
        uint8_t bytes[33];
        bytes[0] = (uint8_t)op;
        if (k) {
            size_t oat, on, nb;
            uint8_t w[32];
            if (!peek_token(r, &oat, &on)) return blk_fail(r, at, "%s needs an operand", name);
            next_token(r);
            if (parse_number(r->src + oat, on, false, w, &nb, NULL))
                return blk_fail(r, oat, "%s operand is not a number (0x-hex or decimal)", name);
            if (nb > k) return blk_fail(r, oat, "%s operand does not fit its size", name);
            memcpy(bytes + 1, w + 32 - k, k);
        }
        if (emit(r, bytes, 1 + k)) return -1;
    }
    return 0;
}

int fit_evm_block_parse(const char *src, fit_evm_block *b, size_t *col, char *err, size_t errcap) {
    memset(b, 0, sizeof *b);
    if (col) *col = 0;
    if (is_hex_block(src)) {
        if (evm_hex_decode(src, &b->code, &b->len) < 0) {
            base_errf(err, errcap, "the block is not valid hex");
            return -1;
        }
        return 0;
    }
    blk_reader r = {.src = src, .b = b, .col = col, .err = err, .errcap = errcap};
    int rc = read_text(&r);
    for (uint32_t i = 0; i < b->n_opaque; i++)
        free(r.keys[i]);
    if (rc) {
        fit_evm_block_free(b);
        bool one_word = true; /* a single word was probably meant as hex */
        for (const char *p = src; *p && one_word; p++)
            one_word = !isspace((unsigned char)*p);
        if (one_word && err && errcap) {
            char m[400];
            snprintf(m, sizeof m, "%s", err);
            base_errf(err, errcap, "neither hex (an even number of hex digits) nor text: %s", m);
        }
        return -1;
    }
    if (!b->len) {
        base_errf(err, errcap, "the block is empty");
        return -1;
    }
    return 0;
}

/* ---- the shape of a block ---- */

/* Stack effect of a block: the items it needs and its net change. Only the
 * stack model's opcodes: no jumps, terminators, memory, storage writes, logs,
 * calls, PC, GAS or MSIZE. */
int fit_evm_shape(const uint8_t *b, size_t n, uint32_t *min_in, int32_t *delta, char *why,
                  size_t whycap) {
    int64_t depth = 0, low = 0;
    size_t pc = 0;
    for (size_t insn = 1; pc < n; insn++) {
        uint8_t op = b[pc];
        const evm_opinfo *oi = evm_opinfo_of(op);
        if (!fit_evm_model_op(op)) {
            if (oi->name)
                base_errf(why, whycap,
                          "instruction %zu (%s) is not straight-line stack code (no jumps, "
                          "terminators, memory, storage writes, logs, calls, PC, GAS, MSIZE)",
                          insn, oi->name);
            else
                base_errf(why, whycap, "instruction %zu is the undefined opcode 0x%02x", insn, op);
            return -1;
        }
        depth -= oi->in;
        if (depth < low) low = depth;
        depth += oi->out;
        size_t il =
            1 + (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0);
        if (pc + il > n) {
            base_errf(why, whycap, "instruction %zu (%s) is truncated", insn, oi->name);
            return -1;
        }
        pc += il;
    }
    *min_in = (uint32_t)-low;
    *delta = (int32_t)depth;
    return 0;
}

/* ---- printing ---- */

size_t fit_evm_code_text(const uint8_t *code, size_t n, char *const *opaque, uint32_t n_opaque,
                         char *out, size_t cap) {
    size_t o = 0;
    if (cap) out[0] = 0;
    for (size_t pc = 0; pc < n;) {
        uint8_t op = code[pc];
        const evm_opinfo *oi = evm_opinfo_of(op);
        size_t k = imm_len(op);
        char word[300];
        uint32_t idx;
        if (k == 32 && pc + 33 <= n && fit_evm_opaque_index(code + pc + 1, 32, n_opaque, &idx)) {
            snprintf(word, sizeof word, "%s", opaque[idx]);
        } else {
            int w = snprintf(word, sizeof word, "%s", oi->name ? oi->name : "?");
            if (k) {
                w += snprintf(word + w, sizeof word - (size_t)w, " 0x");
                bool lead = true;
                for (size_t j = 0; j < k; j++) {
                    uint8_t byte = pc + 1 + j < n ? code[pc + 1 + j] : 0;
                    if (lead && byte == 0 && j + 1 < k) continue;
                    w += snprintf(word + w, sizeof word - (size_t)w, lead ? "%x" : "%02x", byte);
                    lead = false;
                }
            }
        }
        size_t wl = strlen(word), sep = pc ? 1 : 0;
        if (o + sep + wl < cap) {
            if (sep) out[o] = ' ';
            memcpy(out + o + sep, word, wl + 1);
        }
        o += sep + wl;
        pc += 1 + k;
    }
    return o;
}

/* ---- the stack model ---- */

/* A word from the splitmix stream: small [0, 2^16), full 256 bits, an edge
 * value (0, 1, 2^255, 2^256-1) or sparse (a few random bits), by kind. */
static void model_word(uint64_t *s, int kind, evm_word *w) {
    memset(w, 0, sizeof *w);
    uint64_t v = base_splitmix64(s);
    switch (kind) {
    case 0: w->w[0] = v & 0xffff; break;
    case 1:
        for (int i = 0; i < 4; i++)
            w->w[i] = base_splitmix64(s);
        break;
    case 2:
        if (v % 4 == 1) w->w[0] = 1;
        if (v % 4 == 2) w->w[3] = 1ull << 63;
        if (v % 4 == 3) w->w[0] = w->w[1] = w->w[2] = w->w[3] = ~0ull;
        break;
    default:
        for (unsigned b = 0, nb = (unsigned)(v % 9); b < nb; b++) {
            unsigned bit = (unsigned)(base_splitmix64(s) % 256);
            w->w[bit / 64] |= 1ull << (bit % 64);
        }
        break;
    }
}

/* Any word: mostly as model_word draws them, and a quarter of the time
 * one of the env's probe values (the block's constants and their
 * neighbours), so that a comparison with a constant meets its equal. */
static void model_any(const fit_evm_env *env, uint64_t *s, evm_word *w) {
    static const int kinds[] = {0, 1, 1, 2, 3, 1, 0, 3};
    uint64_t r = base_splitmix64(s);
    if (env && env->n_probe && r % 4 == 0) {
        *w = env->probe[(r >> 8) % env->n_probe];
        return;
    }
    model_word(s, kinds[(r >> 2) % 8], w);
}

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull);
    return base_splitmix64(&s);
}

/* An address: zero a quarter of the time, a probe value (its low 160 bits)
 * an eighth, else 160 random bits. */
static void model_address(const fit_evm_env *env, uint64_t key, uint64_t what, evm_word *w) {
    uint64_t s = mix(key, what), r = base_splitmix64(&s);
    memset(w, 0, sizeof *w);
    if (r % 4 == 0) return;
    if (env && env->n_probe && r % 8 == 1) {
        *w = env->probe[(r >> 8) % env->n_probe];
    } else {
        w->w[0] = base_splitmix64(&s);
        w->w[1] = base_splitmix64(&s);
        w->w[2] = base_splitmix64(&s);
    }
    w->w[2] &= 0xffffffffu;
    w->w[3] = 0;
}

/* A state read (BALANCE, SLOAD, ...): a fixed function of the case and the
 * argument that reveals nothing about it. Addresses: the low 160 bits. */
static void model_read(const fit_evm_env *env, uint64_t key, uint8_t op, const evm_word *arg,
                       evm_word *w) {
    uint64_t s = mix(key, 0x5eed0000u + op);
    bool addr = op == EVM_OP_BALANCE || op == EVM_OP_EXTCODESIZE || op == EVM_OP_EXTCODEHASH;
    for (int i = 0; i < 4; i++)
        s = mix(s, i == 2 && addr ? arg->w[i] & 0xffffffffu : i == 3 && addr ? 0 : arg->w[i]);
    model_any(env, &s, w);
}

void fit_evm_model_env(const fit_evm_env *env, uint64_t key, uint8_t op, evm_word *w) {
    uint64_t s = mix(key, op);
    switch (op) {
    case EVM_OP_CALLER: model_address(env, key, 1, w); break;
    case EVM_OP_ORIGIN: /* the sender half the time */
        model_address(env, key, base_splitmix64(&s) % 2 ? 1 : 2, w);
        break;
    case EVM_OP_ADDRESS: /* sometimes a call to itself */
        model_address(env, key, base_splitmix64(&s) % 8 ? 3 : 1, w);
        break;
    case EVM_OP_COINBASE: model_address(env, key, 4, w); break;
    case EVM_OP_SELFBALANCE: { /* BALANCE(ADDRESS) */
        evm_word a;
        fit_evm_model_env(env, key, EVM_OP_ADDRESS, &a);
        model_read(env, key, EVM_OP_BALANCE, &a, w);
        break;
    }
    default: model_any(env, &s, w); break;
    }
}

void fit_evm_model_opaque(const fit_evm_env *env, uint64_t key, uint32_t k, evm_word *w) {
    uint64_t s = mix(key, 0x09a90000ull + k);
    model_any(env, &s, w);
}

static evm_word word_from_be(const uint8_t *b) {
    evm_word w;
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = v << 8 | b[8 * (3 - i) + j];
        w.w[i] = v;
    }
    return w;
}

void fit_evm_word_from_be(const uint8_t b[32], evm_word *w) {
    *w = word_from_be(b);
}

void fit_evm_word_to_be(const evm_word *w, uint8_t b[32]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            b[8 * (3 - i) + j] = (uint8_t)(w->w[i] >> (56 - 8 * j));
}

int fit_evm_model_class(uint8_t op) {
    if ((op >= EVM_OP_ADD && op <= EVM_OP_SIGNEXTEND) || (op >= EVM_OP_LT && op <= EVM_OP_SAR))
        return FIT_M_PURE;
    if (op >= EVM_OP_PUSH0 && op <= EVM_OP_PUSH32) return FIT_M_PUSH;
    if (op >= EVM_OP_DUP1 && op <= EVM_OP_DUP16) return FIT_M_DUP;
    if (op >= EVM_OP_SWAP1 && op <= EVM_OP_SWAP16) return FIT_M_SWAP;
    switch (op) {
    case EVM_OP_POP: return FIT_M_POP;
    case EVM_OP_ADDRESS:
    case EVM_OP_ORIGIN:
    case EVM_OP_CALLER:
    case EVM_OP_CALLVALUE:
    case EVM_OP_CALLDATASIZE:
    case EVM_OP_CODESIZE:
    case EVM_OP_GASPRICE:
    case EVM_OP_RETURNDATASIZE:
    case EVM_OP_COINBASE:
    case EVM_OP_TIMESTAMP:
    case EVM_OP_NUMBER:
    case EVM_OP_PREVRANDAO:
    case EVM_OP_GASLIMIT:
    case EVM_OP_CHAINID:
    case EVM_OP_SELFBALANCE:
    case EVM_OP_BASEFEE:
    case EVM_OP_BLOBBASEFEE: return FIT_M_ENV;
    case EVM_OP_BALANCE:
    case EVM_OP_CALLDATALOAD:
    case EVM_OP_EXTCODESIZE:
    case EVM_OP_EXTCODEHASH:
    case EVM_OP_BLOCKHASH:
    case EVM_OP_BLOBHASH:
    case EVM_OP_SLOAD:
    case EVM_OP_TLOAD: return FIT_M_READ;
    default: return FIT_M_BAD;
    }
}

bool fit_evm_model_op(uint8_t op) {
    return fit_evm_model_class(op) != FIT_M_BAD;
}

vm_status fit_evm_model_run(const fit_evm_env *env, const uint8_t *code, size_t len, uint64_t key,
                            evm_word *st, uint32_t *depth, uint64_t *gas, uint32_t *peak) {
    uint32_t d = *depth, pk = d;
    uint64_t g = 0;
    vm_status status = VM_HALTED;
    for (size_t pc = 0; pc < len;) {
        uint8_t op = code[pc];
        int sg = evm_static_gas(EVM_FORK_CANCUN, op);
        g += sg > 0 ? (uint64_t)sg : 0;
        switch (fit_evm_model_class(op)) {
        case FIT_M_PURE: {
            evm_word a[3];
            uint32_t nin = op == EVM_OP_ADDMOD || op == EVM_OP_MULMOD ? 3
                           : op == EVM_OP_ISZERO || op == EVM_OP_NOT  ? 1
                                                                      : 2;
            if (d < nin) {
                status = VM_STACK_UNDERFLOW;
                goto done;
            }
            for (uint32_t i = 0; i < nin; i++)
                a[i] = st[d - 1 - i];
            evm_word_op(op, a, &st[d - nin]);
            d -= nin - 1;
            pc++;
            break;
        }
        case FIT_M_PUSH: {
            size_t k = imm_len(op);
            if (d >= FIT_EVM_MODEL_STACK) {
                status = VM_STACK_OVERFLOW;
                goto done;
            }
            uint32_t idx;
            if (k == 32 && pc + 33 <= len &&
                fit_evm_opaque_index(code + pc + 1, 32, env->n_opaque, &idx)) {
                fit_evm_model_opaque(env, key, idx, &st[d]);
            } else {
                uint8_t be[32] = {0}; /* truncated data reads as zeros */
                for (size_t j = 0; j < k && pc + 1 + j < len; j++)
                    be[32 - k + j] = code[pc + 1 + j];
                st[d] = word_from_be(be);
            }
            d++;
            pc += 1 + k;
            break;
        }
        case FIT_M_POP:
            if (!d) {
                status = VM_STACK_UNDERFLOW;
                goto done;
            }
            d--;
            pc++;
            break;
        case FIT_M_DUP: {
            uint32_t n = (uint32_t)(op - EVM_OP_DUP1 + 1);
            if (d < n) {
                status = VM_STACK_UNDERFLOW;
                goto done;
            }
            if (d >= FIT_EVM_MODEL_STACK) {
                status = VM_STACK_OVERFLOW;
                goto done;
            }
            st[d] = st[d - n];
            d++;
            pc++;
            break;
        }
        case FIT_M_SWAP: {
            uint32_t n = (uint32_t)(op - EVM_OP_SWAP1 + 1);
            if (d < n + 1) {
                status = VM_STACK_UNDERFLOW;
                goto done;
            }
            evm_word x = st[d - 1];
            st[d - 1] = st[d - 1 - n];
            st[d - 1 - n] = x;
            pc++;
            break;
        }
        case FIT_M_ENV:
            if (d >= FIT_EVM_MODEL_STACK) {
                status = VM_STACK_OVERFLOW;
                goto done;
            }
            fit_evm_model_env(env, key, op, &st[d++]);
            pc++;
            break;
        case FIT_M_READ: {
            if (!d) {
                status = VM_STACK_UNDERFLOW;
                goto done;
            }
            evm_word a = st[d - 1];
            model_read(env, key, op, &a, &st[d - 1]);
            pc++;
            break;
        }
        default: status = VM_INVALID_OPCODE; goto done;
        }
        if (d > pk) pk = d;
    }
done:
    *depth = d;
    *gas = g;
    if (peak) *peak = pk;
    return status;
}
