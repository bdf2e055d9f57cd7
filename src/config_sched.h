/*
 * config_sched.h - the [scheduler] section of the configuration and the
 * progress keys of [run]: how rank 0 hands out units (order, scratch
 * budget per node, download slots, retries), how workers overlap
 * downloads with processing (prefetch), what a stop signal does, and how
 * progress is shown. Kept apart from config.c like [casa];
 * docs/config.md documents every key.
 */
#ifndef ASW_CONFIG_SCHED_H
#define ASW_CONFIG_SCHED_H

enum asw_on_signal {
    ASW_ON_SIGNAL_ABORT = 0, /* interrupt the units in flight at once */
    ASW_ON_SIGNAL_DRAIN = 1, /* let them finish; a second signal aborts */
};

enum asw_progress_mode {
    ASW_PROGRESS_AUTO = 0, /* a live line on a terminal, else log lines */
    ASW_PROGRESS_LINE,     /* always the live line */
    ASW_PROGRESS_LOG,      /* always log lines */
    ASW_PROGRESS_OFF,      /* only the final summary */
};

struct asw_sched_config {
    /* [scheduler] */
    int fifo;                   /* order = fifo (else largest first) */
    long long scratch_budget;   /* bytes per node, 0: free space only */
    int download_slots;         /* concurrent downloads job-wide, 0: no cap */
    int prefetch;               /* units a worker fetches ahead, 0..2 */
    int master_works;           /* rank 0 processes units too */
    char *trace;                /* JSON-lines trace file, NULL: none */
    double retry_backoff_s;     /* first retry delay, doubled per failure */
    double retry_backoff_max_s; /* cap of the delay */
    int max_crashes;            /* CASA crashes before a unit fails */
    double reserve_after_s;     /* scratch wait before a unit holds a node */
    int on_signal;              /* enum asw_on_signal */
    /* [run] */
    int progress;      /* enum asw_progress_mode */
    double progress_s; /* seconds between progress log lines */
};

/* Defaults (docs/config.md). */
void asw_sched_config_defaults(struct asw_sched_config *c);

/*
 * Apply one [scheduler] key, or a progress key of [run], with its
 * (already expanded) value. Returns 1 when applied, 0 when the value is
 * bad (or memory ran out), -1 when the key is not one of these.
 */
int asw_sched_config_set(struct asw_sched_config *c, const char *section,
                         const char *key, const char *value);

/* Free what c owns. Accepts NULL. */
void asw_sched_config_free(struct asw_sched_config *c);

#endif
