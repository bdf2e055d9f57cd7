/*
 * worker.c - a worker rank: the units rank 0 sends go to the rank's
 * executor (mpi/exec.c: a fetch thread and a process thread); this, the
 * main thread, moves messages: results and download-slot requests to
 * rank 0, units, grants, aborts and the stop from it (docs/protocol.md).
 */
#include "costmodel.h"
#include "exec.h"
#include "node.h"
#include "proto.h"
#include "signals.h"
#include "sweep.h"

#include "src/log.h"

#include <stdlib.h>
#include <string.h>

static void send_or_abort(MPI_Comm comm, enum asw_msg_type type, int32_t status,
                          const char *unit_id, const char *payload, size_t len)
{
    if (asw_msg_send(comm, 0, type, status, unit_id, payload, len))
        MPI_Abort(comm, 71);
}

/* Forward what the executor has to say to rank 0. */
static int forward(MPI_Comm comm, struct asw_exec *x)
{
    struct asw_exec_event ev;
    int n = 0;
    while (asw_exec_poll(x, &ev)) {
        n++;
        if (ev.type == ASW_EXEC_SLOT_WANT) {
            char what[300];
            int len = snprintf(what, sizeof what, "%lld %s",
                               (long long)ev.bytes, ev.file);
            send_or_abort(comm, ASW_MSG_SLOT_REQ, 0, ev.unit_id, what,
                          len < (int)sizeof what ? (size_t)len
                                                 : sizeof what - 1);
        } else if (ev.type == ASW_EXEC_SLOT_DONE) {
            send_or_abort(comm, ASW_MSG_SLOT_REL, ev.rc, ev.unit_id, NULL, 0);
        } else {
            char *json = asw_result_to_json(&ev.res);
            if (!json)
                MPI_Abort(comm, 71);
            send_or_abort(comm, ASW_MSG_RESULT, (int32_t)ev.res.status,
                          ev.unit_id, json, strlen(json));
            free(json);
            asw_result_clear(&ev.res);
        }
    }
    return n;
}

int asw_worker_run(MPI_Comm comm, const struct asw_config *cfg)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    struct asw_node_info *nodes = NULL;
    int n_nodes = 0;
    if (asw_node_discover(comm, cfg, &nodes, &n_nodes))
        MPI_Abort(comm, 71);
    free(nodes);
    struct asw_exec *x = NULL;
    if (asw_exec_new(cfg, rank, cfg->sched.download_slots > 0,
                     asw_costmodel_backend(), &x)) {
        asw_error("cannot start the worker threads");
        MPI_Abort(comm, 71);
    }
    send_or_abort(comm, ASW_MSG_READY, 0, NULL, NULL, 0);
    int signals_seen = 0, stop = 0;
    double delay = 50e-6;
    while (!stop) {
        int busy = 0;
        int n = asw_signals_count();
        if (n > signals_seen) {
            /* Rank 0 decides for the job; this rank stops its own units
             * at once unless asked to drain (then at the second). */
            signals_seen = n;
            send_or_abort(comm, ASW_MSG_SIGNAL, asw_signals_first(), NULL, NULL,
                          0);
            if (cfg->sched.on_signal == ASW_ON_SIGNAL_ABORT || n >= 2)
                asw_exec_abort(x);
            busy = 1;
        }
        while (!stop && asw_msg_pending(comm, 0)) {
            struct asw_msg m;
            if (asw_msg_recv(comm, 0, &m))
                MPI_Abort(comm, 70);
            busy = 1;
            switch (m.hdr.type) {
            case ASW_MSG_WORK: {
                struct asw_unit u;
                struct asw_err err = {0};
                if (asw_unit_from_json(m.payload, m.hdr.payload_len, &u,
                                       &err)) {
                    asw_error("protocol: bad unit from rank 0: %s", err.msg);
                    MPI_Abort(comm, 70);
                }
                asw_debug("unit %s: %zu files, %lld bytes", u.id, u.n_files,
                          (long long)u.bytes_total);
                if (asw_exec_push(x, &u)) {
                    asw_unit_clear(&u);
                    MPI_Abort(comm, 71);
                }
                break;
            }
            case ASW_MSG_ABORT:
                asw_exec_abort(x);
                break;
            case ASW_MSG_SLOT_GRANT:
                asw_exec_grant(x);
                break;
            case ASW_MSG_STOP:
                stop = 1;
                break;
            default:
                asw_error("protocol: unexpected message type %u", m.hdr.type);
                MPI_Abort(comm, 70);
            }
            asw_msg_free(&m);
        }
        if (!stop && forward(comm, x))
            busy = 1;
        asw_msg_progress();
        if (busy) {
            delay = 50e-6;
        } else {
            /* Up to 0.5 ms while a download waits for its grant, else
             * up to 5 ms (a prefetched unit waits that long at most):
             * idle ranks that oversubscribe cores stay quiet. */
            double cap = asw_exec_wants_slot(x) ? 0.5e-3 : 5e-3;
            if (delay > cap)
                delay = cap;
            asw_exec_wait(x, delay);
            if (delay < cap)
                delay *= 2;
        }
    }
    /* Rank 0 stops a worker only when it holds nothing. */
    if (asw_exec_held(x))
        asw_warn("stopped while holding %zu unit(s)", asw_exec_held(x));
    asw_exec_free(x);
    send_or_abort(comm, ASW_MSG_BYE, 0, NULL, NULL, 0);
    asw_msg_flush();
    return 0;
}
