/* The assembler and disassembler (vm/asm.c): known answers, round trips of
 * random byte strings and random valid programs, and error reports. */
#include <criterion/criterion.h>

#include "vm/vm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static uint64_t xs_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Assemble len bytes of src as fname. Returns the error count (vm_asm's
 * -1 when and only when there are errors); *errs (may be NULL) gets the
 * messages, each ending in '\n' (caller frees). */
static int asm_n(const char *src, size_t len, const char *fname, vm_buf *out, char **errs) {
    char *err = malloc(1 << 20);
    cr_assert_not_null(err);
    int n = -1;
    int rc = vm_asm(src, len, fname, out, &n, err, 1 << 20);
    cr_assert_eq(rc, n ? -1 : 0, "%d errors, returned %d", n, rc);
    cr_assert(n > 0 || !*err, "no errors, but err is '%s'", err);
    if (*err) strcat(err, "\n");
    if (errs)
        *errs = err;
    else
        free(err);
    return n;
}

/* Assemble src as "t.s". */
static int as(const char *src, vm_buf *out, char **errs) {
    return asm_n(src, strlen(src), "t.s", out, errs);
}

static char *disasm_text(const uint8_t *code, size_t len, size_t *tlen) {
    char *text = NULL;
    FILE *f = open_memstream(&text, tlen);
    cr_assert_not_null(f);
    vm_disasm(code, len, f);
    fclose(f);
    return text;
}

/* Expected bytes, built from the table's enum values. */
typedef struct {
    uint8_t b[4096];
    size_t n;
} code_t;

static void put(code_t *c, uint8_t op) {
    c->b[c->n++] = op;
}
static void put_le(code_t *c, uint64_t v, unsigned n) {
    for (unsigned k = 0; k < n; k++)
        c->b[c->n++] = (uint8_t)(v >> (8 * k));
}
static void put_push(code_t *c, int64_t v) {
    put(c, VM_OP_PUSH);
    put_le(c, (uint64_t)v, 8);
}
static void put_rel(code_t *c, uint8_t op, int16_t off) {
    put(c, op);
    put_le(c, (uint16_t)off, 2);
}
static void put_idx(code_t *c, uint8_t op, uint8_t n) {
    put(c, op);
    put(c, n);
}

static void assert_code(const char *src, const code_t *want) {
    vm_buf out = {0};
    char *errs;
    int n = as(src, &out, &errs);
    cr_assert_eq(n, 0, "errors: %s", errs);
    cr_assert_str_empty(errs);
    cr_assert_eq(out.len, want->n, "length %zu, expected %zu", out.len, want->n);
    for (size_t i = 0; i < want->n; i++)
        cr_assert_eq(out.data[i], want->b[i], "byte %zu: 0x%02x, expected 0x%02x", i, out.data[i],
                     want->b[i]);
    free(errs);
    vm_buf_free(&out);
}

/* The PUSH immediate that `PUSH text` assembles to. */
static int64_t push_value(const char *text) {
    char src[256];
    snprintf(src, sizeof src, "PUSH %s\n", text);
    vm_buf out = {0};
    char *errs;
    cr_assert_eq(as(src, &out, &errs), 0, "%s: %s", text, errs);
    free(errs);
    cr_assert_eq(out.len, 9);
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)out.data[1 + k] << (8 * k);
    vm_buf_free(&out);
    return (int64_t)v;
}

/* disasm -> asm gives back the same bytes. Returns the number of label lines. */
static int round_trip(const uint8_t *code, size_t len, uint64_t seed) {
    size_t tlen;
    char *text = disasm_text(code, len, &tlen);
    vm_buf out = {0};
    char *errs = NULL;
    int n = asm_n(text, tlen, "rt.s", &out, &errs);
    cr_assert_eq(n, 0, "seed %" PRIu64 ": %s\n%s", seed, errs, text);
    cr_assert_eq(out.len, len, "seed %" PRIu64 ": length %zu, expected %zu\n%s", seed, out.len, len,
                 text);
    cr_assert(len == 0 || memcmp(out.data, code, len) == 0, "seed %" PRIu64 ":\n%s", seed, text);
    int labels = 0;
    for (const char *p = text; (p = strstr(p, "\nL")) != NULL; p++)
        labels++;
    if (text[0] == 'L') labels++;
    free(text);
    free(errs);
    vm_buf_free(&out);
    return labels;
}

/* ---- known answers ---- */

Test(asm, basic_program) {
    const char *src = "; a comment line\n"
                      "\n"
                      "  PUSH 5        # another comment\n"
                      "  push -12\n"
                      "\tDup 2\r\n"
                      "  SWAP 0x0\n"
                      "  add ; trailing\n"
                      "  HALT";
    code_t w = {0};
    put_push(&w, 5);
    put_push(&w, -12);
    put_idx(&w, VM_OP_DUP, 2);
    put_idx(&w, VM_OP_SWAP, 0);
    put(&w, VM_OP_ADD);
    put(&w, VM_OP_HALT);
    assert_code(src, &w);
}

Test(asm, empty_source) {
    assert_code("", &(code_t){0});
}
Test(asm, only_comments) {
    assert_code("; x\n# y\n   \n\n", &(code_t){0});
}

Test(asm, labels_forward_and_backward) {
    const char *src = "start:\n"
                      "  PUSH 3\n"              /* 0 */
                      "loop: DUP 0\n"           /* 9 */
                      "  JZ done\n"             /* 11 */
                      "  PUSH -1\n"             /* 14 */
                      "  ADD\n"                 /* 23 */
                      "  JMP loop ; back\n"     /* 24 */
                      "done: a.b_c: CALL end\n" /* 27 */
                      "  JMP start\n"           /* 30 */
                      "  JNZ a.b_c\n"           /* 33 */
                      "end:\n";                 /* 36 */
    code_t w = {0};
    put_push(&w, 3);
    put_idx(&w, VM_OP_DUP, 0);
    put_rel(&w, VM_OP_JZ, 27 - 14);
    put_push(&w, -1);
    put(&w, VM_OP_ADD);
    put_rel(&w, VM_OP_JMP, 9 - 27);
    put_rel(&w, VM_OP_CALL, 36 - 30);
    put_rel(&w, VM_OP_JMP, 0 - 33);
    put_rel(&w, VM_OP_JNZ, 27 - 36);
    cr_assert_eq(w.n, 36);
    assert_code(src, &w);
}

Test(asm, numeric_offsets) {
    code_t w = {0};
    put_rel(&w, VM_OP_JMP, 3);
    put_rel(&w, VM_OP_JMP, -7);
    put_rel(&w, VM_OP_JZ, 0);
    put_rel(&w, VM_OP_JNZ, 32767);
    put_rel(&w, VM_OP_CALL, -32768);
    put_rel(&w, VM_OP_JMP, 16);
    assert_code("JMP +3\nJMP -7\nJZ +0\nJNZ +32767\nCALL -32768\njmp +0x10\n", &w);
}

Test(asm, fixed_point_literals) {
    cr_assert_eq(push_value("1.5"), 0x180000000ll);
    cr_assert_eq(push_value("-0.25"), -0x40000000ll);
    cr_assert_eq(push_value("+0.5"), 0x80000000ll);
    cr_assert_eq(push_value("1.0"), VM_FX_ONE);
    cr_assert_eq(push_value("0.0"), 0);
    cr_assert_eq(push_value("-0.0"), 0);
    /* 3.14159 * 2^32 = 13493026307.44064 */
    cr_assert_eq(push_value("3.14159"), 13493026307ll);
    /* exactly 2^-33 is half a unit: away from zero; a hair less rounds down */
    cr_assert_eq(push_value("0.000000000116415321826934814453125"), 1);
    cr_assert_eq(push_value("-0.000000000116415321826934814453125"), -1);
    cr_assert_eq(push_value("0.000000000116415321826934814453124999"), 0);
    cr_assert_eq(push_value("0.500000000000000000000000000000000000000001"), 0x80000000ll);
    /* the ends of the range */
    cr_assert_eq(push_value("-2147483648.0"), INT64_MIN);
    cr_assert_eq(push_value("2147483647.99999999976716935634613037109375"), INT64_MAX);
    cr_assert_eq(push_value("-2147483648.0000000001"), INT64_MIN);
}

/* round(D / 10^k * 2^32) half away from zero, by 128-bit arithmetic. */
static int64_t fx_ref(int64_t ip, uint64_t frac, int k, bool neg) {
    __int128 p10 = 1;
    for (int i = 0; i < k; i++)
        p10 *= 10;
    __int128 num = ((__int128)ip * p10 + frac) << 32;
    __int128 q = num / p10, r = num % p10;
    if (2 * r >= p10) q++;
    return (int64_t)(neg ? -q : q);
}

Test(asm, fixed_point_matches_reference) {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 20000; t++) {
        int64_t ip = (int64_t)(xs_next(&s) % 2147483648ull);
        if (t % 3 == 0) ip %= 10;
        int k = 1 + (int)(xs_next(&s) % 18);
        uint64_t p10 = 1;
        for (int i = 0; i < k; i++)
            p10 *= 10;
        uint64_t frac = xs_next(&s) % p10;
        bool neg = xs_next(&s) & 1;
        char text[64];
        snprintf(text, sizeof text, "%s%" PRId64 ".%0*" PRIu64, neg ? "-" : "", ip, k, frac);
        cr_assert_eq(push_value(text), fx_ref(ip, frac, k, neg), "%s", text);
    }
}

Test(asm, integer_literals) {
    cr_assert_eq(push_value("0x1F"), 31);
    cr_assert_eq(push_value("0X1f"), 31);
    cr_assert_eq(push_value("-0x10"), -16);
    cr_assert_eq(push_value("+7"), 7);
    cr_assert_eq(push_value("007"), 7);
    cr_assert_eq(push_value("0xFFFFFFFFFFFFFFFF"), -1);
    cr_assert_eq(push_value("0x8000000000000000"), INT64_MIN);
    cr_assert_eq(push_value("-0x8000000000000000"), INT64_MIN);
    cr_assert_eq(push_value("9223372036854775807"), INT64_MAX);
    cr_assert_eq(push_value("-9223372036854775808"), INT64_MIN);
}

Test(asm, byte_directive) {
    code_t w = {0};
    put(&w, 1);
    put(&w, 0xff);
    put(&w, 2);
    put(&w, 0);
    put(&w, VM_OP_NOP);
    put(&w, 255);
    assert_code(".byte 1, 0xff,2 ,0\nNOP\n.BYTE 255 ; c\n", &w);
}

Test(asm, buf_free_zeroes) {
    vm_buf b = {0};
    cr_assert_eq(as("PUSH 1\n", &b, NULL), 0);
    cr_assert_not_null(b.data);
    vm_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    vm_buf_free(&b);
}

Test(asm, reuses_output_buffer) {
    vm_buf b = {0};
    cr_assert_eq(as("PUSH 1\nPUSH 2\n", &b, NULL), 0);
    cr_assert_eq(b.len, 18);
    cr_assert_eq(as("NOP\n", &b, NULL), 0);
    cr_assert_eq(b.len, 1);
    cr_assert_eq(b.data[0], VM_OP_NOP);
    cr_assert_neq(as("NOP 1\n", &b, NULL), 0);
    cr_assert_eq(b.len, 0);
    vm_buf_free(&b);
}

/* ---- disassembler ---- */

Test(disasm, format) {
    code_t c = {0};
    put_push(&c, 5);             /* 0 */
    put_idx(&c, VM_OP_DUP, 2);   /* 9 */
    put_rel(&c, VM_OP_JNZ, -14); /* 11: to 0 */
    put_rel(&c, VM_OP_JMP, 1);   /* 14: to 18 */
    put(&c, 0xff);               /* 17: undefined */
    put_rel(&c, VM_OP_JZ, 0);    /* 18: to 21 = end */
    cr_assert_eq(vm_opinfo_of(0xff)->name, NULL);
    size_t tlen;
    char *text = disasm_text(c.b, c.n, &tlen);
    const char *want = "L0:\n"
                       "    PUSH 5                       ; 0000\n"
                       "    DUP 2                        ; 0009\n"
                       "    JNZ L0                       ; 0011\n"
                       "    JMP L18                      ; 0014\n"
                       "    .byte 0xff                   ; 0017  undefined opcode\n"
                       "L18:\n"
                       "    JZ L21                       ; 0018\n"
                       "L21:\n";
    cr_assert_str_eq(text, want);
    free(text);
    round_trip(c.b, c.n, 0);
}

Test(disasm, bad_targets_are_numeric) {
    code_t c = {0};
    put_push(&c, 1);
    put_rel(&c, VM_OP_JMP, -5); /* into the PUSH immediate */
    put_rel(&c, VM_OP_JMP, 1);  /* past the end */
    put_rel(&c, VM_OP_JMP, -100);
    size_t tlen;
    char *text = disasm_text(c.b, c.n, &tlen);
    cr_assert(strstr(text, "JMP -5 "), "%s", text);
    cr_assert(strstr(text, "JMP +1 "), "%s", text);
    cr_assert(strstr(text, "JMP -100 "), "%s", text);
    cr_assert_null(strstr(text, "L"), "%s", text);
    free(text);
    round_trip(c.b, c.n, 0);
}

Test(disasm, truncated_tail) {
    uint8_t code[] = {VM_OP_NOP, VM_OP_PUSH, 0x05, 0x00};
    size_t tlen;
    char *text = disasm_text(code, sizeof code, &tlen);
    cr_assert_str_eq(text, "    NOP                          ; 0000\n"
                           "    .byte 0x10, 0x05, 0x00       ; 0001  truncated PUSH: needs 9 "
                           "bytes, 3 left\n");
    free(text);
    round_trip(code, sizeof code, 0);
    uint8_t rel[] = {VM_OP_JMP, 0xfd};
    round_trip(rel, sizeof rel, 0);
}

Test(disasm, insn_text) {
    char buf[64];
    vm_insn in;
    code_t c = {0};
    put_push(&c, 5);
    put_idx(&c, VM_OP_DUP, 2);
    put_rel(&c, VM_OP_JNZ, -7);
    put_rel(&c, VM_OP_JMP, 5);
    put(&c, 0xff);
    put(&c, VM_OP_ADD);
    put(&c, VM_OP_PUSH);
    const char *want[] = {"PUSH 5",     "DUP 2", "JNZ -7",          "JMP +5",
                          ".byte 0xff", "ADD",   "PUSH <truncated>"};
    size_t pc = 0;
    for (int i = 0; i < 7; i++) {
        vm_decode(c.b, c.n, pc, &in);
        vm_insn_text(&in, buf, sizeof buf);
        cr_assert_str_eq(buf, want[i]);
        pc += in.len;
    }
    cr_assert_eq(pc, c.n);
    vm_decode(c.b, c.n, 0, &in);
    vm_insn_text(&in, buf, 4);
    cr_assert_str_eq(buf, "PUS");
}

/* Every defined opcode, with its immediate set to a few values: the text of
 * vm_insn_text assembles back to the instruction's bytes. */
Test(disasm, insn_text_assembles_for_every_opcode) {
    int ndef = 0;
    for (int op = 0; op < 256; op++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)op);
        if (!oi->name) continue;
        ndef++;
        for (int t = 0; t < 4; t++) {
            code_t c = {0};
            put(&c, (uint8_t)op);
            uint64_t imm = t == 0 ? 0 : t == 1 ? UINT64_MAX : t == 2 ? 0x8000 : 0x7f;
            put_le(&c, imm, vm_imm_size(oi->imm));
            vm_insn in;
            vm_decode(c.b, c.n, 0, &in);
            char text[64];
            vm_insn_text(&in, text, sizeof text);
            vm_buf out = {0};
            char *errs;
            cr_assert_eq(as(text, &out, &errs), 0, "%s: %s", text, errs);
            free(errs);
            cr_assert_eq(out.len, c.n, "%s", text);
            cr_assert(memcmp(out.data, c.b, c.n) == 0, "%s", text);
            vm_buf_free(&out);
        }
    }
    cr_assert_gt(ndef, 10);
}

/* ---- round trips ---- */

Test(asm_roundtrip, random_bytes) {
    /* Bytes biased towards defined opcodes and small values, so that jumps
     * often land on instruction starts and labels get exercised. */
    uint8_t defined[256];
    int ndef = 0;
    for (int op = 0; op < 256; op++)
        if (vm_opinfo_of((uint8_t)op)->name) defined[ndef++] = (uint8_t)op;
    uint8_t code[300];
    long labels = 0;
    for (uint64_t seed = 1; seed <= 20000; seed++) {
        uint64_t s = seed * 0x9e3779b97f4a7c15ull;
        xs_next(&s);
        size_t len = (size_t)(xs_next(&s) % 301);
        unsigned mode = (unsigned)(seed % 4);
        for (size_t i = 0; i < len; i++) {
            uint64_t r = xs_next(&s);
            unsigned pick = mode == 0 ? 0 : (unsigned)(r >> 60) % 3;
            if (pick == 0)
                code[i] = (uint8_t)r;
            else if (pick == 1)
                code[i] = defined[(r >> 8) % (uint64_t)ndef];
            else
                code[i] = (uint8_t)((r >> 8) % 16) - 8; /* -8..7: short jumps */
        }
        labels += round_trip(code, len, seed);
    }
    cr_assert_gt(labels, 500, "labels were rarely produced: %ld", labels);
}

/* Every REL instruction in a disassembly names a label. */
static bool all_jumps_labelled(const char *text) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char name[32];
        if (sscanf(p, " %31s", name) == 1 && name[0] != 'L' && name[0] != '.') {
            int op = vm_op_by_name(name);
            const char *arg = memchr(p, ' ', n) ? strstr(p, name) + strlen(name) : NULL;
            if (op >= 0 && vm_opinfo_of((uint8_t)op)->imm == VM_IMM_REL &&
                (!arg || arg[0] != ' ' || arg[1] != 'L'))
                return false;
        }
        p += n + (nl != NULL);
    }
    return true;
}

Test(asm_roundtrip, random_valid_programs) {
    uint8_t defined[256];
    int ndef = 0;
    for (int op = 0; op < 256; op++)
        if (vm_opinfo_of((uint8_t)op)->name) defined[ndef++] = (uint8_t)op;
    cr_assert(all_jumps_labelled("L0:\n    JMP L0 ; 0000\n    PUSH -5 ; 0003\n"));
    cr_assert(!all_jumps_labelled("    PUSH 1 ; 0000\n    jnz -12 ; 0009\n"));
    uint64_t s = 12345;
    static uint8_t code[8192];
    static uint32_t starts[4096];
    for (int prog = 0; prog < 2000; prog++) {
        int ninsn = (int)(xs_next(&s) % 200);
        size_t len = 0;
        for (int i = 0; i < ninsn; i++) {
            uint8_t op = defined[xs_next(&s) % (uint64_t)ndef];
            starts[i] = (uint32_t)len;
            code[len] = op;
            len += 1 + vm_imm_size(vm_opinfo_of(op)->imm);
        }
        starts[ninsn] = (uint32_t)len;
        for (int i = 0; i < ninsn; i++) {
            size_t pc = starts[i];
            const vm_opinfo *oi = vm_opinfo_of(code[pc]);
            unsigned n = vm_imm_size(oi->imm);
            uint64_t imm = xs_next(&s);
            if (oi->imm == VM_IMM_REL) /* a valid target, possibly the end */
                imm = (uint64_t)((int64_t)starts[xs_next(&s) % (uint64_t)(ninsn + 1)] -
                                 (int64_t)(pc + 1 + n));
            else if (oi->imm == VM_IMM_I64 && (imm & 1))
                imm = (uint64_t)((int64_t)(imm >> 1) % 1000 - 500);
            for (unsigned k = 0; k < n; k++)
                code[pc + 1 + k] = (uint8_t)(imm >> (8 * k));
        }
        size_t tlen;
        char *text = disasm_text(code, len, &tlen);
        cr_assert_null(strstr(text, ".byte"), "%s", text);
        cr_assert(all_jumps_labelled(text), "a jump without a label:\n%s", text);
        free(text);
        round_trip(code, len, (uint64_t)prog);
    }
}

/* ---- errors ---- */

/* src gives exactly want (the full error text) and nerr errors. */
static void assert_errors(const char *src, int nerr, const char *want) {
    vm_buf out = {0};
    char *errs;
    int n = as(src, &out, &errs);
    cr_assert_str_eq(errs, want, "source:\n%s", src);
    cr_assert_eq(n, nerr, "source:\n%s\nerrors:\n%s", src, errs);
    cr_assert_eq(out.len, 0);
    free(errs);
    vm_buf_free(&out);
}

Test(asm_errors, unknown_mnemonic) {
    assert_errors("NOP\n  FROB 1\n", 1,
                  "t.s:2:3: error: unknown mnemonic 'FROB', expected an instruction or .byte\n");
    assert_errors(".word 1\n", 1, "t.s:1:1: error: unknown directive '.word', expected .byte\n");
    assert_errors("  123\n", 1,
                  "t.s:1:3: error: unexpected '123', expected a label, an instruction or .byte\n");
}

Test(asm_errors, missing_operand) {
    assert_errors("PUSH\n", 1,
                  "t.s:1:5: error: missing operand (end of line), expected an integer or "
                  "fixed-point number for PUSH\n");
    assert_errors("  JMP   ; where?\n", 1,
                  "t.s:1:9: error: missing operand (end of line), expected a label or a signed "
                  "offset (+N or -N) for JMP\n");
    assert_errors("DUP\n", 1,
                  "t.s:1:4: error: missing operand (end of line), expected a stack index 0..255 "
                  "for DUP\n");
    assert_errors(".byte 1,\n", 1,
                  "t.s:1:9: error: missing byte value (end of line), expected a number 0..255\n");
}

Test(asm_errors, extra_operand) {
    assert_errors("NOP 5\n", 1,
                  "t.s:1:5: error: extra operand '5', expected end of line after NOP\n");
    assert_errors("PUSH 1 2\n", 1,
                  "t.s:1:8: error: extra operand '2', expected end of line after PUSH\n");
    assert_errors("x: JMP x y\n", 1,
                  "t.s:1:10: error: extra operand 'y', expected end of line after JMP\n");
    assert_errors(".byte 1 2\n", 1,
                  "t.s:1:9: error: unexpected '2', expected ',' or end of line\n");
}

Test(asm_errors, bad_number) {
    assert_errors("PUSH 12ab\n", 1,
                  "t.s:1:6: error: bad number '12ab', expected a decimal, hex (0x1F) or "
                  "fixed-point (1.5) number\n");
    const char *bad[] = {"0x", "-", "1.", ".5", "1.5.2", "0x1.5", "1e3", "--1", "0xg"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char src[64], want[256];
        snprintf(src, sizeof src, "PUSH %s\n", bad[i]);
        snprintf(want, sizeof want,
                 "t.s:1:6: error: bad number '%s', expected a decimal, hex (0x1F) or "
                 "fixed-point (1.5) number\n",
                 bad[i]);
        assert_errors(src, 1, want);
    }
    assert_errors("DUP 1.5\n", 1,
                  "t.s:1:5: error: bad number '1.5', expected a stack index 0..255\n");
    assert_errors("JMP +1.5\n", 1,
                  "t.s:1:5: error: bad offset '+1.5', expected a signed offset (+N or -N) or a "
                  "label\n");
    assert_errors("JMP 5\n", 1,
                  "t.s:1:5: error: bad operand '5', expected a label or a signed offset (+N or "
                  "-N)\n");
    assert_errors(".byte x\n", 1,
                  "t.s:1:7: error: bad number 'x', expected a byte value 0..255 (decimal or 0x "
                  "hex)\n");
}

Test(asm_errors, number_out_of_range) {
    const char *big[] = {"9223372036854775808",    "-9223372036854775809", "0x10000000000000000",
                         "-0x8000000000000001",    "2147483648.0",         "-2147483648.0000000002",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        char src[64], want[256];
        snprintf(src, sizeof src, "PUSH %s\n", big[i]);
        snprintf(want, sizeof want,
                 "t.s:1:6: error: number '%s' out of range, expected a value within int64\n",
                 big[i]);
        assert_errors(src, 1, want);
    }
    assert_errors("DUP 256\n", 1, "t.s:1:5: error: index '256' out of range, expected 0..255\n");
    assert_errors("SWAP -1\n", 1, "t.s:1:6: error: index '-1' out of range, expected 0..255\n");
    assert_errors(".byte 0, 256\n", 1,
                  "t.s:1:10: error: byte value '256' out of range, expected 0..255\n");
}

Test(asm_errors, offset_out_of_range) {
    assert_errors("JMP +32768\n", 1,
                  "t.s:1:5: error: offset '+32768' out of range, expected -32768..+32767\n");
    assert_errors("JZ -32769\n", 1,
                  "t.s:1:4: error: offset '-32769' out of range, expected -32768..+32767\n");
    /* labels just in reach (32767 forward, 32768 back) and just out of it */
    for (int extra = 0; extra < 2; extra++) {
        /* back: JMP fwd; P bytes; JMP back; 2 bytes; fwd:
         * JMP fwd is +(P + 5), JMP back is -(P + 6) */
        size_t p = 32762 + (size_t)extra, cap = 64 + (p + 2) * 8;
        char *src = malloc(cap);
        cr_assert_not_null(src);
        size_t o = (size_t)snprintf(src, cap, "back: JMP fwd\n");
        for (size_t i = 0; i < p; i++)
            o += (size_t)snprintf(src + o, cap - o, ".byte 0\n");
        snprintf(src + o, cap - o, "JMP back\n.byte 0, 0\nfwd:\n");
        vm_buf out = {0};
        char *errs;
        int nerr = as(src, &out, &errs);
        if (extra == 0) {
            cr_assert_eq(nerr, 0, "%s", errs);
            cr_assert_eq(out.len, p + 8);
            cr_assert_eq(out.data[1] | out.data[2] << 8, 32767);
            cr_assert_eq(out.data[p + 4] | out.data[p + 5] << 8, 0x8000);
        } else {
            cr_assert_eq(nerr, 2);
            char want[512];
            snprintf(want, sizeof want,
                     "t.s:1:11: error: label 'fwd' at offset +32768, expected an offset within "
                     "-32768..+32767\n"
                     "t.s:%zu:5: error: label 'back' at offset -32769, expected an offset within "
                     "-32768..+32767\n",
                     p + 2);
            cr_assert_str_eq(errs, want);
        }
        free(errs);
        free(src);
        vm_buf_free(&out);
    }
}

Test(asm_errors, labels) {
    assert_errors("JMP nowhere\n", 1,
                  "t.s:1:5: error: undefined label 'nowhere', expected a label defined in this "
                  "file\n");
    assert_errors("a: NOP\n"
                  "b:\n"
                  "  a: NOP\n",
                  1,
                  "t.s:3:3: error: duplicate label 'a', expected a new name (first defined at "
                  "t.s:1:1)\n");
    /* labels are case-sensitive */
    assert_errors("Top: JMP top\n", 1,
                  "t.s:1:10: error: undefined label 'top', expected a label defined in this "
                  "file\n");
}

Test(asm_errors, all_reported_and_recovery) {
    const char *src = "start: PUSH 1\n"       /* fine */
                      "  FROB\n"              /* 2: unknown */
                      "  PUSH 1x junk more\n" /* 3: one error per line */
                      "  JMP missing\n"       /* 4: undefined */
                      "start: NOP\n"          /* 5: duplicate */
                      "  DUP 999\n"           /* 6: range */
                      "  HALT 1\n"            /* 7: extra */
                      "  JMP start\n";        /* fine */
    assert_errors(src, 6,
                  "t.s:2:3: error: unknown mnemonic 'FROB', expected an instruction or .byte\n"
                  "t.s:3:8: error: bad number '1x', expected a decimal, hex (0x1F) or "
                  "fixed-point (1.5) number\n"
                  "t.s:4:7: error: undefined label 'missing', expected a label defined in this "
                  "file\n"
                  "t.s:5:1: error: duplicate label 'start', expected a new name (first defined "
                  "at t.s:1:1)\n"
                  "t.s:6:7: error: index '999' out of range, expected 0..255\n"
                  "t.s:7:8: error: extra operand '1', expected end of line after HALT\n");
}

/* When the errors do not all fit in errcap, err shows the first ones whole
 * and a last line counting the rest; too small for that, the count alone. */
Test(asm_errors, more_errors_than_room) {
    const char *src = "  FROB\n  PUSH 1x\n  JMP missing\n  DUP 999\n  HALT 1\n";
    char *all = NULL;
    vm_buf out = {0};
    cr_assert_eq(asm_n(src, strlen(src), "t.s", &out, &all), 5);
    int counted = 0;
    for (size_t cap = 1; cap <= strlen(all) + 1; cap++) {
        char err[512];
        memset(err, 'x', sizeof err);
        int n = 0;
        cr_assert_eq(vm_asm(src, strlen(src), "t.s", &out, &n, err, cap), -1);
        cr_assert_eq(n, 5);
        cr_assert_lt(strlen(err), cap, "cap %zu: '%s'", cap, err);
        cr_assert_eq(err[cap], 'x', "cap %zu: written past errcap", cap);
        if (cap >= strlen(all)) { /* all but the last '\n' of all: every line fits */
            cr_assert_eq(strlen(err), strlen(all) - 1);
            cr_assert_eq(strncmp(err, all, strlen(all) - 1), 0, "cap %zu: '%s'", cap, err);
            continue;
        }
        const char *tail = strrchr(err, '\n');
        tail = tail ? tail + 1 : err;
        int shown = 0;
        for (const char *p = err; p < tail; p++)
            shown += *p == '\n';
        /* the lines shown are the first ones, whole */
        cr_assert_eq(strncmp(err, all, (size_t)(tail - err)), 0, "cap %zu: '%s'", cap, err);
        char want[64];
        snprintf(want, sizeof want, "t.s: %d more error%s not shown", 5 - shown,
                 5 - shown == 1 ? "" : "s");
        if (!strcmp(tail, want))
            counted++;
        else {
            cr_assert_eq(shown, 0, "cap %zu: '%s'", cap, err);
            cr_assert_eq(strncmp(err, "t.s: 5 errors", cap - 1), 0, "cap %zu: '%s'", cap, err);
        }
    }
    cr_assert_gt(counted, 100, "the last line counts the rest");
    int n = 0;
    cr_assert_eq(vm_asm(src, strlen(src), "t.s", &out, &n, NULL, 0), -1);
    cr_assert_eq(n, 5);
    cr_assert_eq(out.len, 0);
    free(all);
    vm_buf_free(&out);
}

Test(asm_errors, odd_bytes_are_escaped) {
    const char src[] = "PU\x01SH 1\n";
    vm_buf out = {0};
    char *errs = NULL;
    int n = asm_n(src, sizeof src - 1, "t.s", &out, &errs);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(errs, "t.s:1:1: error: unknown mnemonic 'PU\\x01SH', expected an "
                           "instruction or .byte\n");
    free(errs);
    /* an embedded NUL is not the end of a mnemonic */
    const char nul[] = "NOP\0X\n";
    cr_assert_eq(asm_n(nul, sizeof nul - 1, "t.s", &out, NULL), 1);
    vm_buf_free(&out);
}

Test(asm_errors, code_size_cap) {
    /* VM_MAX_CODE / 9 PUSHes fit; one more does not. */
    size_t n = VM_MAX_CODE / 9 + 1;
    size_t cap = n * 7 + 64;
    char *src = malloc(cap);
    cr_assert_not_null(src);
    for (size_t i = 0; i < n; i++)
        memcpy(src + 7 * i, "PUSH 0\n", 7);
    size_t len = 7 * n;
    vm_buf out = {0};
    cr_assert_eq(asm_n(src, len - 7, "t.s", &out, NULL), 0);
    cr_assert_eq(out.len, (n - 1) * 9);
    char *errs = NULL;
    len += (size_t)sprintf(src + len, "DUP 300\n");
    int nerr = asm_n(src, len, "t.s", &out, &errs);
    char want[512];
    snprintf(want, sizeof want,
             "t.s:%zu:1: error: code of more than %u bytes, expected at most %u bytes "
             "(VM_MAX_CODE)\n"
             "t.s:%zu:5: error: index '300' out of range, expected 0..255\n",
             n, (unsigned)VM_MAX_CODE, (unsigned)VM_MAX_CODE, n + 1);
    cr_assert_str_eq(errs, want);
    cr_assert_eq(nerr, 2);
    cr_assert_eq(out.len, 0);
    free(errs);
    free(src);
    vm_buf_free(&out);
}
