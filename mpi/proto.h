/*
 * proto.h - the MPI message protocol between master (rank 0) and workers
 * (docs/protocol.md). Every message is one MPI_BYTE message on tag
 * ASW_TAG on the sweep's own communicator: a fixed header followed by a
 * payload (JSON text) whose length the header states. Receivers size the
 * buffer with MPI_Probe + MPI_Get_count. No pointers travel.
 */
#ifndef ASW_PROTO_H
#define ASW_PROTO_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define ASW_PROTO_VERSION 2u
#define ASW_TAG           7101
#define ASW_MAX_PAYLOAD   ((size_t)64 << 20)

enum asw_msg_type {
    ASW_MSG_READY = 1,      /* worker -> master: started, give me work */
    ASW_MSG_RESULT = 2,     /* worker -> master: result of a unit */
    ASW_MSG_WORK = 3,       /* master -> worker: a unit to fetch, process */
    ASW_MSG_STOP = 4,       /* master -> worker: no more work, exit */
    ASW_MSG_ABORT = 5,      /* master -> worker: interrupt the units held */
    ASW_MSG_SLOT_REQ = 6,   /* worker -> master: a download slot, please */
    ASW_MSG_SLOT_GRANT = 7, /* master -> worker: here it is */
    ASW_MSG_SLOT_REL = 8,   /* worker -> master: slot given back */
    ASW_MSG_SIGNAL = 9,     /* worker -> master: a stop signal came */
    ASW_MSG_BYE = 10,       /* worker -> master: stopped; the last message */
};
#define ASW_MSG_LAST ASW_MSG_BYE

struct asw_msg_hdr {
    uint32_t version;
    uint32_t type;
    int32_t status; /* RESULT: asw_status; SLOT_REL: the transfer's rc;
                       SIGNAL: the signal; 0 otherwise */
    uint32_t reserved;
    char unit_id[64];     /* NUL-terminated */
    uint64_t payload_len; /* bytes following the header */
};

struct asw_msg {
    struct asw_msg_hdr hdr;
    char *payload; /* NUL-terminated copy of the payload (owned), or NULL */
    int source;    /* sender rank */
};

/*
 * Send one message. payload may be NULL (it is copied). The send is
 * non-blocking (MPI_Isend): the loops call asw_msg_progress() to complete
 * sends, and asw_msg_flush() before leaving; a rank that sends while its
 * peer sends to it never waits for the peer. Main thread only. Returns 0
 * or an MPI error class.
 */
int asw_msg_send(MPI_Comm comm, int dest, enum asw_msg_type type,
                 int32_t status, const char *unit_id, const char *payload,
                 size_t len);

/*
 * Receive the next message from source (MPI_ANY_SOURCE allowed) into *m.
 * A message that is too short, has another version, or a payload length
 * that disagrees with its size is a protocol violation: returns -1 with
 * a log line (the caller aborts). Free with asw_msg_free.
 */
int asw_msg_recv(MPI_Comm comm, int source, struct asw_msg *m);

/* Complete the sends MPI has finished and free their buffers. Returns the
 * number still in flight. */
size_t asw_msg_progress(void);

/* Wait for every send in flight (the peers must be receiving). */
void asw_msg_flush(void);

/* Free the payload of *m. Accepts NULL. */
void asw_msg_free(struct asw_msg *m);

/* Whether a message from source (MPI_ANY_SOURCE allowed) is waiting
 * (MPI_Iprobe): the loops poll instead of blocking, so that they can
 * serve their helper threads and signals too. */
int asw_msg_pending(MPI_Comm comm, int source);

#endif
