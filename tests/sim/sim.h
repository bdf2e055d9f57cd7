/*
 * asw-sim: a loopback ALMA Science Archive simulator (TAP sync, DataLink
 * sync, /dataPortal/ downloads, /sc/flux) with fault injection. It serves the
 * directory described in docs/sim-archive-layout.md.
 *
 * Module map (one concept per file):
 *   buf.c      growing, capped byte buffer; XML escaping; request params
 *   adql.c     ADQL -> SQLite translation and the ADQL LIKE/ILIKE functions
 *   geom.c     ADQL geometry (POINT, CIRCLE, POLYGON, INTERSECTS, ...) as
 *              SQLite functions over STC-S text
 *   tap.c      TAP sync endpoint: runs the query, writes the VOTable
 *   datalink.c DataLink sync endpoint
 *   flux.c     the calibrator flux service /sc/flux
 *   portal.c   /dataPortal/ downloads (Range, HEAD, Basic auth)
 *   faults.c   the fault file, per-request fault decisions, body pacing
 *   server.c   libmicrohttpd glue: routing, POST parsing, request log
 *   main.c     command line, signals, port file
 */
#ifndef ASW_SIM_H
#define ASW_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* Caps on everything that grows from outside input (STYLE.md). */
#define ASW_SIM_MAX_FORM_BYTES  (4u << 20)   /* POST body */
#define ASW_SIM_MAX_REPLY_BYTES (512u << 20) /* one generated reply */
#define ASW_SIM_MAX_PARAMS      256

/* ---- buf.c ------------------------------------------------------------ */

/* A growing byte buffer that refuses to grow past `max` bytes. */
struct asw_sim_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    size_t max;
    int toobig; /* an append was refused because of `max` */
    int oom;
};

void asw_sim_buf_init(struct asw_sim_buf *b, size_t max);
/* Appends; return 0, or -1 (and set toobig/oom) when refused. */
int asw_sim_buf_add(struct asw_sim_buf *b, const char *s, size_t n);
int asw_sim_buf_puts(struct asw_sim_buf *b, const char *s);
int asw_sim_buf_printf(struct asw_sim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) escaped for XML text and attributes. Control
 * characters that XML 1.0 forbids and invalid UTF-8 become '?'. */
int asw_sim_buf_xml(struct asw_sim_buf *b, const char *s, size_t n);
/* Appends s percent-encoded for a URL query value (RFC 3986 unreserved
 * characters stay as they are). */
int asw_sim_buf_urlenc(struct asw_sim_buf *b, const char *s);
/* Hands the data to the caller (free() it) and resets the buffer. */
char *asw_sim_buf_steal(struct asw_sim_buf *b, size_t *len);
void asw_sim_buf_free(struct asw_sim_buf *b);

/* Request parameters (query string and form fields, in arrival order).
 * DAL parameter names are case-insensitive, so lookups are too. */
struct asw_sim_param {
    char *key;
    char *val;
    size_t val_len;
};

struct asw_sim_params {
    struct asw_sim_param *v;
    size_t n;
    size_t cap;
    size_t bytes; /* total value bytes, capped by ASW_SIM_MAX_FORM_BYTES */
};

/* Appends a parameter, or more data to the last value when `append` is set
 * and the key matches (POST values arrive in pieces). Returns 0 or -1. */
int asw_sim_params_add(struct asw_sim_params *p, const char *key,
                       const char *val, size_t len, int append);
/* First value of `key` (case-insensitive), or NULL. Borrowed: lives as
 * long as the params. */
const char *asw_sim_params_get(const struct asw_sim_params *p, const char *key);
void asw_sim_params_free(struct asw_sim_params *p);

/* ---- configuration and replies ---------------------------------------- */

struct asw_sim_config {
    char root[1024];       /* ROOT of docs/sim-archive-layout.md */
    char db_path[1100];    /* ROOT/archive.sqlite */
    char portal_dir[1100]; /* ROOT/dataPortal */
    char host[64];         /* bind address (loopback only) */
    unsigned port;         /* 0: pick a free port */
    char base_url[256];    /* http://host:port, set once bound */
    int datalink_columns;  /* 12 (DataLink 1.1) or 9 (2022 layout) */
    const char *user;      /* Basic auth for proprietary files, or NULL */
    const char *password;
    uint64_t rate_total_bps; /* total bandwidth cap, 0 = none */
    int query_timeout_s;     /* TAP query wall-time limit */
};

/* What an endpoint answers; server.c turns it into an HTTP response. */
struct asw_sim_reply {
    unsigned status;
    const char *content_type; /* static string */
    char *body;               /* owned (malloc), or NULL */
    size_t body_len;
    int fd; /* owned file to send, or -1 */
    uint64_t fd_offset;
    uint64_t fd_length;
    char content_range[96]; /* "" or the Content-Range value */
    char *filename;         /* Content-Disposition name, owned, or NULL */
    int accept_ranges;
    int auth_challenge; /* 401 with WWW-Authenticate: Basic */
    int retry_after_s;  /* > 0: add Retry-After */
};

void asw_sim_reply_init(struct asw_sim_reply *r);
/* Releases what the reply owns; safe on an initialised reply. */
void asw_sim_reply_clear(struct asw_sim_reply *r);
/* Sets a text/plain reply. Returns 0 or -1 (out of memory). */
int asw_sim_reply_text(struct asw_sim_reply *r, unsigned status,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- faults.c ---------------------------------------------------------- */

/* The faults one request gets (merged from every matching rule). */
struct asw_sim_fault {
    unsigned status;      /* answer this status instead, 0 = none */
    int retry_after_s;    /* with status: Retry-After header */
    long latency_ms;      /* delay before the response headers */
    long stall_ms;        /* pause the body once ... */
    uint64_t stall_after; /* ... after this many body bytes */
    uint64_t rate_bps;    /* per-connection bandwidth cap */
    int64_t truncate_at;  /* close (FIN) after N body bytes, -1 = none */
    int64_t drop_after;   /* reset (RST) after N body bytes, -1 = none */
    int hangup;           /* close without any response */
    long xml_redeclare;   /* TAP: 2nd <?xml after N rows, -1 = none */
    int query_error;      /* TAP: HTTP 200 + QUERY_STATUS ERROR */
    char query_error_text[512];
    char applied[128]; /* for the log: "L3:status+latency_ms,L5:..." */
};

/* Per-response pacing state for asw_sim_fault_pace(). */
struct asw_sim_pace {
    int started;
    int stalled;
    int64_t t0_ns;
    uint64_t base_pos;
};

struct asw_sim_faults;

/* Parses a fault file (syntax in docs/sim-archive-layout.md). Returns 0
 * and *out (free with asw_sim_faults_free), or -1 with a message in err.
 * path may be NULL: no rules. */
int asw_sim_faults_load(const char *path, struct asw_sim_faults **out,
                        char *err, size_t errlen);
/* Re-reads the file the rules came from, resetting the counters. On a
 * parse error the old rules stay. Returns 0 or -1 with err. */
int asw_sim_faults_reload(struct asw_sim_faults *f, char *err, size_t errlen);
void asw_sim_faults_free(struct asw_sim_faults *f);
/* Decides the faults of one request. path is the decoded URL path, uri
 * the raw request target (path and query). Thread-safe; counts requests. */
void asw_sim_faults_match(struct asw_sim_faults *f, const char *method,
                          const char *path, const char *uri,
                          struct asw_sim_fault *out);
/* True when the fault needs the body to be paced or cut. */
int asw_sim_fault_shapes_body(const struct asw_sim_fault *f);
/* Called before each body chunk at offset pos; may sleep (stall, rate) and
 * shrink *n. Returns 0 to send *n bytes, or -1 to end the connection now
 * (truncate, drop_after: then the socket sock_fd has been reset). */
int asw_sim_fault_pace(const struct asw_sim_fault *f, struct asw_sim_pace *p,
                       int sock_fd, uint64_t pos, size_t *n);
/* Total bandwidth cap over all connections, 0 = none. Call before
 * serving. */
void asw_sim_set_total_rate(uint64_t bps);
/* Sleeps ms milliseconds, waking early at shutdown. Returns -1 when the
 * server is stopping. */
int asw_sim_sleep_ms(long ms);
/* Makes every pending and future sleep return at once. */
void asw_sim_shutdown_begin(void);

/* ---- adql.c / geom.c --------------------------------------------------- */

/* Translates ADQL into SQLite SQL for the simulator's schema. Returns 0
 * and *out (free() it), or -1 with a message in err. */
int asw_sim_adql_to_sql(const char *adql, char **out, char *err, size_t errlen);
/* Registers the ADQL functions (LIKE with backslash escapes, ILIKE via
 * MATCH, TRUNCATE and the geometry functions) on db. Returns SQLITE_OK
 * or an SQLite error code. */
int asw_sim_adql_register(sqlite3 *db);
int asw_sim_geom_register(sqlite3 *db);

/* ---- endpoints --------------------------------------------------------- */

/* TAP sync (tap.c). Fills reply; returns 0, or -1 on out-of-memory. */
int asw_sim_tap_sync(const struct asw_sim_config *cfg,
                     const struct asw_sim_params *params,
                     const struct asw_sim_fault *fault,
                     struct asw_sim_reply *reply);

/* DataLink sync (datalink.c). authed: the caller sent the configured
 * credentials (sets link_authorized/readable). fault: a query_error fault
 * answers one #error row with its text instead. */
int asw_sim_datalink_sync(const struct asw_sim_config *cfg,
                          const struct asw_sim_params *params, int authed,
                          const struct asw_sim_fault *fault,
                          struct asw_sim_reply *reply);

/* The calibrator flux service /sc/flux (flux.c): NAME, DATE
 * (DD-MonthName-YYYY) and FREQUENCY (Hz), answered from table calflux.
 * Fills reply; returns 0, or -1 on out-of-memory. */
int asw_sim_flux(const struct asw_sim_config *cfg,
                 const struct asw_sim_params *params,
                 struct asw_sim_reply *reply);

/* /dataPortal/<name> (portal.c). range: the Range header or NULL;
 * user/password: decoded Basic credentials or NULL. */
int asw_sim_portal_get(const struct asw_sim_config *cfg, const char *name,
                       const char *range, const char *user,
                       const char *password, struct asw_sim_reply *reply);

/* Opens ROOT/archive.sqlite read-only for one request. Returns SQLITE_OK
 * and *db, or an error with a message in err. */
int asw_sim_db_open(const struct asw_sim_config *cfg, sqlite3 **db, char *err,
                    size_t errlen);

/* ---- server.c ---------------------------------------------------------- */

struct asw_sim_server;

/* Binds and starts serving. cfg is copied (base_url filled in from the
 * bound port); faults is borrowed and must outlive the server; log_fd is
 * -1 or a descriptor opened with O_APPEND. Returns 0 and *out, or -1. */
int asw_sim_server_start(const struct asw_sim_config *cfg,
                         struct asw_sim_faults *faults, int log_fd,
                         struct asw_sim_server **out);
/* Port the server listens on. */
unsigned asw_sim_server_port(const struct asw_sim_server *s);
const char *asw_sim_server_base_url(const struct asw_sim_server *s);
/* Stops serving, waits for connection threads, frees s (NULL is fine). */
void asw_sim_server_stop(struct asw_sim_server *s);

#endif
