#!/usr/bin/env bash
# Rewrites the generated tables in docs/isa.md (between the <!-- opcodes -->
# and <!-- statuses --> markers) from vm/opcodes.def and vm/vm.h.
# The test isa::doc_matches_table fails until this is run after a change.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/gen.c" <<'C'
#include "vm/vm.h"
#include <string.h>
int main(int argc, char **argv) {
    if (!strcmp(argv[1], "opcodes")) {
#define OP(name, byte, in, out, gas, imm, doc) \
        printf("| `%s` | 0x%02x | %d | %d | %d | %s | %s |\n", #name, byte, in, out, gas, #imm, doc);
#include "vm/opcodes.def"
    } else {
#define X(name, code, doc) printf("| %d | `%s` | %s |\n", code, #name, doc);
        VM_STATUSES(X)
    }
    (void)argc;
    return 0;
}
C
cc -I. "$tmp/gen.c" -o "$tmp/gen"
"$tmp/gen" opcodes > "$tmp/opcodes"
"$tmp/gen" statuses > "$tmp/statuses"
python3 - "$tmp" <<'PY'
import sys, re
tmp = sys.argv[1]
doc = open('docs/isa.md').read()
for name in ('opcodes', 'statuses'):
    body = open(f'{tmp}/{name}').read()
    doc = re.sub(rf'(<!-- {name} -->\n)(.*?)(<!-- /{name} -->)', lambda m: m.group(1) + body + m.group(3), doc, flags=re.S)
open('docs/isa.md', 'w').write(doc)
PY
