/* docs/isa.md must agree with vm/opcodes.def, row for row. */
#include "testutil.h"

Test(isa, doc_matches_table) {
    vm_buf doc = {0};
    cr_assert_eq(tu_read_file("docs/isa.md", &doc), 0, "run the tests from the repo root");
    char *text = malloc(doc.len + 1);
    memcpy(text, doc.data, doc.len);
    text[doc.len] = 0;
    int nops = 0, nrows = 0;
    char row[512];
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    snprintf(row, sizeof row, "| `%s` | 0x%02x | %d | %d | %d | %s | %s |\n", #name, byte, in,     \
             out, gas, #imm, doc);                                                                 \
    cr_expect(strstr(text, row), "docs/isa.md lacks or misstates the row:\n%s", row);              \
    nops++;
#include "vm/opcodes.def"
#undef OP
    for (char *p = text; (p = strstr(p, "\n| `")); p++)
        nrows++;
    cr_expect_eq(nrows, nops, "docs/isa.md has %d opcode rows, the table has %d opcodes", nrows,
                 nops);
    for (int s = 0; s < VM_NSTATUS; s++) {
        snprintf(row, sizeof row, "| %d | `%s` | %s |\n", s, vm_status_name((vm_status)s),
                 vm_status_doc((vm_status)s));
        cr_expect(strstr(text, row), "docs/isa.md lacks or misstates the status row:\n%s", row);
    }
    free(text);
    vm_buf_free(&doc);
}
