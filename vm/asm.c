/* The assembler and disassembler of the native ISA (syntax: docs/asm.md).
 *
 * Nothing here names an opcode: mnemonics, immediate kinds and sizes all come
 * from the table in vm/opcodes.def through vm/opcodes.c, so a new opcode needs
 * no change in this file.
 *
 * The assembler makes two passes over the source with the same code: pass 1
 * only records where each label is, pass 2 emits the bytes and reports the
 * errors. Every instruction's size follows from its mnemonic alone, and an
 * error that only pass 2 can see (duplicate or undefined label, label out of
 * reach) never changes how a line is sized, so both passes agree on every pc.
 */
#include "vm/vm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- assembler state ---- */

typedef struct {
    const char *name; /* points into the source; NULL for an empty slot */
    size_t nlen;
    uint64_t pc;
    size_t line, col; /* where it is defined (1-based) */
} asm_label;

typedef struct {
    const char *fname;
    char *err; /* every error, a line each (base_errf_line) */
    size_t errcap, errlen;
    int unshown; /* errors that did not fit in err */
    vm_buf *out; /* NULL: check only */
    int pass;    /* 1: record labels; 2: emit and report */
    int nerr;
    bool fatal;   /* out of memory: stop */
    bool too_big; /* the program has grown past VM_MAX_CODE */
    uint64_t pc;
    asm_label *labels; /* open addressing; lcap is 0 or a power of two */
    size_t lcap, lcount;
    const char *ln; /* the current line, without its '\n' */
    size_t lnlen, lineno;
} asm_ctx;

#define NOPOS  SIZE_MAX
#define REL_LO (-32768)
#define REL_HI 32767

static void vreport(asm_ctx *c, size_t col, const char *fmt, va_list ap) {
    c->nerr++;
    if (!c->err) return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* once one did not fit, no later one is shown: the lines stay in order */
    if (c->unshown || base_errf_line(c->err, c->errcap, &c->errlen, "%s:%zu:%zu: error: %s",
                                     c->fname, c->lineno, col + 1, msg))
        c->unshown++;
}

/* An error at column col (0-based) of the current line; pass 2 only. */
__attribute__((format(printf, 3, 4))) static void report(asm_ctx *c, size_t col, const char *fmt,
                                                         ...) {
    if (c->pass != 2) return;
    va_list ap;
    va_start(ap, fmt);
    vreport(c, col, fmt, ap);
    va_end(ap);
}

/* Out of memory: reported in either pass, and assembly stops. */
static void fatal_oom(asm_ctx *c, size_t col) {
    c->fatal = true;
    c->pass = 2; /* reported in pass 1 too; nothing runs after it */
    report(c, col, "out of memory, expected room for the program");
}

/* The last line of err says how many errors it does not show, dropping
 * shown ones until that line fits. */
static void count_unshown(asm_ctx *c) {
    while (c->unshown) {
        if (!base_errf_line(c->err, c->errcap, &c->errlen, "%s: %d more error%s not shown",
                            c->fname, c->unshown, c->unshown == 1 ? "" : "s"))
            return;
        if (!c->errlen) break;
        base_err_unline(c->err, &c->errlen);
        c->unshown++;
    }
    base_errf(c->err, c->errcap, "%s: %d error%s", c->fname, c->nerr, c->nerr == 1 ? "" : "s");
}

/* ---- lexing ---- */

static bool is_ws(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}
static bool is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}
static bool is_id0(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '.';
}
static bool is_id(char ch) {
    return is_id0(ch) || is_digit(ch);
}
static int hex_val(char ch) {
    if (is_digit(ch)) return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* At the end of the line's content: its end or a comment. */
static bool at_end(const asm_ctx *c, size_t i) {
    return i >= c->lnlen || c->ln[i] == ';' || c->ln[i] == '#';
}

static size_t skip_ws(const asm_ctx *c, size_t i) {
    while (i < c->lnlen && is_ws(c->ln[i]))
        i++;
    return i;
}

/* End of the token at i: a run of anything but blanks and comments (and
 * commas, if comma). */
static size_t tok_end(const asm_ctx *c, size_t i, bool comma) {
    while (!at_end(c, i) && !is_ws(c->ln[i]) && !(comma && c->ln[i] == ','))
        i++;
    return i;
}

/* The text [i, j) of the current line for a message: quoted, with unusual
 * bytes escaped, or "end of line" when empty. */
static const char *quote(const asm_ctx *c, size_t i, size_t j, char *buf, size_t cap) {
    if (i >= j) return "end of line";
    size_t o = 0;
    buf[o++] = '\'';
    for (; i < j && o + 12 < cap; i++) {
        unsigned char ch = (unsigned char)c->ln[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '\'' || ch == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (i < j) o += (size_t)snprintf(buf + o, cap - o, "...");
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* ---- numbers ---- */

typedef enum { NUM_OK, NUM_BAD, NUM_RANGE } num_res;

static int64_t u2i(uint64_t u) {
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Parse p[0..n) as [+-] (decimal | 0x hex | decimal.digits if frac). Hex
 * without a sign may give any 64-bit pattern. A fraction means
 * round(value * 2^32), half away from zero, computed exactly. */
static num_res parse_num(const char *p, size_t n, bool frac, int64_t *out) {
    size_t i = 0;
    bool neg = false, hex = false, over = false;
    uint64_t mag = 0;
    if (i < n && (p[i] == '+' || p[i] == '-')) neg = p[i++] == '-';
    if (i == n) return NUM_BAD;
    if (n - i > 2 && p[i] == '0' && (p[i + 1] == 'x' || p[i + 1] == 'X')) {
        hex = true;
        for (i += 2; i < n; i++) {
            int d = hex_val(p[i]);
            if (d < 0) return NUM_BAD;
            if (mag >> 60) over = true;
            mag = mag << 4 | (uint64_t)d;
        }
    } else {
        size_t d0 = i;
        for (; i < n && is_digit(p[i]); i++) {
            uint64_t d = (uint64_t)(p[i] - '0');
            if (mag > (UINT64_MAX - d) / 10)
                over = true;
            else
                mag = mag * 10 + d;
        }
        if (i == d0) return NUM_BAD;
        if (i < n) {
            if (!frac || p[i] != '.') return NUM_BAD;
            size_t f0 = ++i;
            while (i < n && is_digit(p[i]))
                i++;
            if (i == f0 || i < n) return NUM_BAD;
            if (over || mag > (1ull << 31)) return NUM_RANGE;
            /* w = floor(0.d1d2..dk * 2^33), from the last digit to the first:
             * floor((d + x) * 2^33 / 10) == floor((d * 2^33 + floor(x * 2^33)) / 10)
             * for an integer digit d and 0 <= x < 1. Then bit 0 of w is the
             * half that decides the rounding of the 32-bit fraction. */
            uint64_t w = 0;
            for (size_t k = n; k-- > f0;)
                w = ((uint64_t)(p[k] - '0') * (1ull << 33) + w) / 10;
            mag = (mag << 32) + (w >> 1) + (w & 1);
        }
    }
    if (over) return NUM_RANGE;
    if (neg) {
        if (mag > (1ull << 63)) return NUM_RANGE;
        *out = u2i(0 - mag);
    } else {
        if (!hex && mag > (uint64_t)INT64_MAX) return NUM_RANGE;
        *out = u2i(mag);
    }
    return NUM_OK;
}

/* ---- labels ---- */

static uint64_t name_hash(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* The slot holding name, or the empty slot where it would go; NULL if the
 * table is empty. */
static asm_label *label_slot(asm_label *tab, size_t cap, const char *p, size_t n) {
    if (!cap) return NULL;
    for (size_t i = name_hash(p, n) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        asm_label *l = &tab[i];
        if (!l->name || (l->nlen == n && memcmp(l->name, p, n) == 0)) return l;
    }
}

static int labels_grow(asm_ctx *c) {
    size_t cap = c->lcap ? c->lcap * 2 : 64;
    asm_label *tab = calloc(cap, sizeof *tab);
    if (!tab) return -1;
    for (size_t i = 0; i < c->lcap; i++) {
        asm_label *l = &c->labels[i];
        if (l->name) *label_slot(tab, cap, l->name, l->nlen) = *l;
    }
    free(c->labels);
    c->labels = tab;
    c->lcap = cap;
    return 0;
}

/* The label [i, j) of the current line is defined here. */
static void define_label(asm_ctx *c, size_t i, size_t j) {
    const char *name = c->ln + i;
    size_t n = j - i;
    if (c->pass == 1) {
        if ((c->lcount + 1) * 2 > c->lcap && labels_grow(c) < 0) {
            fatal_oom(c, i);
            return;
        }
        asm_label *l = label_slot(c->labels, c->lcap, name, n);
        if (l->name) return; /* a duplicate: reported in pass 2 */
        *l = (asm_label){name, n, c->pc, c->lineno, i + 1};
        c->lcount++;
        return;
    }
    asm_label *l = label_slot(c->labels, c->lcap, name, n);
    if (l && l->name && (l->line != c->lineno || l->col != i + 1)) {
        char q[128];
        report(c, i, "duplicate label %s, expected a new name (first defined at %s:%zu:%zu)",
               quote(c, i, j, q, sizeof q), c->fname, l->line, l->col);
    }
}

/* ---- emitting ---- */

/* Account for n bytes at the current pc. In pass 2 they are appended
 * (zeroed) and their index in out is returned; otherwise NOPOS. */
static size_t emit(asm_ctx *c, size_t col, size_t n) {
    c->pc += n;
    if (c->pc > VM_MAX_CODE) {
        if (!c->too_big)
            report(c, col, "code of more than %u bytes, expected at most %u bytes (VM_MAX_CODE)",
                   (unsigned)VM_MAX_CODE, (unsigned)VM_MAX_CODE);
        c->too_big = true;
        return NOPOS;
    }
    if (c->pass != 2 || !c->out) return NOPOS;
    if (base_buf_reserve(c->out, n) < 0) {
        fatal_oom(c, col);
        return NOPOS;
    }
    size_t pos = c->out->len;
    memset(c->out->data + pos, 0, n);
    c->out->len += n;
    return pos;
}

static void patch(asm_ctx *c, size_t pos, unsigned n, int64_t v) {
    if (pos == NOPOS) return;
    uint64_t u = (uint64_t)v;
    for (unsigned k = 0; k < n; k++)
        c->out->data[pos + k] = (uint8_t)(u >> (8 * k));
}

/* ---- lines ---- */

/* Nothing more on the line after column i. */
static bool expect_end(asm_ctx *c, size_t i, const char *after) {
    i = skip_ws(c, i);
    if (at_end(c, i)) return true;
    char q[128];
    report(c, i, "extra operand %s, expected end of line after %s",
           quote(c, i, tok_end(c, i, false), q, sizeof q), after);
    return false;
}

/* .byte N[, N...] starting after the directive at column i. */
static void asm_bytes(asm_ctx *c, size_t i) {
    char q[128];
    i = skip_ws(c, i);
    for (;;) {
        if (at_end(c, i) || c->ln[i] == ',') {
            report(c, i, "missing byte value (%s), expected a number 0..255",
                   at_end(c, i) ? "end of line" : "','");
            return;
        }
        size_t e = tok_end(c, i, true);
        int64_t v = 0;
        num_res r = parse_num(c->ln + i, e - i, false, &v);
        if (r == NUM_BAD) {
            report(c, i, "bad number %s, expected a byte value 0..255 (decimal or 0x hex)",
                   quote(c, i, e, q, sizeof q));
            return;
        }
        if (r == NUM_RANGE || v < 0 || v > 255) {
            report(c, i, "byte value %s out of range, expected 0..255",
                   quote(c, i, e, q, sizeof q));
            return;
        }
        patch(c, emit(c, i, 1), 1, v);
        i = skip_ws(c, e);
        if (at_end(c, i)) return;
        if (c->ln[i] != ',') {
            report(c, i, "unexpected %s, expected ',' or end of line",
                   quote(c, i, tok_end(c, i, true), q, sizeof q));
            return;
        }
        i = skip_ws(c, i + 1);
    }
}

static const char *operand_what(vm_imm_kind k) {
    switch (k) {
    case VM_IMM_I64: return "an integer or fixed-point number";
    case VM_IMM_REL: return "a label or a signed offset (+N or -N)";
    case VM_IMM_IDX: return "a stack index 0..255";
    case VM_IMM_U8: return "a byte 0..255";
    case VM_IMM_ARG: return "an argument index 0..255";
    default: return "nothing";
    }
}

/* The instruction whose mnemonic is [i, j). */
static void asm_insn(asm_ctx *c, size_t i, size_t j) {
    char q[128], name[32];
    size_t n = j - i;
    int op = -1;
    if (n < sizeof name && !memchr(c->ln + i, '\0', n)) {
        memcpy(name, c->ln + i, n);
        name[n] = '\0';
        op = vm_op_by_name(name);
    }
    if (op < 0) {
        report(c, i, "unknown mnemonic %s, expected an instruction or .byte",
               quote(c, i, j, q, sizeof q));
        return;
    }
    const vm_opinfo *oi = vm_opinfo_of((uint8_t)op);
    unsigned isz = vm_imm_size(oi->imm);
    uint64_t next = c->pc + 1 + isz; /* REL offsets are relative to this */
    size_t pos = emit(c, i, 1 + isz);
    if (pos != NOPOS) c->out->data[pos] = (uint8_t)op;
    if (oi->imm == VM_IMM_NONE) {
        expect_end(c, j, oi->name);
        return;
    }

    size_t k = skip_ws(c, j);
    if (at_end(c, k)) {
        report(c, k, "missing operand (end of line), expected %s for %s", operand_what(oi->imm),
               oi->name);
        return;
    }
    size_t e = tok_end(c, k, false);
    const char *tok = c->ln + k;
    int64_t v = 0;
    num_res r;
    bool is_label = false;
    switch (oi->imm) {
    case VM_IMM_I64:
        r = parse_num(tok, e - k, true, &v);
        if (r == NUM_BAD) {
            report(c, k,
                   "bad number %s, expected a decimal, hex (0x1F) or fixed-point (1.5) number",
                   quote(c, k, e, q, sizeof q));
            return;
        }
        if (r == NUM_RANGE) {
            report(c, k, "number %s out of range, expected a value within int64",
                   quote(c, k, e, q, sizeof q));
            return;
        }
        break;
    case VM_IMM_IDX:
    case VM_IMM_U8:
    case VM_IMM_ARG:
        r = parse_num(tok, e - k, false, &v);
        if (r == NUM_BAD) {
            report(c, k, "bad number %s, expected %s", quote(c, k, e, q, sizeof q),
                   operand_what(oi->imm));
            return;
        }
        if (r == NUM_RANGE || v < 0 || v > 255) {
            report(c, k, "index %s out of range, expected 0..255", quote(c, k, e, q, sizeof q));
            return;
        }
        break;
    case VM_IMM_REL:
        if (*tok == '+' || *tok == '-') {
            r = parse_num(tok, e - k, false, &v);
            if (r == NUM_BAD) {
                report(c, k, "bad offset %s, expected a signed offset (+N or -N) or a label",
                       quote(c, k, e, q, sizeof q));
                return;
            }
            if (r == NUM_RANGE || v < REL_LO || v > REL_HI) {
                report(c, k, "offset %s out of range, expected -32768..+32767",
                       quote(c, k, e, q, sizeof q));
                return;
            }
        } else {
            size_t le = k;
            while (le < e && is_id(c->ln[le]))
                le++;
            if (!is_id0(*tok) || le != e) {
                report(c, k, "bad operand %s, expected a label or a signed offset (+N or -N)",
                       quote(c, k, e, q, sizeof q));
                return;
            }
            is_label = true;
        }
        break;
    default: return;
    }
    if (!expect_end(c, e, oi->name)) return;
    if (is_label && c->pass == 2) {
        asm_label *l = label_slot(c->labels, c->lcap, tok, e - k);
        if (!l || !l->name) {
            report(c, k, "undefined label %s, expected a label defined in this file",
                   quote(c, k, e, q, sizeof q));
            return;
        }
        v = (int64_t)l->pc - (int64_t)next;
        if (v < REL_LO || v > REL_HI) {
            report(c, k,
                   "label %s at offset %+" PRId64 ", expected an offset within -32768..+32767",
                   quote(c, k, e, q, sizeof q), v);
            return;
        }
    }
    patch(c, pos == NOPOS ? NOPOS : pos + 1, isz, v);
}

static void asm_line(asm_ctx *c) {
    char q[128];
    size_t i = skip_ws(c, 0);
    for (;;) { /* labels */
        if (at_end(c, i)) return;
        if (!is_id0(c->ln[i])) {
            report(c, i, "unexpected %s, expected a label, an instruction or .byte",
                   quote(c, i, tok_end(c, i, false), q, sizeof q));
            return;
        }
        size_t j = i;
        while (j < c->lnlen && is_id(c->ln[j]))
            j++;
        if (j >= c->lnlen || c->ln[j] != ':') break;
        define_label(c, i, j);
        if (c->fatal) return;
        i = skip_ws(c, j + 1);
    }
    size_t j = tok_end(c, i, false);
    if (c->ln[i] == '.') {
        if (j - i == 5 && strncasecmp(c->ln + i, ".byte", 5) == 0)
            asm_bytes(c, j);
        else
            report(c, i, "unknown directive %s, expected .byte", quote(c, i, j, q, sizeof q));
        return;
    }
    asm_insn(c, i, j);
}

int vm_asm(const char *src, size_t len, const char *fname, vm_buf *out, int *nerr, char *err,
           size_t errcap) {
    asm_ctx c = {.fname = fname ? fname : "<input>", .err = errcap ? err : NULL, .errcap = errcap};
    c.out = out;
    if (c.err) c.err[0] = 0;
    if (out) out->len = 0;
    for (c.pass = 1; c.pass <= 2 && !c.fatal; c.pass++) {
        c.pc = 0;
        c.too_big = false;
        c.lineno = 0;
        for (size_t p = 0; p < len && !c.fatal;) {
            const char *nl = memchr(src + p, '\n', len - p);
            size_t e = nl ? (size_t)(nl - src) : len;
            c.ln = src + p;
            c.lnlen = e - p;
            c.lineno++;
            asm_line(&c);
            p = e + 1;
        }
    }
    free(c.labels);
    if (c.unshown) count_unshown(&c);
    if (c.nerr && out) out->len = 0;
    if (nerr) *nerr = c.nerr;
    return c.nerr ? -1 : 0;
}

/* ---- disassembler ---- */

void vm_insn_text(const vm_insn *in, char *buf, size_t cap) {
    const vm_opinfo *oi = vm_opinfo_of(in->op);
    if (!cap) return;
    if (!in->defined) {
        snprintf(buf, cap, ".byte 0x%02x", in->op);
        return;
    }
    if (in->truncated) {
        snprintf(buf, cap, "%s <truncated>", oi->name);
        return;
    }
    switch (oi->imm) {
    case VM_IMM_I64: snprintf(buf, cap, "%s %" PRId64, oi->name, in->imm); break;
    case VM_IMM_REL: snprintf(buf, cap, "%s %+" PRId64, oi->name, in->imm); break;
    case VM_IMM_IDX:
    case VM_IMM_U8:
    case VM_IMM_ARG: snprintf(buf, cap, "%s %" PRId64, oi->name, in->imm); break;
    default: snprintf(buf, cap, "%s", oi->name); break;
    }
}

#define BIT_SET(b, i) ((b)[(i) >> 3] |= (uint8_t)(1u << ((i)&7)))
#define BIT_GET(b, i) (((b)[(i) >> 3] >> ((i)&7)) & 1u)

static bool is_rel(const vm_insn *in) {
    return in->defined && !in->truncated && vm_opinfo_of(in->op)->imm == VM_IMM_REL;
}

static void disasm_line(FILE *out, const char *text, size_t pc, const char *note) {
    fprintf(out, "    %-28s ; %04zu%s%s\n", text, pc, *note ? "  " : "", note);
}

void vm_disasm(const uint8_t *code, size_t len, FILE *out) {
    /* Instruction starts and label targets, one bit per pc 0..len. Without
     * memory for them every jump is printed with its numeric offset, which
     * round-trips just the same. */
    uint8_t *start = calloc(len / 8 + 1, 1), *label = calloc(len / 8 + 1, 1);
    vm_insn in;
    if (start && label) {
        for (size_t pc = 0; pc < len; pc += in.len) {
            vm_decode(code, len, pc, &in);
            BIT_SET(start, pc);
        }
        BIT_SET(start, len);
        for (size_t pc = 0; pc < len; pc += in.len) {
            vm_decode(code, len, pc, &in);
            if (!is_rel(&in)) continue;
            int64_t t = vm_rel_target(&in);
            if (t >= 0 && (uint64_t)t <= len && BIT_GET(start, (size_t)t))
                BIT_SET(label, (size_t)t);
        }
    } else {
        free(label);
        label = NULL;
    }
    free(start);

    for (size_t pc = 0; pc < len; pc += in.len) {
        vm_decode(code, len, pc, &in);
        if (label && BIT_GET(label, pc)) fprintf(out, "L%zu:\n", pc);
        const vm_opinfo *oi = vm_opinfo_of(in.op);
        char text[128], note[96] = "";
        if (!in.defined) {
            snprintf(text, sizeof text, ".byte 0x%02x", in.op);
            snprintf(note, sizeof note, "undefined opcode");
        } else if (in.truncated) {
            size_t o = (size_t)snprintf(text, sizeof text, ".byte");
            for (size_t k = 0; k < in.len; k++)
                o += (size_t)snprintf(text + o, sizeof text - o, "%s0x%02x", k ? ", " : " ",
                                      code[pc + k]);
            snprintf(note, sizeof note, "truncated %s: needs %u bytes, %u left", oi->name,
                     1 + vm_imm_size(oi->imm), (unsigned)in.len);
        } else if (label && is_rel(&in)) {
            int64_t t = vm_rel_target(&in);
            if (t >= 0 && (uint64_t)t <= len && BIT_GET(label, (size_t)t))
                snprintf(text, sizeof text, "%s L%" PRId64, oi->name, t);
            else
                vm_insn_text(&in, text, sizeof text);
        } else {
            vm_insn_text(&in, text, sizeof text);
        }
        disasm_line(out, text, pc, note);
    }
    if (label && BIT_GET(label, len)) fprintf(out, "L%zu:\n", len);
    free(label);
}
