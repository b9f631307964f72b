/* libFuzzer: the assembler takes any text without crashing, failing with
 * errors and no code or succeeding; and the disassembly of any bytes (the
 * input itself, and what the text assembled to) assembles back to the same
 * bytes, as vm.h promises. */
#include "vm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* disasm(code) must assemble to code again. */
static void round_trip(const uint8_t *code, size_t len) {
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f) abort();
    vm_disasm(code, len, f);
    if (fclose(f)) abort();
    vm_buf again = {0};
    char err[512];
    int nerr = 0;
    if (vm_asm(text, tlen, "disasm", &again, &nerr, err, sizeof err)) {
        fprintf(stderr, "disassembly does not assemble:\n%s\n%s\n", err, text);
        abort();
    }
    if (again.len != len || (len && memcmp(again.data, code, len))) {
        fprintf(stderr, "round trip changed the bytes (%zu -> %zu):\n%s\n", len, again.len, text);
        abort();
    }
    vm_buf_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 14) return 0;
    vm_buf out = {0};
    char err[256];
    int nerr = -1;
    if (vm_asm((const char *)data, size, "fuzz.s", &out, &nerr, err, sizeof err)) {
        if (out.len != 0 || nerr < 1 || !err[0] || !memchr(err, 0, sizeof err)) abort();
    } else {
        if (nerr != 0) abort();
        round_trip(out.data, out.len);
    }
    vm_buf_free(&out);
    round_trip(data, size);
    return 0;
}
