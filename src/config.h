/*
 * config.h - the sweep configuration: an INI file (inih) with ${VAR} and
 * ${VAR:-default} expansion of environment variables. Every key is
 * documented in docs/config.md; an unknown section or key is an error, so
 * that a typo never silently changes a multi-day sweep.
 */
#ifndef ASW_CONFIG_H
#define ASW_CONFIG_H

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
    int public_only;             /* data_rights = 'Public' */
    int include_7m;              /* also 7-m array data */
    long maxrec;                 /* TAP MAXREC, 0 = none */

    /* [pipeline] */
    char *mode; /* "products" or "casa" */

    /* [scratch] */
    char *scratch_dir;
    int keep_files; /* keep unit directories after success */

    /* [output] */
    char *catalogue;

    /* [run] */
    int resume;
    int max_attempts;
    char *log_level;

    /* [download] */
    int retries;
    long connect_timeout_s;
    long low_speed_time_s;
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
