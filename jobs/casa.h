/*
 * casa.h - the casa pipeline backend: one eb-raw unit (an EB's raw ASDM
 * tar) through CASA, step by step as generated scripts run by jobs/spawn.c:
 * import (importasdm), metadata (JSON read back here), calibration
 * (restore, generate, builtin or none), split of the calibrator fields by
 * intent, tclean in the requested modes with optional phase
 * self-calibration, exportfits; then every exported image is measured
 * (jobs/measure.h). docs/casa-mode.md describes it.
 */
#ifndef ASW_CASA_H
#define ASW_CASA_H

#include "src/buf.h"
#include "src/config.h"
#include "src/err.h"

#include <stddef.h>

struct asw_backend;
extern const struct asw_backend asw_backend_casa;

/* One embedded script template (generated from the .py files of
 * jobs/templates). */
struct asw_casa_template {
    const char *name; /* file name without .py */
    const char *text; /* NUL-terminated */
    size_t len;
};

/* The templates, ended by a {NULL, NULL, 0} entry. */
extern const struct asw_casa_template asw_casa_templates[];

/* The template called name, or NULL. Borrowed, static. */
const struct asw_casa_template *asw_casa_template_find(const char *name);

/*
 * The generated script of one step: a header, "ASW = <params>" where
 * params is a Python dict literal (made with struct asw_pywriter, so every
 * string in it is quoted by asw_py_quote), the common prelude and the
 * step's template. Appends to out. Returns 0, ASW_ENOTFOUND for an unknown
 * step, or a buffer error, with err set.
 */
int asw_casa_script(struct asw_buf *out, const char *step, const char *params,
                    struct asw_err *err);

/*
 * The smallest even n' >= n whose prime factors are 2, 3, 5 and 7 only
 * (sizes FFTs handle fast). n <= 0 gives 2; beyond 1<<24 returns n's even
 * ceiling.
 */
int asw_casa_fft_size(int n);

/* Imaging geometry by the ALMA pipeline's rules. */
struct asw_casa_geometry {
    double beam_arcsec;    /* estimated beam minor axis (FWHM) */
    double cell_arcsec;    /* beam / 5, rounded down to 2 significant digits */
    double pb_fwhm_arcsec; /* 1.13 lambda_max / D */
    int imsize;            /* pixels across the PB down to pblimit, FFT size */
};

/*
 * Cell and image size from the highest and lowest frequency imaged, the
 * uv coverage's spread (uv_sigma_m: the square root of the largest
 * eigenvalue of the second-moment matrix of the baselines' (u, v), in m)
 * and the smallest dish diameter (m): the beam minor axis is the FWHM of
 * the naturally weighted PSF's main lobe, sqrt(8 ln 2) / (2 pi sigma_uv /
 * lambda_min); 5 pixels across it; a field of view to where a Gaussian
 * primary beam of FWHM 1.13 lambda/D falls to pblimit, rounded up to an FFT
 * size and capped at max_imsize (the largest FFT size not above it).
 * Returns 0 or ASW_EINVAL for non-positive or non-finite inputs.
 */
int asw_casa_geometry(double freq_min_hz, double freq_max_hz, double uv_sigma_m,
                      double dish_m, double pblimit, int max_imsize,
                      struct asw_casa_geometry *g);

/*
 * The message of the first SEVERE line of CASA log text (tab-separated
 * "date, priority, origin, message"), skipping casacore's stale leap-second
 * warning (docs/casa.md), copied into out (size n). Returns 1 if one was
 * found, else 0 (out empty).
 */
int asw_casa_log_severe(const char *text, size_t len, char *out, size_t n);

/*
 * A file-name stem for a field name: characters other than letters,
 * digits, '+' and '-' become '_', at most n - 1 bytes, never empty ("field"
 * then). The pipeline's product names (measure.h) stay parseable whatever
 * the name holds.
 */
void asw_casa_name_stem(const char *name, char *out, size_t n);

/*
 * The CASA version (casatools.version_string()) of cfg's [casa] launcher,
 * found by running a tiny script once per process in a directory under
 * workdir; later calls return the cached answer. Copies it into buf (size
 * n). Returns 0 or an error with err set (CASA cannot be started).
 */
int asw_casa_version(const struct asw_config *cfg, const char *workdir,
                     char *buf, size_t n, struct asw_err *err);

#endif
