/*
 * config_casa.h - the [casa] section of the configuration: how the casa
 * pipeline mode runs CASA (launcher, calibration, imaging, clean-up). Kept
 * apart from config.c so the casa keys live in one file; docs/config.md
 * documents every key.
 */
#ifndef ASW_CONFIG_CASA_H
#define ASW_CONFIG_CASA_H

#include <stddef.h>

/* Imaging modes of [casa] tclean_modes (bits). */
enum asw_casa_mode {
    ASW_CASA_MFS = 1 << 0,     /* one mfs image of all spws ("cont") */
    ASW_CASA_MFS_SPW = 1 << 1, /* one mfs image per spw */
    ASW_CASA_CUBE = 1 << 2,    /* one cube per spw, LSRK radio */
};

/* Calibrator intents to image, [casa] intents (bits). */
enum asw_casa_intent {
    ASW_CASA_BP = 1 << 0,  /* CALIBRATE_BANDPASS */
    ASW_CASA_PH = 1 << 1,  /* CALIBRATE_PHASE */
    ASW_CASA_AMP = 1 << 2, /* CALIBRATE_FLUX / CALIBRATE_AMPLI */
    ASW_CASA_CH = 1 << 3,  /* OBSERVE_CHECK_SOURCE */
    ASW_CASA_POL = 1 << 4, /* CALIBRATE_POLARIZATION */
};

struct asw_casa_config {
    char *launcher;       /* argv template: {python} {casa} {n} {script} ... */
    char *python;         /* {python}: the modular-CASA interpreter */
    char *casa;           /* {casa}: a monolithic casa executable */
    int ranks;            /* {n}: ranks for mpicasa */
    char *calibration;    /* restore, generate, builtin, none */
    char *flux_csv;       /* catalogue fluxes for builtin, NULL: none */
    char *analysis_utils; /* directory holding analysisUtils (generate) */
    int modes;            /* enum asw_casa_mode bits */
    int intents;          /* enum asw_casa_intent bits */
    char *weighting;      /* natural, briggs, uniform */
    double robust;
    int niter;
    double nsigma; /* clean down to nsigma x the residual's robust rms */
    int selfcal;
    char *selfcal_solint;
    double selfcal_minsnr;
    int max_imsize;
    char *import_asis;
    int import_bdfflags;
    int import_lazy;
    int export_fits; /* keep the exported FITS in the output directory */
    int remove_asdm;
    int remove_intermediate;
    int remove_casa_images;
    long step_time_limit_s;
    char *output_dir; /* logs and FITS per unit; NULL: next to catalogue */
};

/* Defaults (docs/config.md). Returns 0 or -1 on out-of-memory. */
int asw_casa_config_defaults(struct asw_casa_config *c);

/*
 * Apply one [casa] key with its (already expanded) value. Returns 1 when
 * applied, 0 when the value is bad (or memory ran out), -1 when the key is
 * not a [casa] key.
 */
int asw_casa_config_set(struct asw_casa_config *c, const char *key,
                        const char *value);

/* Free what c owns. Accepts NULL. */
void asw_casa_config_free(struct asw_casa_config *c);

#endif
