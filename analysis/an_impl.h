/* Internal to analysis/: output helpers shared by the run and arena reports. */
#ifndef FRUGAL_AN_IMPL_H
#define FRUGAL_AN_IMPL_H

#include "analysis/analysis.h"

const char *an_ext_of(an_format f);
FILE *an_open_out(const char *dir, const char *name, FILE *msg);
int an_close_out(FILE *f, const char *dir, const char *name, FILE *msg);
/* A gnuplot script's head: terminal for fmt, output file, title, axes. */
void an_gp_head(FILE *f, an_format fmt, const char *out, const char *title, const char *xl,
                const char *yl);
bool an_have_gnuplot(void);
int an_run_gnuplot(const char *dir, const char *script, FILE *msg);
int an_mkdirs(const char *dir);

/* Arena files (analysis/arena.c). */
bool an_is_arena(const char *path);
int an_arena_report(const char *path, const an_report_opts *o, FILE *msg);

#endif
