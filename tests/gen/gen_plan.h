/*
 * gen_plan.h - what the synthetic archive holds, decided before anything is
 * written.
 *
 * A plan is a pure function of (preset, seed, npix): every random number
 * the generator needs is drawn here, in a fixed order, from one
 * gsl_rng_mt19937. Each image carries its own noise seed, so the pixel
 * rendering that follows does not depend on the order images are written.
 * The contract for the directory written from a plan is
 * docs/sim-archive-layout.md.
 */
#ifndef ASW_GEN_PLAN_H
#define ASW_GEN_PLAN_H

#include <stddef.h>

#include "err.h"

#define ASW_GEN_UID_MAX      48
#define ASW_GEN_NAME_MAX     64
#define ASW_GEN_FILE_MAX     256
#define ASW_GEN_MAX_SPW      4
#define ASW_GEN_MAX_EB       2
#define ASW_GEN_MAX_FIELD    4
#define ASW_GEN_NPIX_DEFAULT 128
#define ASW_GEN_NPIX_MIN     16
#define ASW_GEN_NPIX_MAX     4096

/* The role a field plays in its MOUS; the first three are calibrators. */
enum asw_gen_intent {
    ASW_GEN_BP = 0, /* bandpass (and flux) calibrator, file tag "_bp" */
    ASW_GEN_PH = 1, /* phase calibrator, "_ph" */
    ASW_GEN_CH = 2, /* check source, "_ch" */
    ASW_GEN_SCI = 3 /* science target, "_sci" (the sweep ignores it) */
};

/* File-name tag ("bp", "ph", "ch", "sci") of an intent. */
const char *asw_gen_intent_tag(int intent);

/* The ObsCore scan_intent text of an intent, e.g. "BANDPASS FLUX WVR". */
const char *asw_gen_intent_scan(int intent);

struct asw_gen_spw {
    int id;         /* ALMA spw number, e.g. 25 */
    double freq_hz; /* sky centre frequency */
    double bw_hz;   /* total bandwidth, 1.875 GHz */
    int nchan;      /* 128 (TDM) or 1920 (FDM) */
};

struct asw_gen_eb {
    char uid[ASW_GEN_UID_MAX]; /* uid://A002/Xd28a9e/X71b8 */
    double mjd_start;
    double mjd_end;
};

/* One source observed in one MOUS. */
struct asw_gen_field {
    char name[ASW_GEN_NAME_MAX]; /* J1924-2914; '+'/'-' kept */
    int intent;                  /* enum asw_gen_intent */
    double ra_deg;               /* field (phase) centre, ICRS */
    double dec_deg;
    double flux_ref_jy; /* flux at 100 GHz in this epoch */
    double spix;        /* spectral index alpha, S ~ nu^alpha */
    double snr;         /* S/rms of the first spw's image */
    double texp_s;      /* on-source time summed over EBs */
};

/* One pipeline image: a calibrator per-spw mfs image or a science target
 * aggregate continuum image. */
struct asw_gen_image {
    int mous;                       /* index into plan->mous */
    int field;                      /* index into that MOUS's fields */
    int spw;                        /* index into its spws, -1 = all */
    char file[ASW_GEN_FILE_MAX];    /* the .pbcor.fits name */
    char pb_file[ASW_GEN_FILE_MAX]; /* the .pb.fits.gz name */
    double freq_hz;                 /* CRVAL3 */
    double bw_hz;                   /* CDELT3 */
    double flux_jy;                 /* true flux = true peak (Jy/beam) */
    double rms_jy;                  /* rms of the non-pbcor noise */
    double bmaj_arcsec;
    double bmin_arcsec;
    double bpa_deg;
    double cell_arcsec;
    double pb_fwhm_arcsec;
    double extent_arcsec; /* intrinsic FWHM, 0 = point source */
    double x_pix;         /* 0-based true source position */
    double y_pix;
    int npix;
    unsigned long noise_seed;
};

struct asw_gen_mous {
    char project[24];                /* 2019.1.00001.S */
    char sg_uid[ASW_GEN_UID_MAX];    /* science goal OUS */
    char group_uid[ASW_GEN_UID_MAX]; /* group OUS */
    char mous_uid[ASW_GEN_UID_MAX];  /* uid://A001/X1465/X2f66 */
    char mous_s[ASW_GEN_UID_MAX];    /* uid___A001_X1465_X2f66 */
    int band;
    int dish_m;          /* 12 or 7 */
    int proprietary;     /* 0 = Public */
    char release[32];    /* obs_release_date */
    char sb_name[64];    /* schedblock_name */
    char antennas[1024]; /* antenna_arrays */
    const char *title;   /* the project's static texts (not owned) */
    const char *pi_name;
    const char *pi_userid;
    const char *category;
    const char *keyword;
    double pwv_mm;
    double bmaj_ref_arcsec; /* beam at the first spw */
    double bmin_ref_arcsec;
    double bpa_ref_deg;
    int n_spw;
    struct asw_gen_spw spw[ASW_GEN_MAX_SPW];
    int n_eb;
    struct asw_gen_eb eb[ASW_GEN_MAX_EB];
    int n_field;
    struct asw_gen_field field[ASW_GEN_MAX_FIELD];
    int first_image; /* this MOUS's images are plan->image[first_image..] */
    int n_images;    /* calibrator and science images */
    int n_cal_images;
};

struct asw_gen_plan {
    unsigned long seed;
    char preset[16];
    int npix;
    int n_mous;
    struct asw_gen_mous *mous;
    int n_image;
    struct asw_gen_image *image;
};

/*
 * Build the plan of preset "demo", "small" or "tiny" for seed and npix
 * (ASW_GEN_NPIX_MIN..ASW_GEN_NPIX_MAX). On success *out is a new plan the
 * caller frees with asw_gen_plan_free. Returns 0, ASW_EINVAL (unknown
 * preset, bad npix) or ASW_ENOMEM.
 */
int asw_gen_plan_build(struct asw_gen_plan **out, const char *preset,
                       unsigned long seed, int npix, struct asw_err *err);

/*
 * Set the lowest peak S/N of calibrator images (default 30, range
 * [1, 2000)); call before asw_gen_plan_build.
 */
void asw_gen_plan_set_min_snr(double snr);

/* Release a plan. Accepts NULL. */
void asw_gen_plan_free(struct asw_gen_plan *plan);

/* The MJD that images of MOUS index mous record as DATE-OBS (and truth.json
 * as "mjd"): the start of the MOUS's first EB. */
double asw_gen_plan_mjd(const struct asw_gen_plan *plan, int mous);

/*
 * Archive file names of a MOUS, written into buf of size n (names are
 * shorter than ASW_GEN_FILE_MAX): the product tar
 * "<project>_uid___A001_X1_X2_001_of_001.tar", the auxiliary tar
 * "<project>_uid___A001_X1_X2_auxiliary.tar", the README
 * "member.uid___A001_X1_X2.README.txt", the flux table
 * "member.uid___A001_X1_X2.flux.csv", the calibration script
 * "member.uid___A001_X1_X2.scriptForPI.py" and the raw tar of EB index eb
 * "<project>_uid___A002_X1_X2.asdm.sdm.tar".
 */
void asw_gen_name_product_tar(const struct asw_gen_mous *m, char *buf,
                              size_t n);
void asw_gen_name_aux_tar(const struct asw_gen_mous *m, char *buf, size_t n);
void asw_gen_name_readme(const struct asw_gen_mous *m, char *buf, size_t n);
void asw_gen_name_flux_csv(const struct asw_gen_mous *m, char *buf, size_t n);
void asw_gen_name_script(const struct asw_gen_mous *m, char *buf, size_t n);
void asw_gen_name_asdm_tar(const struct asw_gen_mous *m, int eb, char *buf,
                           size_t n);

/* Sanitize a uid as the archive does: ':' and '/' become '_'. */
void asw_gen_sanitize(char *dst, size_t n, const char *uid);

#endif
