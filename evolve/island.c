/* Islands: deterministic migration behind a transport interface
 * (docs/gp.md). Export the emigrants into batches, let the transport deliver
 * them, import each arriving batch over the destination's worst. */
#include "evolve/evo_impl.h"

#include <stdlib.h>
#include <string.h>

static int local_exchange(void *ctx, uint64_t generation, uint32_t nislands, const uint32_t *dest,
                          const evo_batch *out, evo_batch *in) {
    for (uint32_t i = 0; i < nislands; i++)
        in[i].bytes.len = in[i].count = 0;
    for (uint32_t i = 0; i < nislands; i++) {
        evo_batch *b = &in[dest[i]];
        if (base_buf_put(&b->bytes, out[i].bytes.data, out[i].bytes.len)) return -1;
        b->count += out[i].count;
    }
    return 0;
}

const evo_transport evo_transport_local = {NULL, local_exchange};

void evo_run_set_transport(evo_run *r, const evo_transport *t) {
    r->transport = t ? t : &evo_transport_local;
}

void evo_migration_dest(const evo_run *r, uint64_t gen, uint32_t *dest) {
    uint32_t n = r->I;
    if (r->p.topology == EVO_TOPO_RING || n < 2) {
        for (uint32_t i = 0; i < n; i++)
            dest[i] = (i + 1) % n;
        return;
    }
    /* Sattolo's algorithm: a uniformly random cyclic permutation, so every
     * island sends to another one and receives exactly one batch */
    evo_rng rng;
    evo_rng_stream(&rng, r->p.seed, EVO_STREAM_MIGRATE, gen, 0);
    for (uint32_t i = 0; i < n; i++)
        dest[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = evo_rng_below(&rng, i);
        uint32_t t = dest[i];
        dest[i] = dest[j];
        dest[j] = t;
    }
}

void evo_migration_emigrants(const evo_run *r, uint32_t island, uint64_t gen, uint32_t *slots) {
    uint32_t m = r->p.migrants < r->N ? r->p.migrants : r->N;
    const evo_pop *p = &r->pop[r->cur];
    if (r->p.emigrate == EVO_EMIGRATE_BEST) {
        evo_view v;
        evo_island_view(r, p, island, &v);
        evo_best_k(&v, r->p.tiebreak, m, slots, r->uscratch);
        return;
    }
    evo_rng rng;
    evo_rng_stream(&rng, r->p.seed, EVO_STREAM_MIGRATE, gen, 1 + (uint64_t)island);
    uint32_t *idx = r->uscratch;
    for (uint32_t i = 0; i < r->N; i++)
        idx[i] = i;
    for (uint32_t k = 0; k < m; k++) { /* partial Fisher-Yates: m distinct slots */
        uint32_t j = k + evo_rng_below(&rng, r->N - k);
        uint32_t t = idx[k];
        idx[k] = idx[j];
        idx[j] = t;
        slots[k] = idx[k];
    }
}

int evo_migrate(evo_run *r) {
    if (!r->started || r->I < 2) return 0;
    uint32_t m = r->p.migrants < r->N ? r->p.migrants : r->N;
    evo_pop *p = &r->pop[r->cur];
    uint32_t *slots = r->keep; /* m <= N entries; keep has 2N */
    evo_migration_dest(r, r->gen, r->dest);
    /* export: pack every island's emigrants before anything arrives. The
     * records carry (slot, island) of origin as their lineage. */
    int spare = (r->cur + 1) % 3;
    evo_pop *tmp = &r->pop[spare];
    for (uint32_t k = 0; k < r->I; k++) {
        evo_batch *b = &r->out[k];
        b->bytes.len = b->count = 0;
        evo_migration_emigrants(r, k, r->gen, slots);
        for (uint32_t j = 0; j < m; j++) {
            uint32_t s = k * r->N + slots[j];
            evo_pop_copy(r, tmp, 0, p, s);
            tmp->pa[0] = slots[j];
            tmp->pb[0] = k;
            tmp->ops[0] = EVO_OP_IMMIGRANT;
            tmp->evald[0] = 0;
            if (evo_record_put(r, &b->bytes, tmp, 0)) return -1;
            b->count++;
        }
    }
    if (r->transport->exchange(r->transport->ctx, r->gen, r->I, r->dest, r->out, r->in)) return -1;
    /* import: immigrants replace the worst, worst first */
    for (uint32_t d = 0; d < r->I; d++) {
        evo_batch *b = &r->in[d];
        if (b->count == 0) continue;
        if (b->count > r->N) return -1;
        evo_view v;
        evo_island_view(r, p, d, &v);
        uint32_t *order = r->uscratch + r->N; /* uscratch has total + 2N */
        evo_best_k(&v, r->p.tiebreak, r->N, order, r->uscratch);
        size_t off = 0;
        for (uint32_t j = 0; j < b->count; j++) {
            uint32_t s = d * r->N + order[r->N - 1 - j];
            if (evo_record_get(r, b->bytes.data, b->bytes.len, &off, p, s)) return -1;
        }
    }
    return 0;
}
