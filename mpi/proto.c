#include "proto.h"

#include "src/log.h"

#include <stdlib.h>
#include <string.h>

/* Sends in flight: their buffers live until MPI has completed them. The
 * main thread alone sends (MPI_THREAD_FUNNELED), so one list per process
 * serves. */
struct pending {
    MPI_Request req;
    char *buf;
};
static struct pending *pend;
static size_t n_pend, cap_pend;

int asw_msg_send(MPI_Comm comm, int dest, enum asw_msg_type type,
                 int32_t status, const char *unit_id, const char *payload,
                 size_t len)
{
    struct asw_msg_hdr h;
    memset(&h, 0, sizeof h);
    h.version = ASW_PROTO_VERSION;
    h.type = (uint32_t)type;
    h.status = status;
    if (unit_id)
        strncpy(h.unit_id, unit_id, sizeof h.unit_id - 1);
    if (len > ASW_MAX_PAYLOAD)
        return MPI_ERR_COUNT;
    h.payload_len = payload ? len : 0;
    size_t total = sizeof h + h.payload_len;
    if (n_pend == cap_pend) {
        size_t cap = cap_pend ? 2 * cap_pend : 32;
        struct pending *p = realloc(pend, cap * sizeof *p);
        if (!p)
            return MPI_ERR_NO_MEM;
        pend = p;
        cap_pend = cap;
    }
    char *buf = malloc(total);
    if (!buf)
        return MPI_ERR_NO_MEM;
    memcpy(buf, &h, sizeof h);
    if (h.payload_len)
        memcpy(buf + sizeof h, payload, h.payload_len);
    /* Non-blocking: a large message goes by rendezvous, and a master and a
     * worker sending to each other at once must not both wait. */
    int rc = MPI_Isend(buf, (int)total, MPI_BYTE, dest, ASW_TAG, comm,
                       &pend[n_pend].req);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return rc;
    }
    pend[n_pend++].buf = buf;
    asw_msg_progress();
    return MPI_SUCCESS;
}

size_t asw_msg_progress(void)
{
    size_t k = 0;
    for (size_t i = 0; i < n_pend; i++) {
        int done = 0;
        MPI_Test(&pend[i].req, &done, MPI_STATUS_IGNORE);
        if (done)
            free(pend[i].buf);
        else
            pend[k++] = pend[i];
    }
    n_pend = k;
    return n_pend;
}

void asw_msg_flush(void)
{
    for (size_t i = 0; i < n_pend; i++) {
        MPI_Wait(&pend[i].req, MPI_STATUS_IGNORE);
        free(pend[i].buf);
    }
    n_pend = 0;
    free(pend);
    pend = NULL;
    cap_pend = 0;
}

int asw_msg_recv(MPI_Comm comm, int source, struct asw_msg *m)
{
    memset(m, 0, sizeof *m);
    MPI_Status st;
    int count = 0;
    MPI_Probe(source, ASW_TAG, comm, &st);
    MPI_Get_count(&st, MPI_BYTE, &count);
    if (count < (int)sizeof m->hdr ||
        (size_t)count > sizeof m->hdr + ASW_MAX_PAYLOAD) {
        asw_error("protocol: message of %d bytes from rank %d", count,
                  st.MPI_SOURCE);
        return -1;
    }
    char *buf = malloc((size_t)count + 1);
    if (!buf)
        return -1;
    MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, ASW_TAG, comm,
             MPI_STATUS_IGNORE);
    memcpy(&m->hdr, buf, sizeof m->hdr);
    m->source = st.MPI_SOURCE;
    m->hdr.unit_id[sizeof m->hdr.unit_id - 1] = '\0';
    if (m->hdr.version != ASW_PROTO_VERSION ||
        m->hdr.payload_len != (uint64_t)count - sizeof m->hdr ||
        m->hdr.type < ASW_MSG_READY || m->hdr.type > ASW_MSG_LAST) {
        asw_error("protocol: bad header from rank %d (version %u, type %u)",
                  st.MPI_SOURCE, m->hdr.version, m->hdr.type);
        free(buf);
        return -1;
    }
    if (m->hdr.payload_len) {
        /* Move the payload to the front and terminate it. */
        memmove(buf, buf + sizeof m->hdr, m->hdr.payload_len);
        buf[m->hdr.payload_len] = '\0';
        m->payload = buf;
    } else {
        free(buf);
    }
    return 0;
}

void asw_msg_free(struct asw_msg *m)
{
    if (!m)
        return;
    free(m->payload);
    m->payload = NULL;
}

int asw_msg_pending(MPI_Comm comm, int source)
{
    int flag = 0;
    MPI_Iprobe(source, ASW_TAG, comm, &flag, MPI_STATUS_IGNORE);
    return flag;
}
