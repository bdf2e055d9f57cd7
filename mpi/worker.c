#include "proto.h"
#include "sweep.h"

#include "jobs/pipeline.h"
#include "src/log.h"

#include <stdlib.h>
#include <string.h>

int asw_worker_run(MPI_Comm comm, const struct asw_config *cfg)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    asw_msg_send(comm, 0, ASW_MSG_READY, 0, NULL, NULL, 0);
    for (;;) {
        struct asw_msg m;
        if (asw_msg_recv(comm, 0, &m))
            MPI_Abort(comm, 70);
        if (m.hdr.type == ASW_MSG_STOP) {
            asw_msg_free(&m);
            break;
        }
        if (m.hdr.type != ASW_MSG_WORK) {
            asw_error("protocol: unexpected message type %u", m.hdr.type);
            MPI_Abort(comm, 70);
        }
        struct asw_unit u;
        struct asw_err err = {0};
        struct asw_result r;
        if (asw_unit_from_json(m.payload, m.hdr.payload_len, &u, &err)) {
            asw_error("protocol: bad unit from rank 0: %s", err.msg);
            MPI_Abort(comm, 70);
        }
        asw_debug("unit %s: %zu files, %lld bytes", u.id, u.n_files,
                  (long long)u.bytes_total);
        asw_pipeline_run(cfg, &u, rank, &r);
        char *json = asw_result_to_json(&r);
        if (!json)
            MPI_Abort(comm, 71);
        asw_msg_send(comm, 0, ASW_MSG_RESULT, (int32_t)r.status, u.id, json,
                     strlen(json));
        free(json);
        asw_result_clear(&r);
        asw_unit_clear(&u);
        asw_msg_free(&m);
    }
    return 0;
}
