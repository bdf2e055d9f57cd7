/*
 * exec.h - the units a rank holds, run on two helper threads: one fetches
 * (asw_pipeline_fetch: downloads, extraction) while the other processes
 * the unit fetched before (asw_pipeline_process: CASA or the products
 * measurement), so downloads overlap processing ([scheduler] prefetch).
 *
 * No MPI here: the rank's main thread owns the communicator and moves
 * what this module produces (results, download-slot requests and
 * releases) as events; the helper threads never call MPI, so
 * MPI_THREAD_FUNNELED is enough. Workers use it, and rank 0 too when it
 * works itself ([scheduler] master_works, or a single rank).
 */
#ifndef ASW_EXEC_H
#define ASW_EXEC_H

#include "src/config.h"
#include "src/result.h"
#include "src/unit.h"

#include <stddef.h>
#include <stdint.h>

struct asw_backend; /* jobs/pipeline.h */

/* A rank's executor (opaque). */
struct asw_exec;

enum asw_exec_event_type {
    ASW_EXEC_SLOT_WANT = 1, /* the fetch thread waits for a download slot */
    ASW_EXEC_SLOT_DONE,     /* it gives the slot back */
    ASW_EXEC_RESULT,        /* a unit is over: res is final */
};

struct asw_exec_event {
    enum asw_exec_event_type type;
    char unit_id[ASW_UID_MAX];
    char file[256]; /* SLOT_*: the file to download */
    int64_t bytes;  /* SLOT_WANT: its size (-1 unknown); DONE: received */
    int rc;         /* SLOT_DONE: the transfer's result */
    struct asw_result res; /* RESULT: owned by the receiver */
};

/*
 * Start an executor for rank `rank` with its two threads (which block the
 * stop signals). With use_slots, every download waits for
 * asw_exec_grant() after a SLOT_WANT event. backend (may be NULL: cfg's
 * mode) replaces the pipeline's backend. cfg is borrowed for the life of
 * the executor. Returns 0 and *out, or ASW_ENOMEM.
 */
int asw_exec_new(const struct asw_config *cfg, int rank, int use_slots,
                 const struct asw_backend *backend, struct asw_exec **out);

/* Take unit *u (moved: *u is zeroed) to fetch and process after the units
 * given before. Returns 0 or ASW_ENOMEM. */
int asw_exec_push(struct asw_exec *x, struct asw_unit *u);

/* Take the next event into *ev. Returns 1 if there was one, else 0. The
 * caller clears ev->res of a RESULT with asw_result_clear. */
int asw_exec_poll(struct asw_exec *x, struct asw_exec_event *ev);

/* Sleep until an event is pending or max_s seconds have passed. */
void asw_exec_wait(struct asw_exec *x, double max_s);

/* The download slot of the last SLOT_WANT is granted. A grant for a
 * request given up (an abort) is handed back as a SLOT_DONE event. */
void asw_exec_grant(struct asw_exec *x);

/*
 * Interrupt everything (a stop): downloads end at once (their progress
 * callback), a waiting slot request is given up, the processing child
 * gets SIGTERM (SIGKILL 10 s later, from asw_exec_wait), and every unit
 * held comes back as a RESULT with status interrupted unless it was done
 * before. Irreversible.
 */
void asw_exec_abort(struct asw_exec *x);

/* Whether the fetch thread waits for a slot grant (the main thread then
 * polls for it more often). */
int asw_exec_wants_slot(struct asw_exec *x);

/* Units pushed whose RESULT has not been polled yet. */
size_t asw_exec_held(struct asw_exec *x);

/* Abort what is still held, join the threads, free. Accepts NULL. */
void asw_exec_free(struct asw_exec *x);

/* Whether an executor of this process was aborted (for backends that can
 * stop early, such as the benchmark's cost model). */
int asw_exec_stopping(void);

#endif
