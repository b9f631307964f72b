/* Reports of arena tournaments (files written by frugal arena; docs/report.md,
 * "Arena files"): the players' table, score against gas, and the scores. */
#include "analysis/an_impl.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[64];
    uint8_t isa;
    int64_t score;
    uint64_t gas, memtime;
    uint32_t moves, forfeits, wins, draws, losses;
} player;

bool an_is_arena(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return false;
    bool yes = H5Aexists(f, "frugal_arena") > 0;
    H5Fclose(f);
    return yes;
}

static int read_col(hid_t f, const char *name, hid_t t, uint32_t n, void *out) {
    char p[64];
    snprintf(p, sizeof p, "/players/%s", name);
    hsize_t dims[1];
    if (H5LTget_dataset_info(f, p, dims, NULL, NULL) < 0 || dims[0] != n) return -1;
    return H5LTread_dataset(f, p, t, out) < 0 ? -1 : 0;
}

/* Players sorted by score (descending), ties in file order. */
static int cmp_score(const void *a, const void *b) {
    const player *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

int an_arena_report(const char *path, const an_report_opts *o, an_msgs *msg) {
    int rc = AN_ERR_INPUT;
    player *pl = NULL;
    char game[16] = "?", *names = NULL;
    int64_t *score = NULL;
    uint64_t *gas = NULL, *mt = NULL, seed = 0, rounds = 0;
    uint8_t *isa = NULL;
    uint32_t *u[5] = {0};
    hsize_t dims[1];
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), st = -1;
    if (f < 0) {
        an_fail(msg, "%s: truncated or corrupt HDF5 file", path);
        return AN_ERR_INPUT;
    }
    if (H5LTget_dataset_info(f, "/players/score", dims, NULL, NULL) < 0) {
        an_fail(msg, "%s: an arena file without /players", path);
        goto cleanup;
    }
    uint32_t n = (uint32_t)dims[0], N = n ? n : 1;
    H5LTget_attribute_string(f, ".", "game", game);
    H5LTget_attribute_ulong(f, ".", "seed", (unsigned long *)&seed);
    H5LTget_attribute_ulong(f, ".", "rounds", (unsigned long *)&rounds);
    pl = calloc(N, sizeof *pl);
    names = calloc(N, 64);
    score = calloc(N, 8);
    gas = calloc(N, 8);
    mt = calloc(N, 8);
    isa = calloc(N, 1);
    for (int k = 0; k < 5; k++)
        u[k] = calloc(N, 4);
    if (!pl || !names || !score || !gas || !mt || !isa || !u[4]) goto cleanup;
    st = H5Tcopy(H5T_C_S1);
    static const char *const ucols[5] = {"moves", "forfeits", "wins", "draws", "losses"};
    int bad = st < 0 || H5Tset_size(st, 64) < 0 || read_col(f, "name", st, n, names) ||
              read_col(f, "isa", H5T_NATIVE_UINT8, n, isa) ||
              read_col(f, "score", H5T_NATIVE_INT64, n, score) ||
              read_col(f, "gas", H5T_NATIVE_UINT64, n, gas) ||
              read_col(f, "memtime", H5T_NATIVE_UINT64, n, mt);
    for (int k = 0; k < 5 && !bad; k++)
        bad = read_col(f, ucols[k], H5T_NATIVE_UINT32, n, u[k]);
    if (bad) {
        an_fail(msg, "%s: truncated or corrupt arena file (/players)", path);
        goto cleanup;
    }
    for (uint32_t i = 0; i < n; i++) {
        player *p = &pl[i];
        memcpy(p->name, names + 64 * (size_t)i, 63);
        for (char *c = p->name; *c; c++) /* safe in CSV and gnuplot labels */
            if (*c == ',' || *c == '\'' || *c == '"' || (unsigned char)*c < 32) *c = '_';
        p->isa = isa[i];
        p->score = score[i];
        p->gas = gas[i];
        p->memtime = mt[i];
        p->moves = u[0][i], p->forfeits = u[1][i], p->wins = u[2][i], p->draws = u[3][i],
        p->losses = u[4][i];
    }
    qsort(pl, n, sizeof *pl, cmp_score);
    rc = AN_ERR_IO; /* from here on, what fails is writing */

    const char *dir = o->out_dir;
    if (an_mkdirs(dir)) {
        an_fail(msg, "cannot create %s: %s", dir, strerror(errno));
        goto cleanup;
    }
    FILE *c = an_open_out(dir, "arena-players.csv", msg);
    if (!c) goto cleanup;
    fputs("rank,player,isa,score,gas,memtime,moves,forfeits,wins,draws,losses,gas_per_move\n", c);
    for (uint32_t i = 0; i < n; i++) {
        const player *p = &pl[i];
        fprintf(c,
                "%" PRIu32 ",%s,%s,%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32
                ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%.6g\n",
                i + 1, p->name, p->isa ? "evm" : "native", p->score, p->gas, p->memtime, p->moves,
                p->forfeits, p->wins, p->draws, p->losses,
                p->moves ? (double)p->gas / p->moves : 0.0);
    }
    if (an_close_out(c, dir, "arena-players.csv", msg)) goto cleanup;

    /* figures: score against gas per move (log), and the scores; player
     * names are printed as they are (noenhanced) */
    FILE *g = an_gp_open(dir, "arena-score-gas", "gas per move", "score", msg);
    if (!g) goto cleanup;
    fputs("unset key\nset termoption noenhanced\nset logscale x\nset format x '%g'\n"
          "set xtics 100\nset offsets graph 0.05, graph 0.25, graph 0.25, graph 0.05\n",
          g);
    fputs("plot 'arena-players.csv' every ::1 using ($12 > 0 ? $12 : 1/0):4 with points pt 7 ps "
          "0.6 lc rgb '#0072B2' notitle, \\\n     '' every ::1 using ($12 > 0 ? $12 : "
          "1/0):4:2 with labels rotate by 35 left offset 0.4,0.4 font ',6' notitle\n",
          g);
    if (an_close_out(g, dir, "arena-score-gas.gp", msg)) goto cleanup;
    /* horizontal bars, the best on top, names on the y axis */
    g = an_gp_open(dir, "arena-scores", "score", NULL, msg);
    if (!g) goto cleanup;
    int64_t top = 0;
    for (uint32_t i = 0; i < n; i++)
        if (pl[i].score > top) top = pl[i].score;
    fprintf(g, "set xtics %g\nset format x '%%.0s%%c'\n", an_nice_step((double)top));
    fputs("unset key\nset termoption noenhanced\nset style fill solid 0.8 noborder\n"
          "set ytics scale 0 font ',7'\nset xrange [0:*]\nset grid noytics\n"
          "plot 'arena-players.csv' every ::1 using (0):(-$1):(0):4:(-$1 - 0.35):(-$1 + 0.35)"
          ":ytic(2) with boxxyerror lc rgb '#009E73' notitle\n",
          g);
    if (an_close_out(g, dir, "arena-scores.gp", msg)) goto cleanup;
    bool figs = an_have_gnuplot();
    if (figs) {
        for (int t = 0; t < 3; t++) {
            if (!(o->formats & AN_FMT(t))) continue;
            const char *x = an_ext_of((an_format)t);
            if (an_run_gnuplot(dir, "arena-score-gas.gp", x, msg)) figs = false;
            if (an_run_gnuplot(dir, "arena-scores.gp", x, msg)) figs = false;
        }
    } else {
        msg->res->no_gnuplot = true;
        an_warn(msg, "gnuplot is not installed, so no figures (the tables and "
                     "scripts are written); install it with: apt-get install gnuplot-nox");
    }

    FILE *md = an_open_out(dir, "report.md", msg);
    if (!md) goto cleanup;
    fprintf(md,
            "# Arena report: %s\n\nFrom `%s`. Game %s, seed %" PRIu64 ", %" PRIu64
            " rounds per match, %" PRIu32 " players.\n\n",
            game, path, game, seed, rounds, n);
    fputs("| rank | player | isa | score | W-D-L | gas | memory-time (word·gas) | forfeits |\n"
          "|---|---|---|---|---|---|---|---|\n",
          md);
    for (uint32_t i = 0; i < n; i++) {
        const player *p = &pl[i];
        fprintf(md,
                "| %" PRIu32 " | %s | %s | %" PRId64 " | %" PRIu32 "-%" PRIu32 "-%" PRIu32
                " | %" PRIu64 " | %" PRIu64 " | %" PRIu32 " |\n",
                i + 1, p->name, p->isa ? "evm" : "native", p->score, p->wins, p->draws, p->losses,
                p->gas, p->memtime, p->forfeits);
    }
    fputs("\nThe table is also in `arena-players.csv`.\n\n", md);
    if (figs)
        fprintf(md,
                "![score against gas](arena-score-gas.%s)\n\nEach player's score against the gas "
                "it spent per move: cheap and strong players sit at the top left.\n\n"
                "![scores](arena-scores.%s)\n\nThe players' scores, best first.\n",
                an_md_ext(o->formats), an_md_ext(o->formats));
    else
        fputs("*Figures not drawn (gnuplot missing or failed); their scripts are here.*\n", md);
    if (an_close_out(md, dir, "report.md", msg)) goto cleanup;
    an_progress(msg, "wrote %s/report.md", dir);
    rc = 0;
cleanup:
    if (st >= 0) H5Tclose(st);
    H5Fclose(f);
    free(pl);
    free(names);
    free(score);
    free(gas);
    free(mt);
    free(isa);
    for (int k = 0; k < 5; k++)
        free(u[k]);
    return rc;
}
