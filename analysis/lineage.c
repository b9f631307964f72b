/* Lineage: trace an individual's ancestry through the stored parent ids. */
#include "analysis/analysis.h"
#include "evolve/evolve.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int an_parse_id(const an_run *r, const char *id, uint64_t *gen, uint32_t *island, uint32_t *slot) {
    if (!strcmp(id, "best")) { /* the last generation /pop holds */
        *gen = an_pop_last(r);
        *island = r->stats[*gen].best_island;
        *slot = r->stats[*gen].best_slot;
        return 0;
    }
    unsigned long long v[3];
    int n = 0;
    const char *p = id;
    size_t k = strlen(id);
    if (k > 5 && !strcmp(id + k - 5, ":best")) { /* GEN:best */
        char *end;
        if (*id < '0' || *id > '9') return -1;
        unsigned long long g = strtoull(id, &end, 10);
        if (end != id + k - 5 || g >= r->generations) return -1;
        *gen = g;
        *island = r->stats[g].best_island;
        *slot = r->stats[g].best_slot;
        return 0;
    }
    while (n < 3) {
        char *end;
        if (*p < '0' || *p > '9') return -1;
        v[n++] = strtoull(p, &end, 10);
        if (*end == 0) break;
        if (*end != ':') return -1;
        p = end + 1;
    }
    if (n < 2 || *p == 0) return -1;
    if (strchr(p, ':')) return -1; /* more than three parts */
    *gen = v[0];
    *island = n == 3 ? (uint32_t)v[1] : 0;
    *slot = (uint32_t)v[n - 1];
    if (n == 3 && v[1] > UINT32_MAX) return -1;
    if (v[n - 1] > UINT32_MAX) return -1;
    return 0;
}

static void ops_text(uint32_t ops, char *buf, size_t cap) {
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{EVO_OP_CX_ONE, "one-point"},    {EVO_OP_CX_TWO, "two-point"},
                 {EVO_OP_CX_HOMOL, "homologous"}, {EVO_OP_POINT, "point"},
                 {EVO_OP_INSERT, "insert"},       {EVO_OP_DELETE, "delete"},
                 {EVO_OP_SWAP, "swap"},           {EVO_OP_ELITE, "elite"},
                 {EVO_OP_SURVIVOR, "survivor"},   {EVO_OP_IMMIGRANT, "immigrant"},
                 {EVO_OP_CLONE, "clone"}};
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if ((ops & names[i].bit) && n < cap) {
            int w = snprintf(buf + n, cap - n, "%s%s", n ? "+" : "", names[i].name);
            if (w > 0) n += (size_t)w;
        }
    if (!n) snprintf(buf, cap, "%s", "random");
}

int an_lineage(const an_run *r, uint64_t gen, uint32_t island, uint32_t slot, bool programs,
               FILE *out, char *err, size_t errcap) {
    if (gen >= r->generations || island >= r->islands || slot >= r->pop_size) {
        base_errf_at(err, errcap, r->path,
                     "no individual %" PRIu64 ":%" PRIu32 ":%" PRIu32 " (%" PRIu64
                     " generations of %" PRIu32 " islands x %" PRIu32 ")",
                     gen, island, slot, r->generations, r->islands, r->pop_size);
        return -1;
    }
    if (an_pop_index(r, gen) == UINT64_MAX) {
        char kept[128];
        an_pop_text(r, kept, sizeof kept);
        fprintf(out,
                "frugal report: generation %" PRIu64 " is not in %s's populations (they hold %s)\n",
                gen, r->path, kept);
        return -1;
    }
    fprintf(out,
            "lineage of %" PRIu64 ":%" PRIu32 ":%" PRIu32
            " in %s (GEN:ISLAND:SLOT), newest first\n",
            gen, island, slot, r->path);
    uint64_t steps = 0, limit = 2 * r->generations + 2;
    for (;;) {
        uint64_t row = an_row(r, gen, island, slot);
        uint32_t pa = r->parent_a[row], pb = r->parent_b[row], ops = r->ops[row];
        char optext[128], second[64] = "";
        ops_text(ops, optext, sizeof optext);
        if ((ops & EVO_OP_CX_MASK) && pb != UINT32_MAX && gen > 0)
            snprintf(second, sizeof second, "  x %" PRIu64 ":%" PRIu32 ":%" PRIu32, gen - 1, island,
                     pb);
        fprintf(out,
                "%" PRIu64 ":%" PRIu32 ":%" PRIu32 "  error %.6g  gas %" PRIu64 "  memtime %" PRIu64
                "  hits %" PRIu32 "  %" PRIu32 " bytes  [%s]%s\n",
                gen, island, slot, r->error[row], r->gas[row], r->memtime[row], r->hits[row],
                r->length[row], optext, second);
        if (programs)
            an_print_program(r, r->code + r->code_offset[row], r->length[row], out, "      ");
        if (++steps > limit) {
            base_errf_at(err, errcap, r->path,
                         "the parent ids loop (at %" PRIu64 ":%" PRIu32 ":%" PRIu32
                         "), so the lineage stops there",
                         gen, island, slot);
            return -1;
        }
        if (ops & EVO_OP_IMMIGRANT) { /* parent_a: its slot, parent_b: its island, same gen */
            if (pb >= r->islands || pa >= r->pop_size) break;
            island = pb;
            slot = pa;
            continue;
        }
        if (gen == 0 || pa == UINT32_MAX || pa >= r->pop_size) break;
        if (an_pop_index(r, gen - 1) == UINT64_MAX) {
            fprintf(out, "(generation %" PRIu64 " is not in the file: output.population)\n",
                    gen - 1);
            break;
        }
        gen--;
        slot = pa;
    }
    fprintf(out, "%" PRIu64 " ancestors\n", steps - 1);
    return 0;
}
