/* Internal to analysis/: output helpers shared by the run and arena reports. */
#ifndef FRUGAL_AN_IMPL_H
#define FRUGAL_AN_IMPL_H

#include "analysis/analysis.h"

const char *an_ext_of(an_format f);
FILE *an_open_out(const char *dir, const char *name, FILE *msg);
int an_close_out(FILE *f, const char *dir, const char *name, FILE *msg);
/* Open the gnuplot script STEM.gp in dir (close it with an_close_out) and
 * write its head: the terminal for fmt, output STEM.<ext>, title and axes.
 * NULL on error (reported to msg). */
FILE *an_gp_open(const char *dir, const char *stem, an_format fmt, const char *title,
                 const char *xl, const char *yl, FILE *msg);
bool an_have_gnuplot(void);
int an_run_gnuplot(const char *dir, const char *script, FILE *msg);
int an_mkdirs(const char *dir);

/* Arena files (analysis/arena.c). */
bool an_is_arena(const char *path);
int an_arena_report(const char *path, const an_report_opts *o, FILE *msg);

#endif
