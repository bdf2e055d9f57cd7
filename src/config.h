/*
 * config.h - the sweep configuration: an INI file (inih) with ${VAR} and
 * ${VAR:-default} expansion of environment variables. Every key is
 * documented in docs/config.md; an unknown section or key is an error, so
 * that a typo never silently changes a multi-day sweep.
 */
#ifndef ASW_CONFIG_H
#define ASW_CONFIG_H

#include "config_casa.h"
#include "config_sched.h"
#include "err.h"

#include <stddef.h>

struct asw_strlist {
    char **v; /* owned strings */
    size_t n;
};

struct asw_config {
    char *path; /* file it was read from (owned) */
    char *text; /* the file's text, kept for provenance (owned) */

    /* [archive] */
    struct asw_strlist mirrors;  /* base URLs, tried in order */
    struct asw_strlist targets;  /* calibrator names; empty = all */
    struct asw_strlist bands;    /* "3", "7", ... */
    struct asw_strlist cycles;   /* "2019", ... (proposal_id prefix) */
    struct asw_strlist projects; /* project codes */
    int public_only;             /* data_rights = 'Public'; default on
                                    unless credentials are set */
    int include_7m;              /* also 7-m array data */
    long maxrec;                 /* TAP MAXREC, 0 = none */
    long max_rows_per_query;     /* split larger answers; 0 = maxrec */
    double mjd_from;             /* t_min >= this (date_from), NAN: none */
    double mjd_to;               /* t_min < this (day after date_to) */
    int has_cone;                /* cone = ra, dec, radius (deg) */
    double cone_ra_deg, cone_dec_deg, cone_radius_deg;
    double freq_min_ghz; /* overlap with [min, max], NAN: none */
    double freq_max_ghz;
    double velocity_res_max_ms; /* velocity_resolution <= (m/s), NAN */
    char *credentials;          /* NULL, "netrc" or "env" */
    char *user_env;             /* env names holding the Basic user ... */
    char *password_env;         /* ... and password ("env" credentials) */
    int archive_retries;        /* retries per TAP/DataLink request */

    /* [pipeline] */
    char *mode; /* "products" or "casa" */

    /* [casa] (src/config_casa.h) */
    struct asw_casa_config casa;

    /* [scratch] */
    char *scratch_dir;
    int keep_files;                  /* keep unit directories after success */
    long long scratch_reserve_bytes; /* left free beyond a unit's need */

    /* [output] */
    char *catalogue;
    double checkpoint_s; /* catalogue checkpoint interval, 0 = every result */
    int journal_fsync;   /* fdatasync the catalogue journal per result */
    double pair_days;    /* /sources band-pair window */

    /* [run] */
    int resume;
    int max_attempts;
    char *log_level;

    /* [scheduler], and the progress keys of [run] (src/config_sched.h) */
    struct asw_sched_config sched;

    /* [download] */
    int retries;
    double backoff_s;     /* first retry delay (before jitter) */
    double backoff_max_s; /* cap of the doubling delay */
    long connect_timeout_s;
    long long low_speed_limit_bps; /* an attempt slower than this ... */
    long low_speed_time_s;         /* ... for this long is abandoned */
    char *ca_file; /* CA bundle (absolute path), NULL: the system's */
    int segments;  /* parallel byte ranges of one file */
    long long min_segment_bytes; /* smaller files stay single-stream */
    int max_transfers;           /* transfers one worker runs at once */
    int extract_during;          /* extract tars while they download */
};

/*
 * Read and validate the configuration in path. On success *cfg holds owned
 * data to release with asw_config_free. Returns 0, ASW_EIO (unreadable) or
 * ASW_ECONFIG with err naming the line, section and key at fault.
 */
int asw_config_load(const char *path, struct asw_config *cfg,
                    struct asw_err *err);

/* Same, from text in memory (path is used only in messages). */
int asw_config_parse(const char *text, const char *path, struct asw_config *cfg,
                     struct asw_err *err);

/* Release what cfg owns. Accepts NULL. */
void asw_config_free(struct asw_config *cfg);

/*
 * Expand ${VAR} and ${VAR:-default} (defaults may nest) in s. Returns a
 * malloc'd string (caller frees) or NULL with err set: an unset variable
 * without a default, an unterminated ${, or too deep nesting.
 */
char *asw_config_expand(const char *s, struct asw_err *err);

/* Split s on commas and white space into *out (appended). */
int asw_strlist_split(struct asw_strlist *out, const char *s);

/* Split s on commas only, trimming white space: for names, which may
 * hold spaces. */
int asw_strlist_split_commas(struct asw_strlist *out, const char *s);
void asw_strlist_free(struct asw_strlist *l);

#endif
