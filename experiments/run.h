/* Internal to experiments/: what frugal run (cmd_run.c) shares with frugal
 * batch (cmd_batch.c). */
#ifndef FRUGAL_EXP_RUN_H
#define FRUGAL_EXP_RUN_H

#include "experiments/spec.h"

#include <signal.h>

#define EXP_MAX_OVERRIDES 64

/* SIGINT/SIGTERM set exp_stop_flag, checked between generations (and between
 * a batch's seeds); a second signal kills at once. */
extern volatile sig_atomic_t exp_stop_flag;
typedef struct {
    struct sigaction old_int, old_term;
} exp_sig_saved;
void exp_signals_install(exp_sig_saved *s);
void exp_signals_restore(const exp_sig_saved *s);

typedef struct {
    bool quiet, json, force;
    bool spread;     /* spread the islands over the MPI ranks (frugal run under mpirun) */
    const char *out; /* NULL: default */
} exp_run_flags;

/* Run a loaded spec into file (takes the spec; see exp_run_spec). */
int exp_run_loaded(exp_spec *s, const char *file, const exp_run_flags *f, evo_run **keep);
/* Rank 0's value of rc, on every rank (rc >= 0). */
int exp_mpi_root_rc(int rc);

/* The --seed/--set/... options shared by run and batch. */
typedef struct {
    exp_override ov[EXP_MAX_OVERRIDES];
    size_t nov;
} exp_run_opts;
/* Split "key.path=value" into an override (pointing into s); -1 with a message. */
int exp_parse_set(const char *opt, char *s, exp_override *o);
int exp_add_override(exp_run_opts *c, const char *path, const char *value);
int exp_check_uint(const char *opt, const char *s);

#endif
