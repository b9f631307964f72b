/* The arena: known game results, hostile players, isolation of the honest
 * players' results, the EVM policy, referee snapshots. */
#include "testutil.h"

#include "fitness/fitness.h"

#include <stdio.h>

#define DIR "specs/arena/"

/* Read a shipped player: .s is assembled, .hex is EVM hex ('#' comments). */
static vm_buf load_player(const char *file, fit_isa *isa) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s", file);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    static char src[65536];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    vm_buf b = {0};
    size_t len = strlen(file);
    if (len > 2 && !strcmp(file + len - 2, ".s")) {
        *isa = FIT_ISA_NATIVE;
        char err[4096];
        cr_assert_eq(vm_asm(src, n, path, &b, NULL, err, sizeof err), 0, "%s", err);
        return b;
    }
    *isa = FIT_ISA_EVM;
    char *hex = malloc(n + 1);
    size_t k = 0;
    bool comment = false;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '#') comment = true;
        if (src[i] == '\n') comment = false;
        if (!comment) hex[k++] = src[i];
    }
    hex[k] = 0;
    uint8_t *code;
    size_t cn;
    cr_assert_eq(evm_hex_decode(hex, &code, &cn), 0, "%s: bad hex", path);
    free(hex);
    b.data = code;
    b.len = b.cap = cn;
    return b;
}

static void add(fit_arena *a, const char *name, const char *file) {
    fit_isa isa;
    vm_buf b = load_player(file, &isa);
    char err[256];
    cr_assert_eq(fit_arena_add(a, name, isa, b.data, b.len, err, sizeof err), 0, "%s", err);
    vm_buf_free(&b);
}

static void add_src(fit_arena *a, const char *name, const char *src) {
    vm_buf b = tu_asm(src);
    char err[256];
    cr_assert_eq(fit_arena_add(a, name, FIT_ISA_NATIVE, b.data, b.len, err, sizeof err), 0, "%s",
                 err);
    vm_buf_free(&b);
}

static fit_arena *arena(fit_game g, uint32_t rounds, uint64_t seed) {
    fit_arena_config c = {.game = g, .rounds = rounds, .seed = seed};
    char err[256];
    fit_arena *a = fit_arena_new(&c, err, sizeof err);
    cr_assert(a, "%s", err);
    return a;
}

static const fit_arena_match *find_match(const fit_arena *a, const char *x, const char *y,
                                         bool *swapped) {
    for (uint32_t k = 0; k < fit_arena_nmatches(a); k++) {
        const fit_arena_match *m = fit_arena_match_get(a, k);
        const char *na = fit_arena_name(a, m->a), *nb = fit_arena_name(a, m->b);
        if (!strcmp(na, x) && !strcmp(nb, y)) {
            *swapped = false;
            return m;
        }
        if (!strcmp(na, y) && !strcmp(nb, x)) {
            *swapped = true;
            return m;
        }
    }
    return NULL;
}

/* Score of x in its match against y. */
static int64_t score_of(const fit_arena *a, const char *x, const char *y) {
    bool sw;
    const fit_arena_match *m = find_match(a, x, y, &sw);
    cr_assert(m, "no match %s vs %s", x, y);
    return sw ? m->score_b : m->score_a;
}

Test(arena, tft_vs_always_defect) {
    fit_arena *a = arena(FIT_GAME_IPD, 10, 1);
    add(a, "tft", "tit_for_tat.s");
    add(a, "alld", "always_defect.s");
    cr_assert_eq(fit_arena_run(a), 0);
    cr_assert(fit_arena_done(a));
    cr_assert_eq(fit_arena_nmatches(a), 1);
    /* TFT: C then D x9 = 0 + 9; ALLD: 5 + 9 */
    cr_assert_eq(score_of(a, "tft", "alld"), 9);
    cr_assert_eq(score_of(a, "alld", "tft"), 14);
    const fit_arena_stats *s = fit_arena_stats_get(a, 0);
    cr_assert_eq(s->moves, 10);
    cr_assert_eq(s->forfeits, 0);
    cr_assert_eq(s->losses, 1);
    cr_assert(s->gas > 0 && s->memtime > 0);
    fit_arena_free(a);
}

/* defects in round 2 only */
static const char *defect_once = "PUSH 0\nIN\nPUSH 2\nEQ\nPUSH 1\nOUT\nHALT\n";

Test(arena, grim_trigger_and_tft_against_one_defection) {
    fit_arena *a = arena(FIT_GAME_IPD, 10, 1);
    add(a, "grim", "grim_trigger.s");
    add(a, "tft", "tit_for_tat.s");
    add_src(a, "once", defect_once);
    add(a, "pavlov", "ipd_pavlov.hex");
    cr_assert_eq(fit_arena_run(a), 0);
    /* grim: CC CC CD, then D against C x7 */
    cr_assert_eq(score_of(a, "grim", "once"), 6 + 0 + 35);
    cr_assert_eq(score_of(a, "once", "grim"), 6 + 5 + 0);
    /* tft: CC CC CD DC, then CC x6 */
    cr_assert_eq(score_of(a, "tft", "once"), 6 + 0 + 5 + 18);
    cr_assert_eq(score_of(a, "once", "tft"), 6 + 5 + 0 + 18);
    cr_assert_eq(score_of(a, "grim", "tft"), 30);
    cr_assert_eq(score_of(a, "pavlov", "grim"), 30);
    /* pavlov vs once: CC CC CD DC, then D against C (win-stay) x6 */
    cr_assert_eq(score_of(a, "pavlov", "once"), 6 + 0 + 5 + 30);
    cr_assert_eq(score_of(a, "once", "pavlov"), 6 + 5 + 0 + 0);
    fit_arena_free(a);
}

static int64_t random_vs_coop(uint64_t seed, uint64_t *gas) {
    fit_arena *a = arena(FIT_GAME_IPD, 100, seed);
    add(a, "random", "random.s");
    add(a, "allc", "always_cooperate.s");
    cr_assert_eq(fit_arena_run(a), 0);
    int64_t s = score_of(a, "random", "allc");
    *gas = fit_arena_stats_get(a, 0)->gas;
    cr_assert_eq(fit_arena_stats_get(a, 0)->forfeits, 0);
    fit_arena_free(a);
    return s;
}

Test(arena, random_player_is_deterministic_from_the_seed) {
    uint64_t g1, g2, g3;
    int64_t s1 = random_vs_coop(42, &g1), s2 = random_vs_coop(42, &g2);
    cr_assert_eq(s1, s2);
    cr_assert_eq(g1, g2);
    /* 100 fair coins: 3 per C, 5 per D, so 300..500 and not an extreme */
    cr_assert(s1 > 300 && s1 < 500, "score %lld", (long long)s1);
    int64_t other = random_vs_coop(43, &g3);
    int64_t more = random_vs_coop(44, &g3);
    cr_assert(other != s1 || more != s1, "the seed changes the coin flips");
}

/* Every move of a hostile player is forfeited; its opponent is unharmed. */
static void hostile_case(const char *file, uint32_t rounds, uint32_t *faults, uint32_t *exhausted) {
    fit_arena *a = arena(FIT_GAME_IPD, rounds, 5);
    add(a, "tft", "tit_for_tat.s");
    add(a, "hostile", file);
    cr_assert_eq(fit_arena_run(a), 0, "%s stalled the tournament", file);
    const fit_arena_stats *h = fit_arena_stats_get(a, 1), *t = fit_arena_stats_get(a, 0);
    cr_assert_eq(h->moves, rounds);
    cr_assert_eq(h->forfeits, rounds, "%s: %u of %u moves forfeited", file, h->forfeits, rounds);
    cr_assert_eq(h->score, 0);
    cr_assert_eq(t->forfeits, 0);
    /* the forfeiter's default move is C, so TFT cooperates: R each round */
    cr_assert_eq(t->score, 3 * (int64_t)rounds);
    cr_assert(h->gas <= (uint64_t)rounds * FIT_ARENA_EVM_GAS);
    *faults = h->faults;
    *exhausted = h->exhausted;
    fit_arena_free(a);
}

Test(arena, hostile_infinite_loop) {
    uint32_t f, e;
    hostile_case("hostile_loop.s", 10, &f, &e);
    cr_assert_eq(e, 10);
}

Test(arena, hostile_memory_exhaustion) {
    uint32_t f, e;
    hostile_case("hostile_alloc.s", 10, &f, &e);
    cr_assert_eq(e, 10);
}

Test(arena, hostile_fork_bomb) {
    uint32_t f, e;
    hostile_case("hostile_forkbomb.s", 10, &f, &e);
    cr_assert_eq(f + e, 10);
}

Test(arena, hostile_keys_every_attack_is_bad_key) {
    uint32_t f, e;
    hostile_case("hostile_keys.s", 33, &f, &e);
    cr_assert_eq(f, 33);
    fit_arena *a = arena(FIT_GAME_IPD, 10, 5);
    add(a, "hostile", "hostile_keys.s");
    for (vm_word r = 0; r < 33; r++) {
        vm_word obs[8] = {r, 33, -1, -1, 0, 0, 0, 12345};
        fit_move_result m;
        cr_assert_eq(fit_arena_move(a, 0, obs, 8, &m), 0);
        cr_assert_eq(m.kind, FIT_MOVE_FAULT);
        cr_assert_eq(m.status, VM_BAD_KEY, "attack %d: %s", (int)r,
                     vm_status_name((vm_status)m.status));
        cr_assert_eq(m.move, 0, "the default move");
    }
    fit_arena_free(a);
}

Test(arena, hostile_no_move_and_invalid_move) {
    fit_arena *a = arena(FIT_GAME_IPD, 10, 5);
    add(a, "tft", "tit_for_tat.s");
    add(a, "hostile", "hostile_nomove.s");
    cr_assert_eq(fit_arena_run(a), 0);
    const fit_arena_stats *h = fit_arena_stats_get(a, 1);
    cr_assert_eq(h->nomove, 5);
    cr_assert_eq(h->invalid, 5);
    cr_assert_eq(h->score, 0);
    fit_arena_free(a);
}

Test(arena, hostile_evm_is_denied_and_leaves_no_trace) {
    uint32_t f, e;
    hostile_case("hostile_evm.hex", 10, &f, &e);
    cr_assert_eq(f, 10);
    fit_arena *a = arena(FIT_GAME_IPD, 10, 5);
    add(a, "hostile", "hostile_evm.hex");
    evm_memhost *h = fit_arena_memhost(a, 0);
    cr_assert(h);
    evm_address self, dead = {{0}}, beef = {{0}};
    fit_arena_evm_address(0, &self);
    dead.b[18] = 0xde, dead.b[19] = 0xad;
    beef.b[18] = 0xbe, beef.b[19] = 0xef;
    for (vm_word r = 0; r < 4; r++) {
        vm_word obs[8] = {r, 10, -1, -1, 0, 0, 0, 7};
        fit_move_result m;
        cr_assert_eq(fit_arena_move(a, 0, obs, 8, &m), 0);
        cr_assert_eq(m.kind, FIT_MOVE_FAULT);
        cr_assert_eq(m.status, EVM_DENIED, "round %d: %s", (int)r,
                     evm_status_name((evm_status)m.status));
        /* CALL, DELEGATECALL, CREATE2, then SSTORE outside (even) or SELFDESTRUCT (odd) */
        cr_assert_eq(m.denied, 4, "round %d: %u denials", (int)r, m.denied);
        cr_assert_eq(evm_memhost_storage(h, &self, 0, NULL, NULL), 0, "storage untouched");
        evm_bytes32 k = {{0}}, v;
        evm_memhost_get_storage(h, &self, &k, &v);
        for (int i = 0; i < 32; i++)
            cr_assert_eq(v.b[i], 0, "slot 0 was rolled back");
        cr_assert(evm_memhost_exists(h, &self), "not self-destructed");
        cr_assert(!evm_memhost_exists(h, &dead));
        cr_assert(!evm_memhost_exists(h, &beef));
        cr_assert_eq(evm_memhost_nlogs(h), 0);
    }
    fit_arena_free(a);
}

static const char *honest[][2] = {
    {"tft", "tit_for_tat.s"}, {"alld", "always_defect.s"},    {"grim", "grim_trigger.s"},
    {"random", "random.s"},   {"allc", "always_cooperate.s"}, {"pavlov", "ipd_pavlov.hex"},
};
static const char *hostile[][2] = {
    {"h-loop", "hostile_loop.s"},     {"h-alloc", "hostile_alloc.s"},
    {"h-fork", "hostile_forkbomb.s"}, {"h-keys", "hostile_keys.s"},
    {"h-nomove", "hostile_nomove.s"}, {"h-evm", "hostile_evm.hex"},
};
#define NH (sizeof honest / sizeof honest[0])

Test(arena, honest_results_are_unchanged_by_hostile_players) {
    fit_arena *a = arena(FIT_GAME_IPD, 40, 99);
    for (size_t i = 0; i < NH; i++)
        add(a, honest[i][0], honest[i][1]);
    cr_assert_eq(fit_arena_run(a), 0);
    fit_arena *b = arena(FIT_GAME_IPD, 40, 99);
    for (size_t i = 0; i < NH; i++) { /* hostile players interleaved, first and last */
        add(b, hostile[i][0], hostile[i][1]);
        add(b, honest[i][0], honest[i][1]);
    }
    cr_assert_eq(fit_arena_run(b), 0);
    cr_assert_eq(fit_arena_nmatches(a), NH * (NH - 1) / 2);
    cr_assert_eq(fit_arena_nmatches(b), 2 * NH * (2 * NH - 1) / 2);
    for (uint32_t k = 0; k < fit_arena_nmatches(a); k++) {
        const fit_arena_match *m = fit_arena_match_get(a, k);
        const char *x = fit_arena_name(a, m->a), *y = fit_arena_name(a, m->b);
        bool sw;
        const fit_arena_match *n = find_match(b, x, y, &sw);
        cr_assert(n);
        cr_assert_eq(sw ? n->score_b : n->score_a, m->score_a, "%s vs %s", x, y);
        cr_assert_eq(sw ? n->score_a : n->score_b, m->score_b, "%s vs %s", x, y);
        cr_assert_eq(sw ? n->gas_b : n->gas_a, m->gas_a, "%s vs %s", x, y);
        cr_assert_eq(sw ? n->gas_a : n->gas_b, m->gas_b, "%s vs %s", x, y);
        cr_assert_eq(sw ? n->memtime_b : n->memtime_a, m->memtime_a, "%s vs %s", x, y);
        cr_assert_eq(sw ? n->memtime_a : n->memtime_b, m->memtime_b, "%s vs %s", x, y);
        cr_assert_eq(m->forfeits_a + m->forfeits_b, 0);
    }
    for (uint32_t i = 0; i < fit_arena_nplayers(b); i++)
        if (!strncmp(fit_arena_name(b, i), "h-", 2)) {
            const fit_arena_stats *s = fit_arena_stats_get(b, i);
            cr_assert_eq(s->forfeits, s->moves, "%s", fit_arena_name(b, i));
            cr_assert_eq(s->score, 0);
        }
    fit_arena_free(a);
    fit_arena_free(b);
}

Test(arena, blotto_known_results) {
    fit_arena *a = arena(FIT_GAME_BLOTTO, 10, 3);
    add(a, "uniform", "blotto_uniform.s");
    add(a, "three", "blotto_three.s");
    add(a, "evm", "blotto_evm.hex");
    add(a, "mirror", "blotto_mirror.s");
    add(a, "random", "blotto_random.s");
    add(a, "alld", "always_defect.s"); /* move 1: one soldier, not 10: invalid */
    cr_assert_eq(fit_arena_run(a), 0);
    /* 4 3 3 0 0 vs 2 2 2 2 2: three fields won (6), two lost (4) */
    cr_assert_eq(score_of(a, "three", "uniform"), 60);
    cr_assert_eq(score_of(a, "uniform", "three"), 40);
    /* 3 3 3 1 0 vs 2 2 2 2 2 */
    cr_assert_eq(score_of(a, "evm", "uniform"), 60);
    /* mirror: round 0 uniform vs uniform (5 ties), then uniform again */
    cr_assert_eq(score_of(a, "mirror", "uniform"), 50);
    /* a forfeiter has no soldiers: its opponent wins every field it holds */
    cr_assert_eq(score_of(a, "uniform", "alld"), 100);
    cr_assert_eq(score_of(a, "alld", "uniform"), 0);
    cr_assert_eq(score_of(a, "three", "alld"), 60 + 20);
    const fit_arena_stats *s = fit_arena_stats_get(a, 5);
    cr_assert_eq(s->invalid, s->moves);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(fit_arena_stats_get(a, i)->forfeits, 0, "%s", fit_arena_name(a, i));
    fit_arena_free(a);
}

static fit_arena *full_ipd(void) {
    fit_arena *a = arena(FIT_GAME_IPD, 12, 2024);
    for (size_t i = 0; i < NH; i++) {
        add(a, honest[i][0], honest[i][1]);
        add(a, hostile[i][0], hostile[i][1]);
    }
    return a;
}

static void assert_same(const fit_arena *a, const fit_arena *b) {
    cr_assert_eq(fit_arena_nmatches(a), fit_arena_nmatches(b));
    for (uint32_t k = 0; k < fit_arena_nmatches(a); k++)
        cr_assert_eq(
            memcmp(fit_arena_match_get(a, k), fit_arena_match_get(b, k), sizeof(fit_arena_match)),
            0, "match %u", k);
    for (uint32_t i = 0; i < fit_arena_nplayers(a); i++)
        cr_assert_eq(
            memcmp(fit_arena_stats_get(a, i), fit_arena_stats_get(b, i), sizeof(fit_arena_stats)),
            0, "player %s", fit_arena_name(a, i));
}

Test(arena, snapshot_and_resume_give_the_same_table) {
    fit_arena *ref = full_ipd();
    cr_assert_eq(fit_arena_run(ref), 0);
    uint64_t total = fit_arena_rounds_total(ref);
    cr_assert_eq(total, 66 * 12);
    const uint64_t stops[] = {0, 1, 5, 12, 13, 100, total - 1, total};
    for (size_t s = 0; s < sizeof stops / sizeof stops[0]; s++) {
        fit_arena *a = full_ipd();
        for (uint64_t r = 0; r < stops[s]; r++)
            cr_assert_geq(fit_arena_step(a), 0);
        cr_assert_eq(fit_arena_rounds_played(a), stops[s]);
        vm_buf blob = {0};
        cr_assert_eq(fit_arena_save(a, &blob), 0);
        fit_arena_free(a);
        fit_arena *b = full_ipd();
        char err[256];
        cr_assert_eq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0, "%s", err);
        cr_assert_eq(fit_arena_rounds_played(b), stops[s]);
        cr_assert_eq(fit_arena_run(b), 0);
        assert_same(ref, b);
        vm_buf again = {0};
        cr_assert_eq(fit_arena_save(b, &again), 0);
        vm_buf end = {0};
        cr_assert_eq(fit_arena_save(ref, &end), 0);
        cr_assert_eq(again.len, end.len);
        cr_assert_eq(memcmp(again.data, end.data, end.len), 0, "the final blobs are identical");
        vm_buf_free(&again);
        vm_buf_free(&end);
        vm_buf_free(&blob);
        fit_arena_free(b);
    }
    fit_arena_free(ref);
}

Test(arena, corrupt_snapshot_is_a_clear_error) {
    fit_arena *a = full_ipd();
    for (int r = 0; r < 30; r++)
        fit_arena_step(a);
    vm_buf blob = {0};
    cr_assert_eq(fit_arena_save(a, &blob), 0);
    char err[256];
    fit_arena *b = full_ipd();
    /* every single flipped byte is caught */
    for (size_t i = 0; i < blob.len; i += 7) {
        blob.data[i] ^= 0x20;
        err[0] = 0;
        cr_assert_eq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), -1, "byte %zu", i);
        cr_assert(strstr(err, "offset"), "%s", err);
        blob.data[i] ^= 0x20;
    }
    blob.data[40] ^= 1;
    fit_arena_load(b, blob.data, blob.len, err, sizeof err);
    cr_assert(strstr(err, "checksum"), "%s", err);
    blob.data[40] ^= 1;
    cr_assert_eq(fit_arena_load(b, blob.data, blob.len - 9, err, sizeof err), -1);
    cr_assert_eq(fit_arena_load(b, blob.data, 3, err, sizeof err), -1);
    cr_assert(strstr(err, "not an arena snapshot"), "%s", err);
    cr_assert_eq(fit_arena_rounds_played(b), 0, "a failed load changes nothing");
    /* another seed or other players: refused */
    fit_arena *c = arena(FIT_GAME_IPD, 12, 7);
    for (size_t i = 0; i < NH; i++) {
        add(c, honest[i][0], honest[i][1]);
        add(c, hostile[i][0], hostile[i][1]);
    }
    cr_assert_eq(fit_arena_load(c, blob.data, blob.len, err, sizeof err), -1);
    cr_assert(strstr(err, "configuration"), "%s", err);
    fit_arena *d = arena(FIT_GAME_IPD, 12, 2024);
    for (size_t i = 0; i < NH; i++) {
        add(d, hostile[i][0], hostile[i][1]);
        add(d, honest[i][0], honest[i][1]);
    }
    cr_assert_eq(fit_arena_load(d, blob.data, blob.len, err, sizeof err), -1);
    cr_assert(strstr(err, "differs"), "%s", err);
    cr_assert_eq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0, "%s", err);
    vm_buf_free(&blob);
    fit_arena_free(a);
    fit_arena_free(b);
    fit_arena_free(c);
    fit_arena_free(d);
}

Test(arena, bad_configuration_and_players) {
    char err[256];
    fit_arena_config c = {.game = FIT_GAME_BLOTTO, .fields = 9};
    cr_assert_null(fit_arena_new(&c, err, sizeof err));
    cr_assert(strstr(err, "fields"), "%s", err);
    fit_arena *a = arena(FIT_GAME_IPD, 3, 1);
    add(a, "x", "tit_for_tat.s");
    uint8_t halt = 0;
    cr_assert_eq(fit_arena_add(a, "x", FIT_ISA_NATIVE, &halt, 1, err, sizeof err), -1);
    cr_assert(strstr(err, "twice"), "%s", err);
    cr_assert_eq(fit_arena_add(a, "empty", FIT_ISA_NATIVE, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_arena_run(a), 0);
    cr_assert_eq(fit_arena_stats_get(a, 1)->nomove, 3, "empty code halts with no move");
    cr_assert_eq(fit_arena_add(a, "late", FIT_ISA_NATIVE, &halt, 1, err, sizeof err), -1);
    fit_arena_free(a);
}

/* Random native programs (full of key, process and channel instructions) and
 * random EVM bytes as players: the tournament always finishes, within the
 * budgets, and the same seed gives the same table. */
static fit_arena *random_field(uint64_t seed) {
    fit_arena *a = arena(FIT_GAME_IPD, 6, seed);
    add(a, "tft", "tit_for_tat.s");
    uint64_t s = seed;
    char err[256], name[32];
    for (int i = 0; i < 30; i++) {
        uint8_t code[1024];
        size_t n = tu_random_program(&s, code, sizeof code);
        snprintf(name, sizeof name, "native-%d", i);
        cr_assert_eq(fit_arena_add(a, name, FIT_ISA_NATIVE, code, n, err, sizeof err), 0, "%s",
                     err);
    }
    for (int i = 0; i < 10; i++) {
        uint8_t code[64];
        size_t n = 1 + tu_below(&s, sizeof code);
        for (size_t k = 0; k < n; k++)
            code[k] = (uint8_t)tu_next(&s);
        snprintf(name, sizeof name, "evm-%d", i);
        cr_assert_eq(fit_arena_add(a, name, FIT_ISA_EVM, code, n, err, sizeof err), 0, "%s", err);
    }
    return a;
}

Test(arena, random_programs_never_stall) {
    fit_arena *a = random_field(77), *b = random_field(77);
    cr_assert_eq(fit_arena_run(a), 0);
    for (int r = 0; r < 500; r++)
        fit_arena_step(b);
    vm_buf blob = {0};
    cr_assert_eq(fit_arena_save(b, &blob), 0);
    fit_arena_free(b);
    b = random_field(77);
    char err[256];
    cr_assert_eq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_arena_run(b), 0);
    assert_same(a, b);
    uint32_t n = fit_arena_nplayers(a);
    for (uint32_t i = 0; i < n; i++) {
        const fit_arena_stats *s = fit_arena_stats_get(a, i);
        cr_assert_eq(s->moves, 6 * (n - 1));
        uint64_t cap = fit_arena_isa(a, i) == FIT_ISA_EVM ? FIT_ARENA_EVM_GAS : FIT_ARENA_GAS;
        cr_assert(s->gas <= (uint64_t)s->moves * cap);
    }
    cr_assert_eq(fit_arena_stats_get(a, 0)->forfeits, 0);
    vm_buf_free(&blob);
    fit_arena_free(a);
    fit_arena_free(b);
}

/* Random bytes and random corruptions of a real blob never load wrongly. */
Test(arena, random_blobs_are_refused) {
    fit_arena *a = full_ipd();
    for (int r = 0; r < 50; r++)
        fit_arena_step(a);
    vm_buf blob = {0};
    cr_assert_eq(fit_arena_save(a, &blob), 0);
    fit_arena *b = full_ipd();
    uint64_t s = 3;
    char err[256];
    uint8_t *junk = malloc(blob.len);
    for (int t = 0; t < 300; t++) {
        size_t n = tu_below(&s, (uint32_t)blob.len + 1);
        memcpy(junk, blob.data, blob.len);
        if (t % 3 == 0)
            for (size_t k = 0; k < n; k++)
                junk[k] = (uint8_t)tu_next(&s);
        else
            junk[tu_below(&s, (uint32_t)blob.len)] ^= (uint8_t)(1 + tu_below(&s, 255));
        size_t len = t % 3 == 1 ? blob.len : n;
        if (len == blob.len && !memcmp(junk, blob.data, len)) continue;
        cr_assert_eq(fit_arena_load(b, junk, len, err, sizeof err), -1, "try %d", t);
    }
    cr_assert_eq(fit_arena_rounds_played(b), 0);
    free(junk);
    vm_buf_free(&blob);
    fit_arena_free(a);
    fit_arena_free(b);
}

/* ---- the EVM players' policy (evm_policy) ---- */

/* An IPD player that STATICCALLs SHA-256 and cooperates iff the call was
 * allowed (its flag is 1): move = ISZERO(flag). */
static const char *const SHA_PLAYER = "60206000600060006002"
                                      "5afa15"
                                      "600052"
                                      "60206000f3";

static fit_arena *policy_arena(const char *policy, char *err, size_t errcap) {
    fit_arena_config c = {.game = FIT_GAME_IPD, .rounds = 4, .seed = 3};
    snprintf(c.evm_policy, sizeof c.evm_policy, "%s", policy);
    fit_arena *a = fit_arena_new(&c, err, errcap);
    if (!a) return NULL;
    uint8_t *code;
    size_t n;
    cr_assert_eq(evm_hex_decode(SHA_PLAYER, &code, &n), 0);
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        cr_assert_eq(fit_arena_add(a, name, FIT_ISA_EVM, code, n, err, errcap), 0, "%s", err);
    }
    free(code);
    return a;
}

Test(arena, evm_policy_in_the_same_words) {
    static const struct {
        const char *policy;
        int coop0, coop1; /* does player 0, 1 cooperate (its call allowed)? */
    } cases[] = {
        {"", 0, 0}, /* the default: isolated, own table */
        {"isolated", 0, 0},
        {"allow", 1, 1},
        {"keys:0x02", 1, 1},
        {"keys:0x03", 0, 0},
        {"tables:64", 0, 0},
        /* per caller: player 0 is at 0x...a1a1 00000000, player 1 at ...01 */
        {"keys:0xa1a100000000:0x02", 1, 0},
        {"keys:0xa1a100000001:2", 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char err[256];
        fit_arena *a = policy_arena(cases[k].policy, err, sizeof err);
        cr_assert(a, "%s: %s", cases[k].policy, err);
        cr_assert_eq(fit_arena_run(a), 0);
        int coop[2] = {cases[k].coop0, cases[k].coop1};
        for (uint32_t i = 0; i < 2; i++) {
            const fit_arena_stats *s = fit_arena_stats_get(a, i);
            cr_assert_eq(s->forfeits, 0, "%s: player %u forfeits", cases[k].policy, i);
            cr_assert_eq(s->denied, coop[i] ? 0u : 4u, "%s: player %u: %u denials", cases[k].policy,
                         i, s->denied);
        }
        /* CC 3 a round, DD 1, CD 0 / 5 */
        const int pay[2][2] = {{1, 5}, {0, 3}}; /* [mine cooperates][theirs cooperates] */
        cr_assert_eq(fit_arena_stats_get(a, 0)->score, 4 * pay[coop[0]][coop[1]], "%s",
                     cases[k].policy);
        fit_arena_free(a);
    }
    char err[256];
    cr_assert_null(policy_arena("bogus", err, sizeof err));
    cr_assert(strstr(err, "evm_policy bogus: expected allow"), "%s", err);
    cr_assert_null(policy_arena("tables:999", err, sizeof err));
    cr_assert(strstr(err, "BITS must be 1 to 256"), "%s", err);
}

/* A snapshot names its policy (version 2) and loads only into an arena with
 * the same one; without a policy the bytes are version 1 as before. */
Test(arena, evm_policy_in_snapshots) {
    char err[256];
    fit_arena *a = policy_arena("keys:0x02", err, sizeof err);
    cr_assert(a, "%s", err);
    fit_arena_step(a);
    vm_buf blob = {0};
    cr_assert_eq(fit_arena_save(a, &blob), 0);
    cr_assert_eq(blob.data[8], 2, "version 2");
    fit_arena *b = policy_arena("keys:0x02", err, sizeof err);
    cr_assert_eq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_arena_run(b), 0);
    cr_assert_eq(fit_arena_run(a), 0);
    cr_assert_eq(fit_arena_stats_get(a, 0)->score, fit_arena_stats_get(b, 0)->score);
    fit_arena_free(b);
    b = policy_arena("keys:0x03", err, sizeof err);
    cr_assert_neq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0);
    cr_assert(strstr(err, "EVM policy) differs"), "%s", err);
    fit_arena_free(b);
    b = policy_arena("", err, sizeof err);
    cr_assert_neq(fit_arena_load(b, blob.data, blob.len, err, sizeof err), 0);
    cr_assert(strstr(err, "version 2 names an EVM policy, this tournament has none"), "%s", err);
    vm_buf plain = {0};
    cr_assert_eq(fit_arena_save(b, &plain), 0);
    cr_assert_eq(plain.data[8], 1, "no policy: version 1");
    fit_arena_free(b);
    vm_buf_free(&plain);
    vm_buf_free(&blob);
    fit_arena_free(a);
}
