/* The arena: a trusted referee plays games between untrusted player programs,
 * each move in its own sandbox (docs/arena.md). */
#include "fitness/fitness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* FNV-1a, 64 bits: a player's name as a stream coordinate. */
static uint64_t name_hash(const char *s) {
    return base_fnv1a(BASE_FNV_OFFSET, s, strlen(s));
}

/* ---- players ---- */

typedef struct {
    char *name;
    fit_isa isa;
    uint8_t *code;
    size_t len;
    uint64_t hash;
    uint32_t crc;
    /* native */
    vm_machine *vm;
    uint32_t chan_obs, chan_move;
    /* EVM */
    evm_vm *evm;
    evm_memhost *host;
    evm_address addr;
    evm_bytes32 table_id;
    evm_tables tables;
    const evm_policy_spec *pol; /* the spec's policy, or NULL: the default */
    uint32_t denied;
    fit_arena_stats st;
} player;

/* One match in progress: the seats' players, the next round to play, the
 * referee's stream and the running totals per seat. The tournament keeps
 * one (its current match); a duel plays a local one. */
typedef struct {
    uint32_t seat[2];
    uint32_t round;
    base_rng rng; /* the referee keeps the state, so that it can be snapshotted */
    int64_t score[2], last[2];
    uint32_t defections[2], forfeits[2];
    uint64_t gas[2], memtime[2];
    int worst[2]; /* native seats: the vm_status of largest fit_status_severity */
} match_state;

struct fit_arena {
    fit_arena_config cfg;
    evm_policy_spec *pol; /* cfg.evm_policy parsed, or NULL */
    player **p;
    uint32_t np;
    size_t pcap;
    bool started, done;
    /* the current match: players mi < mj (m.seat), the next round to play */
    uint32_t mi, mj;
    match_state m;
    vm_word *hist; /* 2 words per round played in this match */
    fit_arena_match *matches;
    uint32_t nmatches;
    size_t mcap;
};

static const evm_address referee_addr = {{0xa1, 0xa1, 0xa1, 0xa1}};

void fit_arena_evm_address(uint32_t i, evm_address *out) {
    memset(out, 0, sizeof *out);
    out->b[14] = 0xa1;
    out->b[15] = 0xa1;
    out->b[16] = (uint8_t)(i >> 24);
    out->b[17] = (uint8_t)(i >> 16);
    out->b[18] = (uint8_t)(i >> 8);
    out->b[19] = (uint8_t)i;
}

const char *fit_move_kind_name(fit_move_kind k) {
    switch (k) {
    case FIT_MOVE_OK: return "ok";
    case FIT_MOVE_FAULT: return "fault";
    case FIT_MOVE_EXHAUSTED: return "exhausted";
    case FIT_MOVE_NOMOVE: return "no move";
    case FIT_MOVE_INVALID: return "invalid move";
    }
    return "?";
}

static void cfg_defaults(fit_arena_config *c) {
    if (!c->rounds) c->rounds = FIT_ARENA_ROUNDS;
    if (!c->gas) c->gas = FIT_ARENA_GAS;
    if (!c->evm_gas) c->evm_gas = FIT_ARENA_EVM_GAS;
    if (!c->mem) c->mem = FIT_ARENA_MEM;
    if (!c->memtime) c->memtime = FIT_ARENA_MEMTIME;
    if (!c->soldiers) c->soldiers = FIT_BLOTTO_SOLDIERS;
    if (!c->fields) c->fields = FIT_BLOTTO_FIELDS;
}

static int cfg_check(const fit_arena_config *c, char *err, size_t errcap) {
    if (c->game != FIT_GAME_IPD && c->game != FIT_GAME_BLOTTO)
        snprintf(err, errcap, "unknown game %d", (int)c->game);
    else if (c->rounds > FIT_ARENA_MAX_ROUNDS)
        snprintf(err, errcap, "rounds %" PRIu32 " is over the maximum %u", c->rounds,
                 FIT_ARENA_MAX_ROUNDS);
    else if (c->gas > VM_MAX_GAS || c->evm_gas > (uint64_t)INT64_MAX / 2)
        snprintf(err, errcap, "gas per move is over the maximum");
    else if (c->mem > VM_MAX_MEM)
        snprintf(err, errcap, "mem %" PRIu32 " is over the maximum %u", c->mem, VM_MAX_MEM);
    else if (c->memtime > VM_MAX_MEMTIME)
        snprintf(err, errcap, "memtime is over the maximum 2^62");
    else if (c->soldiers > 255)
        snprintf(err, errcap, "soldiers %" PRIu32 " is over the maximum 255", c->soldiers);
    else if (c->fields > 8)
        snprintf(err, errcap, "fields %" PRIu32 " is over the maximum 8", c->fields);
    else if (!memchr(c->evm_policy, 0, sizeof c->evm_policy))
        snprintf(err, errcap, "evm_policy is longer than %zu characters", sizeof c->evm_policy - 1);
    else
        return 0;
    return -1;
}

fit_arena *fit_arena_new(const fit_arena_config *cfg, char *err, size_t errcap) {
    fit_arena *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (cfg) a->cfg = *cfg;
    cfg_defaults(&a->cfg);
    if (cfg_check(&a->cfg, err, errcap)) goto fail;
    if (a->cfg.evm_policy[0]) {
        char perr[256];
        if (!(a->pol = evm_policy_parse(a->cfg.evm_policy, perr, sizeof perr))) {
            snprintf(err, errcap, "evm_policy %s", perr);
            goto fail;
        }
    }
    a->hist = calloc((size_t)a->cfg.rounds * 2, sizeof(vm_word));
    if (!a->hist) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    return a;
fail:
    fit_arena_free(a);
    return NULL;
}

static void player_free(player *p) {
    if (!p) return;
    free(p->name);
    free(p->code);
    vm_machine_free(p->vm);
    evm_memhost_free(p->host);
    evm_vm_free(p->evm);
    free(p);
}

void fit_arena_free(fit_arena *a) {
    if (!a) return;
    for (uint32_t i = 0; i < a->np; i++)
        player_free(a->p[i]);
    free(a->p);
    free(a->hist);
    free(a->matches);
    evm_policy_spec_free(a->pol);
    free(a);
}

const fit_arena_config *fit_arena_config_get(const fit_arena *a) {
    return &a->cfg;
}

/* The referee's policy for EVM players: the spec's (evm_policy), or by
 * default "isolated" (no calls, creates, logs or SELFDESTRUCT) with SSTORE
 * only inside the player's table (slots whose top 128 bits are zero). Every
 * denial is counted. */
static evm_verdict arena_policy(void *ctx, evm_action *act) {
    player *p = ctx;
    evm_verdict v;
    if (p->pol) {
        v = p->pol->fn ? p->pol->fn(p->pol->ctx, act) : EVM_ALLOW;
    } else {
        v = evm_policy_isolated(NULL, act);
        if (v == EVM_ALLOW && act->op == EVM_OP_SSTORE) v = evm_policy_tables(&p->tables, act);
    }
    if (v != EVM_ALLOW) {
        v = EVM_DENY; /* never a redirect */
        p->denied++;
    }
    return v;
}

int fit_arena_add(fit_arena *a, const char *name, fit_isa isa, const uint8_t *code, size_t len,
                  char *err, size_t errcap) {
    player *p = NULL;
    if (a->started) {
        snprintf(err, errcap, "player %s: the tournament has started", name);
        return -1;
    }
    if (a->np >= FIT_ARENA_MAX_PLAYERS) {
        snprintf(err, errcap, "player %s: more than %u players", name, FIT_ARENA_MAX_PLAYERS);
        return -1;
    }
    if (!name || !*name) {
        snprintf(err, errcap, "a player needs a name");
        return -1;
    }
    for (uint32_t i = 0; i < a->np; i++)
        if (!strcmp(a->p[i]->name, name)) {
            snprintf(err, errcap, "player name %s is used twice", name);
            return -1;
        }
    if (isa != FIT_ISA_NATIVE && isa != FIT_ISA_EVM) {
        snprintf(err, errcap, "player %s: unknown ISA %d", name, (int)isa);
        return -1;
    }
    if (len > VM_MAX_CODE) {
        snprintf(err, errcap, "player %s: %zu bytes of code is over the limit %u", name, len,
                 VM_MAX_CODE);
        return -1;
    }
    if (base_grow((void **)&a->p, &a->pcap, (size_t)a->np + 1, sizeof *a->p, SIZE_MAX)) goto oom;
    p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->name = strdup(name);
    p->code = malloc(len ? len : 1);
    if (!p->name || !p->code) goto oom;
    if (len) memcpy(p->code, code, len);
    p->len = len;
    p->isa = isa;
    p->hash = name_hash(name);
    p->crc = (uint32_t)crc32(0L, p->code, (uInt)len);
    if (isa == FIT_ISA_NATIVE) {
        p->vm = vm_machine_new();
        if (!p->vm || vm_load(p->vm, p->code, len)) goto oom;
        vm_limits lim = {.gas = a->cfg.gas, .mem = a->cfg.mem, .memtime = a->cfg.memtime};
        if (vm_set_limits(p->vm, &lim)) goto oom;
        int c0 = vm_chan_new(p->vm, FIT_ARENA_MAX_OBS);
        int c1 = vm_chan_new(p->vm, 1);
        if (c0 < 0 || c1 < 0) goto oom;
        p->chan_obs = (uint32_t)c0;
        p->chan_move = (uint32_t)c1;
    } else {
        p->evm = evm_vm_new();
        p->host = p->evm ? evm_memhost_new(p->evm) : NULL;
        if (!p->host) goto oom;
        evm_vm_set_fork(p->evm, EVM_FORK_CANCUN);
        p->tables = (evm_tables){.tables = &p->table_id, .n = 1, .bits = 128, .calls = NULL};
        p->pol = a->pol;
        evm_vm_set_policy(p->evm, arena_policy, p);
        evm_vm_set_mem_limit(p->evm, (size_t)a->cfg.mem * 32);
        fit_arena_evm_address(a->np, &p->addr);
        evm_memhost_context(p->host)->origin = referee_addr;
        if (evm_memhost_set_code(p->host, &p->addr, p->code, len)) goto oom;
    }
    a->p[a->np++] = p;
    return 0;
oom:
    player_free(p);
    snprintf(err, errcap, "player %s: out of memory", name);
    return -1;
}

uint32_t fit_arena_nplayers(const fit_arena *a) {
    return a->np;
}
const char *fit_arena_name(const fit_arena *a, uint32_t i) {
    return i < a->np ? a->p[i]->name : NULL;
}
fit_isa fit_arena_isa(const fit_arena *a, uint32_t i) {
    return i < a->np ? a->p[i]->isa : FIT_ISA_NATIVE;
}
const fit_arena_stats *fit_arena_stats_get(const fit_arena *a, uint32_t i) {
    return i < a->np ? &a->p[i]->st : NULL;
}
uint32_t fit_arena_nmatches(const fit_arena *a) {
    return a->nmatches;
}
const fit_arena_match *fit_arena_match_get(const fit_arena *a, uint32_t k) {
    return k < a->nmatches ? &a->matches[k] : NULL;
}
evm_memhost *fit_arena_memhost(fit_arena *a, uint32_t i) {
    return i < a->np ? a->p[i]->host : NULL;
}
bool fit_arena_done(const fit_arena *a) {
    return a->done;
}

/* ---- games ---- */

static uint32_t nobs_of(const fit_arena *a) {
    return a->cfg.game == FIT_GAME_IPD ? 8 : 9;
}

static vm_word default_move(const fit_arena *a) {
    (void)a;
    return 0; /* IPD: cooperate; Blotto: no soldiers anywhere */
}

static bool move_valid(const fit_arena *a, vm_word m) {
    if (a->cfg.game == FIT_GAME_IPD) return m == 0 || m == 1;
    if (m < 0) return false;
    uint64_t u = (uint64_t)m;
    if (a->cfg.fields < 8 && (u >> (8 * a->cfg.fields))) return false;
    uint32_t sum = 0;
    for (uint32_t f = 0; f < a->cfg.fields; f++)
        sum += (uint32_t)((u >> (8 * f)) & 0xff);
    return sum == a->cfg.soldiers;
}

/* Payoffs of one round for moves m[0], m[1]; a forfeiting seat scores 0. */
static void payoff(const fit_arena *a, const vm_word m[2], const bool forfeit[2], int64_t out[2]) {
    out[0] = out[1] = 0;
    if (a->cfg.game == FIT_GAME_IPD) {
        static const int64_t tab[2][2] = {{3, 0}, {5, 1}}; /* [mine][theirs]: R S / T P */
        out[0] = tab[m[0]][m[1]];
        out[1] = tab[m[1]][m[0]];
    } else {
        for (uint32_t f = 0; f < a->cfg.fields; f++) {
            unsigned x = (unsigned)(((uint64_t)m[0] >> (8 * f)) & 0xff);
            unsigned y = (unsigned)(((uint64_t)m[1] >> (8 * f)) & 0xff);
            if (x > y)
                out[0] += 2;
            else if (x < y)
                out[1] += 2;
            else
                out[0]++, out[1]++;
        }
    }
    for (int s = 0; s < 2; s++)
        if (forfeit[s]) out[s] = 0;
}

/* ---- one move in a sandbox ---- */

static bool vm_exhausted(vm_status s) {
    return s == VM_OUT_OF_GAS || s == VM_OUT_OF_MEMORY || s == VM_OUT_OF_MEMTIME ||
           s == VM_STACK_OVERFLOW || s == VM_CALL_OVERFLOW || s == VM_NEST_LIMIT ||
           s == VM_KEY_LIMIT;
}

static void move_native(fit_arena *a, player *p, const vm_word *obs, uint32_t nobs,
                        fit_move_result *r) {
    vm_machine *v = p->vm;
    vm_reset(v);
    vm_chan_clear(v, p->chan_obs);
    vm_chan_clear(v, p->chan_move);
    if (vm_grant_chan(v, p->chan_obs, VM_RIGHT_READ) != 0 ||
        vm_grant_chan(v, p->chan_move, VM_RIGHT_WRITE) != 1) {
        r->kind = FIT_MOVE_FAULT; /* cannot happen with the default key limit */
        return;
    }
    for (uint32_t i = 0; i < nobs; i++)
        vm_chan_write(v, p->chan_obs, obs[i]);
    vm_status s = vm_run(v);
    vm_meters m;
    vm_meters_get(v, &m);
    r->status = (int)s;
    r->gas = m.gas;
    r->memtime = m.memtime;
    vm_word w;
    if (s == VM_HALTED) {
        if (vm_chan_read(v, p->chan_move, &w) != 0)
            r->kind = FIT_MOVE_NOMOVE;
        else if (!move_valid(a, w))
            r->kind = FIT_MOVE_INVALID;
        else {
            r->kind = FIT_MOVE_OK;
            r->move = w;
        }
    } else {
        r->kind = vm_exhausted(s) ? FIT_MOVE_EXHAUSTED : FIT_MOVE_FAULT;
    }
}

static void put_word256(uint8_t *b, vm_word w) {
    memset(b, w < 0 ? 0xff : 0, 24);
    for (int i = 0; i < 8; i++)
        b[31 - i] = (uint8_t)((uint64_t)w >> (8 * i));
}

/* A 256-bit word that is a sign-extended int64: 0 with *w, or -1. */
static int get_word256(const uint8_t *b, vm_word *w) {
    uint64_t u = 0;
    for (int i = 24; i < 32; i++)
        u = (u << 8) | b[i];
    uint8_t ext = (u >> 63) ? 0xff : 0;
    for (int i = 0; i < 24; i++)
        if (b[i] != ext) return -1;
    *w = (vm_word)u;
    return 0;
}

static void move_evm(fit_arena *a, player *p, const vm_word *obs, uint32_t nobs,
                     fit_move_result *r) {
    uint8_t data[FIT_ARENA_MAX_OBS * 32];
    for (uint32_t i = 0; i < nobs; i++)
        put_word256(data + 32 * i, obs[i]);
    evm_memhost_begin_tx(p->host, &p->addr, 1);
    size_t snap = evm_memhost_snapshot(p->host);
    p->denied = 0;
    evm_message msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = EVM_CALL_CALL;
    msg.gas = (int64_t)a->cfg.evm_gas;
    msg.recipient = p->addr;
    msg.code_address = p->addr;
    msg.sender = referee_addr;
    msg.input = data;
    msg.input_size = (size_t)nobs * 32;
    evm_result res;
    evm_memhost_transact(p->host, &msg, &res);
    uint8_t out[32];
    bool have = res.status == EVM_SUCCESS && res.output_size >= 32;
    if (have) memcpy(out, res.output, 32);
    evm_memhost_revert(p->host, snap); /* nothing a player does outlives its move */
    evm_memhost_begin_tx(p->host, NULL, 0);
    int64_t left = res.gas_left < 0 ? 0 : res.gas_left > msg.gas ? msg.gas : res.gas_left;
    uint64_t used = (uint64_t)(msg.gas - left);
    uint64_t peak = evm_vm_words_peak(p->evm);
    r->status = (int)res.status;
    r->gas = used;
    r->memtime = (used && peak > UINT64_MAX / used) ? UINT64_MAX : peak * used;
    r->denied = p->denied;
    vm_word w;
    if (res.status == EVM_OUT_OF_GAS || res.status == EVM_OUT_OF_MEMORY)
        r->kind = FIT_MOVE_EXHAUSTED;
    else if (res.status != EVM_SUCCESS)
        r->kind = FIT_MOVE_FAULT;
    else if (peak > a->cfg.mem || r->memtime > a->cfg.memtime)
        r->kind = FIT_MOVE_EXHAUSTED;
    else if (!have)
        r->kind = FIT_MOVE_NOMOVE;
    else if (get_word256(out, &w) || !move_valid(a, w))
        r->kind = FIT_MOVE_INVALID;
    else {
        r->kind = FIT_MOVE_OK;
        r->move = w;
    }
}

int fit_arena_move(fit_arena *a, uint32_t i, const vm_word *obs, uint32_t nobs,
                   fit_move_result *out) {
    if (i >= a->np || nobs > FIT_ARENA_MAX_OBS || (nobs && !obs)) return -1;
    player *p = a->p[i];
    memset(out, 0, sizeof *out);
    out->move = default_move(a);
    if (p->isa == FIT_ISA_NATIVE)
        move_native(a, p, obs, nobs, out);
    else
        move_evm(a, p, obs, nobs, out);
    if (out->kind != FIT_MOVE_OK) out->move = default_move(a);
    return 0;
}

/* ---- the tournament ---- */

static uint64_t npairs(const fit_arena *a) {
    return (uint64_t)a->np * (a->np ? a->np - 1 : 0) / 2;
}

/* Index of pair (i, j), i < j, in play order. */
static uint64_t pair_index(const fit_arena *a, uint32_t i, uint32_t j) {
    uint64_t k = 0;
    for (uint32_t x = 0; x < i; x++)
        k += a->np - 1 - x;
    return k + (j - i - 1);
}

uint64_t fit_arena_rounds_total(const fit_arena *a) {
    return npairs(a) * a->cfg.rounds;
}

uint64_t fit_arena_rounds_played(const fit_arena *a) {
    if (a->done) return fit_arena_rounds_total(a);
    if (!a->started) return 0;
    return pair_index(a, a->mi, a->mj) * a->cfg.rounds + a->m.round;
}

/* A fresh match between players i (seat 0) and j (seat 1): its stream is
 * derived from (seed, game, name of i, name of j). */
static void match_init(const fit_arena *a, match_state *m, uint32_t i, uint32_t j) {
    memset(m, 0, sizeof *m);
    m->seat[0] = i;
    m->seat[1] = j;
    for (int s = 0; s < 2; s++) {
        m->last[s] = -1;
        m->worst[s] = (int)VM_HALTED;
    }
    base_rng_stream(&m->rng, a->cfg.seed, (uint64_t)a->cfg.game, a->p[i]->hash, a->p[j]->hash);
}

static void match_begin(fit_arena *a) {
    match_init(a, &a->m, a->mi, a->mj);
}

static void start(fit_arena *a) {
    a->started = true;
    a->mi = 0;
    a->mj = 1;
    if (a->np < 2 || a->cfg.rounds == 0)
        a->done = true;
    else
        match_begin(a);
}

static void match_out(const match_state *m, fit_arena_match *out) {
    *out = (fit_arena_match){
        .a = m->seat[0],
        .b = m->seat[1],
        .score_a = m->score[0],
        .score_b = m->score[1],
        .gas_a = m->gas[0],
        .gas_b = m->gas[1],
        .memtime_a = m->memtime[0],
        .memtime_b = m->memtime[1],
        .forfeits_a = m->forfeits[0],
        .forfeits_b = m->forfeits[1],
    };
}

static int match_end(fit_arena *a) {
    if (base_grow((void **)&a->matches, &a->mcap, (size_t)a->nmatches + 1, sizeof *a->matches,
                  SIZE_MAX))
        return -1;
    match_out(&a->m, &a->matches[a->nmatches++]);
    player *pa = a->p[a->mi], *pb = a->p[a->mj];
    pa->st.matches++;
    pb->st.matches++;
    if (a->m.score[0] > a->m.score[1]) {
        pa->st.wins++;
        pb->st.losses++;
    } else if (a->m.score[0] < a->m.score[1]) {
        pb->st.wins++;
        pa->st.losses++;
    } else {
        pa->st.draws++;
        pb->st.draws++;
    }
    if (++a->mj == a->np) {
        a->mi++;
        a->mj = a->mi + 1;
    }
    if (a->mj >= a->np) {
        a->done = true;
        a->m.round = 0;
    } else
        match_begin(a);
    return 0;
}

static uint64_t sat_add(uint64_t x, uint64_t y) {
    return x > UINT64_MAX - y ? UINT64_MAX : x + y;
}

/* Play round m->round of match m: both moves, each in its sandbox, then the
 * payoffs. hist (the tournament's history, or NULL) gets the two moves;
 * tally: also add to the players' tournament statistics. */
static void play_round(fit_arena *a, match_state *m, vm_word *hist, bool tally) {
    vm_word rnd[2];
    rnd[0] = (vm_word)base_rng_next(&m->rng);
    rnd[1] = (vm_word)base_rng_next(&m->rng);
    vm_word mv[2];
    bool forfeit[2];
    for (int s = 0; s < 2; s++) {
        int o = 1 - s;
        vm_word obs[FIT_ARENA_MAX_OBS] = {
            (vm_word)m->round,
            (vm_word)a->cfg.rounds,
            m->last[s],
            m->last[o],
            a->cfg.game == FIT_GAME_IPD ? (vm_word)m->defections[o] : (vm_word)a->cfg.soldiers,
            m->score[s],
            m->score[o],
            rnd[s],
            (vm_word)a->cfg.fields,
        };
        fit_move_result r;
        fit_arena_move(a, m->seat[s], obs, nobs_of(a), &r);
        player *p = a->p[m->seat[s]];
        m->gas[s] = sat_add(m->gas[s], r.gas);
        m->memtime[s] = sat_add(m->memtime[s], r.memtime);
        forfeit[s] = r.kind != FIT_MOVE_OK;
        if (forfeit[s]) m->forfeits[s]++;
        if (p->isa == FIT_ISA_NATIVE &&
            fit_status_severity((vm_status)r.status) > fit_status_severity((vm_status)m->worst[s]))
            m->worst[s] = r.status;
        mv[s] = r.move;
        if (!tally) continue;
        p->st.moves++;
        p->st.gas = sat_add(p->st.gas, r.gas);
        p->st.memtime = sat_add(p->st.memtime, r.memtime);
        p->st.denied += r.denied;
        if (forfeit[s]) p->st.forfeits++;
        switch (r.kind) {
        case FIT_MOVE_OK: break;
        case FIT_MOVE_FAULT: p->st.faults++; break;
        case FIT_MOVE_EXHAUSTED: p->st.exhausted++; break;
        case FIT_MOVE_NOMOVE: p->st.nomove++; break;
        case FIT_MOVE_INVALID: p->st.invalid++; break;
        }
    }
    int64_t pay[2];
    payoff(a, mv, forfeit, pay);
    for (int s = 0; s < 2; s++) {
        m->score[s] += pay[s];
        if (tally) a->p[m->seat[s]]->st.score += pay[s];
        if (hist) hist[2 * (size_t)m->round + (size_t)s] = mv[s];
        m->last[s] = mv[s];
        if (a->cfg.game == FIT_GAME_IPD && mv[s] == 1) m->defections[s]++;
    }
    m->round++;
}

int fit_arena_step(fit_arena *a) {
    if (!a->started) start(a);
    if (a->done) return 0;
    play_round(a, &a->m, a->hist, true);
    if (a->m.round == a->cfg.rounds && match_end(a)) return -1;
    return a->done ? 0 : 1;
}

int fit_arena_duel_worst(fit_arena *a, uint32_t i, uint32_t j, fit_arena_match *out, int worst[2]) {
    if (i >= a->np || j >= a->np || i == j) return -1;
    match_state m;
    match_init(a, &m, i, j);
    while (m.round < a->cfg.rounds)
        play_round(a, &m, NULL, false);
    match_out(&m, out);
    if (worst) {
        worst[0] = m.worst[0];
        worst[1] = m.worst[1];
    }
    return 0;
}

int fit_arena_duel(fit_arena *a, uint32_t i, uint32_t j, fit_arena_match *out) {
    return fit_arena_duel_worst(a, i, j, out, NULL);
}

int fit_arena_set_code(fit_arena *a, uint32_t i, const uint8_t *code, size_t len) {
    if (i >= a->np || len > VM_MAX_CODE || (len && !code)) return -1;
    player *p = a->p[i];
    uint8_t *c = malloc(len ? len : 1);
    if (!c) return -1;
    if (len) memcpy(c, code, len);
    if (p->isa == FIT_ISA_NATIVE ? vm_load(p->vm, c, len) != 0
                                 : evm_memhost_set_code(p->host, &p->addr, c, len) != 0) {
        free(c);
        return -1;
    }
    free(p->code);
    p->code = c;
    p->len = len;
    p->crc = (uint32_t)crc32(0L, c, (uInt)len);
    return 0;
}

int fit_arena_run(fit_arena *a) {
    int rc;
    while ((rc = fit_arena_step(a)) == 1)
        ;
    return rc;
}

/* ---- the referee's snapshot (docs/arena.md, "Snapshots") ---- */

#define SNAP_MAGIC "FRUGARNA"
/* version 1, or 2 when the configuration names an EVM policy (then the
 * configuration ends with it: u32 length, the words) */
#define SNAP_VERSION(c) ((c)->evm_policy[0] ? 2u : 1u)

static void put_stats(base_wr *w, const fit_arena_stats *s) {
    base_put_u(w, (uint64_t)s->score, 8);
    base_put_u(w, s->gas, 8);
    base_put_u(w, s->memtime, 8);
    const uint32_t c[] = {s->moves,  s->forfeits, s->faults, s->exhausted, s->nomove, s->invalid,
                          s->denied, s->matches,  s->wins,   s->draws,     s->losses};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        base_put_u(w, c[i], 4);
}

static void put_config(base_wr *w, const fit_arena_config *c) {
    base_put_u(w, (uint32_t)c->game, 4);
    base_put_u(w, c->rounds, 4);
    base_put_u(w, c->seed, 8);
    base_put_u(w, c->gas, 8);
    base_put_u(w, c->evm_gas, 8);
    base_put_u(w, c->mem, 4);
    base_put_u(w, c->memtime, 8);
    base_put_u(w, c->soldiers, 4);
    base_put_u(w, c->fields, 4);
    if (SNAP_VERSION(c) == 2) {
        size_t n = strlen(c->evm_policy);
        base_put_u(w, (uint32_t)n, 4);
        base_put(w, c->evm_policy, n);
    }
}

int fit_arena_save(const fit_arena *a, vm_buf *out) {
    out->len = 0;
    base_wr w = {out, 0};
    base_put(&w, SNAP_MAGIC, 8);
    base_put_u(&w, SNAP_VERSION(&a->cfg), 4);
    put_config(&w, &a->cfg);
    base_put_u(&w, a->np, 4);
    for (uint32_t i = 0; i < a->np; i++) {
        const player *p = a->p[i];
        base_put_u(&w, p->hash, 8);
        base_put_u(&w, p->crc, 4);
        base_put_u(&w, (uint32_t)p->isa, 4);
        base_put_u(&w, (uint64_t)p->len, 8);
    }
    uint32_t flags = (a->started ? 1u : 0u) | (a->done ? 2u : 0u);
    base_put_u(&w, flags, 4);
    base_put_u(&w, a->mi, 4);
    base_put_u(&w, a->mj, 4);
    base_put_u(&w, a->m.round, 4);
    base_put_u(&w, a->m.rng.state, 8);
    base_put_u(&w, a->m.rng.inc, 8);
    for (int s = 0; s < 2; s++) {
        base_put_u(&w, (uint64_t)a->m.score[s], 8);
        base_put_u(&w, (uint64_t)a->m.last[s], 8);
        base_put_u(&w, a->m.defections[s], 4);
        base_put_u(&w, a->m.forfeits[s], 4);
        base_put_u(&w, a->m.gas[s], 8);
        base_put_u(&w, a->m.memtime[s], 8);
    }
    uint32_t nh = a->started && !a->done ? 2 * a->m.round : 0;
    for (uint32_t r = 0; r < nh; r++)
        base_put_u(&w, (uint64_t)a->hist[r], 8);
    for (uint32_t i = 0; i < a->np; i++)
        put_stats(&w, &a->p[i]->st);
    base_put_u(&w, a->nmatches, 4);
    for (uint32_t k = 0; k < a->nmatches; k++) {
        const fit_arena_match *m = &a->matches[k];
        base_put_u(&w, m->a, 4);
        base_put_u(&w, m->b, 4);
        base_put_u(&w, (uint64_t)m->score_a, 8);
        base_put_u(&w, (uint64_t)m->score_b, 8);
        base_put_u(&w, m->gas_a, 8);
        base_put_u(&w, m->gas_b, 8);
        base_put_u(&w, m->memtime_a, 8);
        base_put_u(&w, m->memtime_b, 8);
        base_put_u(&w, m->forfeits_a, 4);
        base_put_u(&w, m->forfeits_b, 4);
    }
    if (!w.err) base_put_u(&w, (uint32_t)crc32(0L, out->data, (uInt)out->len), 4);
    return w.err ? -1 : 0;
}

static void get_stats(base_rd *r, fit_arena_stats *s) {
    s->score = (int64_t)base_get_u(r, 8, "player stats");
    s->gas = base_get_u(r, 8, "player stats");
    s->memtime = base_get_u(r, 8, "player stats");
    uint32_t *c[] = {&s->moves,  &s->forfeits, &s->faults, &s->exhausted, &s->nomove, &s->invalid,
                     &s->denied, &s->matches,  &s->wins,   &s->draws,     &s->losses};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        *c[i] = (uint32_t)base_get_u(r, 4, "player stats");
}

int fit_arena_load(fit_arena *a, const uint8_t *data, size_t len, char *err, size_t errcap) {
    base_rd r = {.d = data, .n = len, .err = err, .errcap = errcap};
    fit_arena_stats *st = NULL;
    fit_arena_match *ms = NULL;
    vm_word *hist = NULL;
    int rc = -1;
    if (len < 8 + 4 + 4 || memcmp(data, SNAP_MAGIC, 8)) {
        snprintf(err, errcap, "offset 0: not an arena snapshot (bad magic or too short)");
        goto cleanup;
    }
    uint32_t want = (uint32_t)base_le_get(data + len - 4, 4);
    uint32_t got = (uint32_t)crc32(0L, data, (uInt)(len - 4));
    if (want != got) {
        snprintf(err, errcap,
                 "offset %zu: checksum mismatch (stored crc32 %08" PRIx32 ", computed %08" PRIx32
                 "): the snapshot is corrupt",
                 len - 4, want, got);
        goto cleanup;
    }
    r.n = len - 4;
    r.off = 8;
    uint32_t ver = (uint32_t)base_get_u(&r, 4, "version");
    if (ver != 1 && ver != 2) {
        snprintf(err, errcap, "offset 8: version %" PRIu32 " is not supported (this is 1 or 2)",
                 ver);
        goto cleanup;
    }
    if (ver != SNAP_VERSION(&a->cfg)) {
        snprintf(err, errcap, "offset 8: version %" PRIu32 " %s, this tournament %s", ver,
                 ver == 2 ? "names an EVM policy" : "names no EVM policy",
                 a->cfg.evm_policy[0] ? "has one" : "has none");
        goto cleanup;
    }
    /* the configuration and the players must be those of this arena */
    vm_buf mine = {0};
    base_wr w = {&mine, 0};
    put_config(&w, &a->cfg);
    size_t at = r.off;
    if (w.err) {
        vm_buf_free(&mine);
        snprintf(err, errcap, "out of memory");
        goto cleanup;
    }
    size_t cfg_len = mine.len;
    bool same = base_room_for(&r, cfg_len, 1, SIZE_MAX, "the configuration") &&
                !memcmp(data + r.off, mine.data, cfg_len);
    vm_buf_free(&mine);
    if (r.bad) goto cleanup;
    if (!same) {
        base_rd_fail_at(&r, at,
                        "the configuration (game, rounds, seed, limits, EVM policy) differs");
        goto cleanup;
    }
    r.off += cfg_len;
    at = r.off;
    uint32_t np = (uint32_t)base_get_u(&r, 4, "player count");
    if (!r.bad && np != a->np) {
        snprintf(err, errcap, "offset %zu: %" PRIu32 " players, this tournament has %" PRIu32, at,
                 np, a->np);
        goto cleanup;
    }
    for (uint32_t i = 0; i < a->np && !r.bad; i++) {
        at = r.off;
        uint64_t h = base_get_u(&r, 8, "players");
        uint32_t c = (uint32_t)base_get_u(&r, 4, "players");
        uint32_t isa = (uint32_t)base_get_u(&r, 4, "players");
        uint64_t n = base_get_u(&r, 8, "players");
        const player *p = a->p[i];
        if (!r.bad && (h != p->hash || c != p->crc || isa != (uint32_t)p->isa || n != p->len)) {
            snprintf(err, errcap,
                     "offset %zu: player %" PRIu32 " (%s) differs from the saved one (name, ISA "
                     "or code)",
                     at, i, p->name);
            goto cleanup;
        }
    }
    at = r.off;
    uint32_t flags = (uint32_t)base_get_u(&r, 4, "progress");
    uint32_t mi = (uint32_t)base_get_u(&r, 4, "progress"),
             mj = (uint32_t)base_get_u(&r, 4, "progress");
    uint32_t round = (uint32_t)base_get_u(&r, 4, "progress");
    if (r.bad) goto cleanup;
    bool started = flags & 1, done = (flags & 2) != 0;
    if (flags > 3 || (done && !started) ||
        (started && !done && (mi >= mj || mj >= a->np || round >= a->cfg.rounds)) ||
        (done && round) || (!started && (mi || mj || round))) {
        base_rd_fail_at(&r, at, "the progress (match, round) is out of range");
        goto cleanup;
    }
    base_rng rng;
    rng.state = base_get_u(&r, 8, "random stream");
    rng.inc = base_get_u(&r, 8, "random stream");
    int64_t score[2], last[2];
    uint32_t defs[2], forf[2];
    uint64_t gas[2], mt[2];
    for (int s = 0; s < 2; s++) {
        score[s] = (int64_t)base_get_u(&r, 8, "match state");
        last[s] = (int64_t)base_get_u(&r, 8, "match state");
        defs[s] = (uint32_t)base_get_u(&r, 4, "match state");
        forf[s] = (uint32_t)base_get_u(&r, 4, "match state");
        gas[s] = base_get_u(&r, 8, "match state");
        mt[s] = base_get_u(&r, 8, "match state");
    }
    uint32_t nh = started && !done ? 2 * round : 0;
    if (!base_room_for(&r, nh, 8, UINT32_MAX, "the history")) goto cleanup;
    hist = calloc((size_t)a->cfg.rounds * 2 + 1, sizeof *hist);
    st = calloc(a->np + 1, sizeof *st);
    if (!hist || !st) {
        snprintf(err, errcap, "out of memory");
        goto cleanup;
    }
    for (uint32_t k = 0; k < nh; k++)
        hist[k] = (vm_word)base_get_u(&r, 8, "history");
    for (uint32_t i = 0; i < a->np; i++)
        get_stats(&r, &st[i]);
    at = r.off;
    uint32_t nm = (uint32_t)base_get_u(&r, 4, "match count");
    if (r.bad) goto cleanup;
    uint64_t want_nm = done ? npairs(a) : started ? pair_index(a, mi, mj) : 0;
    if (nm != want_nm) {
        snprintf(err, errcap,
                 "offset %zu: %" PRIu32 " finished matches, the progress says %" PRIu64, at, nm,
                 want_nm);
        goto cleanup;
    }
    if (!base_room_for(&r, nm, 64, UINT32_MAX, "the matches")) goto cleanup;
    ms = calloc((size_t)nm + 1, sizeof *ms);
    if (!ms) {
        snprintf(err, errcap, "out of memory");
        goto cleanup;
    }
    for (uint32_t k = 0; k < nm; k++) {
        fit_arena_match *m = &ms[k];
        at = r.off;
        m->a = (uint32_t)base_get_u(&r, 4, "matches");
        m->b = (uint32_t)base_get_u(&r, 4, "matches");
        m->score_a = (int64_t)base_get_u(&r, 8, "matches");
        m->score_b = (int64_t)base_get_u(&r, 8, "matches");
        m->gas_a = base_get_u(&r, 8, "matches");
        m->gas_b = base_get_u(&r, 8, "matches");
        m->memtime_a = base_get_u(&r, 8, "matches");
        m->memtime_b = base_get_u(&r, 8, "matches");
        m->forfeits_a = (uint32_t)base_get_u(&r, 4, "matches");
        m->forfeits_b = (uint32_t)base_get_u(&r, 4, "matches");
        if (!r.bad && (m->a >= m->b || m->b >= a->np)) {
            base_rd_fail_at(&r, at, "a match names players out of range");
            goto cleanup;
        }
    }
    if (r.bad) goto cleanup;
    if (r.off != r.n) {
        snprintf(err, errcap, "offset %zu: %zu bytes of trailing data", r.off, r.n - r.off);
        goto cleanup;
    }
    /* commit */
    a->started = started;
    a->done = done;
    a->mi = mi;
    a->mj = mj;
    a->m.seat[0] = mi;
    a->m.seat[1] = mj;
    a->m.worst[0] = a->m.worst[1] = (int)VM_HALTED;
    a->m.round = round;
    a->m.rng = rng;
    for (int s = 0; s < 2; s++) {
        a->m.score[s] = score[s];
        a->m.last[s] = last[s];
        a->m.defections[s] = defs[s];
        a->m.forfeits[s] = forf[s];
        a->m.gas[s] = gas[s];
        a->m.memtime[s] = mt[s];
    }
    memcpy(a->hist, hist, (size_t)nh * sizeof *hist);
    for (uint32_t i = 0; i < a->np; i++)
        a->p[i]->st = st[i];
    free(a->matches);
    a->matches = ms;
    a->nmatches = a->mcap = nm;
    if (!nm) {
        free(ms);
        a->matches = NULL;
    }
    ms = NULL;
    rc = 0;
cleanup:
    free(ms);
    free(hist);
    free(st);
    return rc;
}
