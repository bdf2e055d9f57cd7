/* almasweep fetch: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "io/download.h"
#include "io/untar.h"
#include "jobs/pipeline.h"
#include "src/exitcodes.h"
#include "src/log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char fetch_help[] =
    "usage: almasweep fetch URL... --dest DIR [options]\n"
    "\n"
    "Download files the way a sweep does: into DIR/<name>.part, resumed with\n"
    "a Range request after a failure, the size checked against the server\n"
    "(and --size), renamed into place only when complete; transient failures\n"
    "(timeouts, resets, 5xx) retried with backoff, permanent ones (404, 401,\n"
    "size mismatch, disk full) not. Large files are fetched as parallel byte\n"
    "ranges, each resumable (DIR/<name>.part.state). Tars can be extracted\n"
    "safely (no absolute paths, no '..', no symlink escapes, capped sizes).\n"
    "Progress (bytes, rate) goes to stderr. Rerun the same command to resume.\n"
    "\n"
    "options:\n"
    "  -d, --dest DIR          destination directory (created with its\n"
    "                          parents; required)\n"
    "  -x, --extract           extract each .tar/.tgz/.tar.gz into DIR once\n"
    "                          it is complete, then delete it\n"
    "      --extract-during    extract while the tar downloads (implies -x)\n"
    "      --keep-tar          keep the tar after extracting it\n"
    "  -s, --segments N        parallel byte ranges per file (1-32, default\n"
    "                          4; 1 = one stream)\n"
    "      --min-segment SIZE  smallest range (default 64M): files under\n"
    "                          twice this are fetched as one stream\n"
    "      --size BYTES        expected size (as DataLink announces it); one\n"
    "                          URL only. A file that differs fails\n"
    "      --retries N         retries per file or segment (default 5)\n"
    "      --backoff S         first retry delay, doubling up to 60 s, with\n"
    "                          jitter (default 1)\n"
    "      --connect-timeout S connection timeout (default 30)\n"
    "      --low-speed-time S  abandon an attempt slower than\n"
    "      --low-speed-limit B B bytes/s for S seconds (default 1 B/s, 120 s)\n"
    "      --mirror URL        a mirror base URL (repeat for several): a URL\n"
    "                          under one of them fails over to the others\n"
    "      --netrc FILE        credentials file (default ~/.netrc)\n"
    "      --ca-file FILE      CA certificates (PEM) to verify the servers\n"
    "                          with instead of the system's bundle, e.g.\n"
    "                          for a proxy with an institutional CA\n"
    "      --user-env VAR      HTTP Basic user and password from these\n"
    "      --password-env VAR  environment variables (never logged)\n"
    "  -q, --quiet             no progress display\n"
    "  -h, --help              this text\n"
    "SIZE takes k, M, G suffixes (powers of 1024).\n"
    "\n"
    "examples:\n"
    "  almasweep fetch --dest /scratch/x --extract \\\n"
    "    https://almascience.eso.org/dataPortal/"
    "2017.1.01185.S_uid___A001_X12a3_Xe9_001_of_001.tar\n"
    "  almasweep fetch -d . -s 8 https://almascience.nrao.edu/dataPortal/"
    "uid___A002_Xd28a9e_X71b8.asdm.sdm.tar\n"
    "\n"
    "exit codes: 0 every file fetched (and extracted); 1 bad usage; 3 some\n"
    "file failed (the message says why, e.g. 'scratch full', 'size\n"
    "mismatch', an unsafe tar entry); 4 interrupted (SIGINT/SIGTERM), rerun\n"
    "to resume.\n";

#define MAX_MIRRORS 16

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct display {
    const char *name;
    int tty;
    int quiet;
    double last;
    int shown; /* a \r line is on screen */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int show_progress(void *user, int64_t now, int64_t total, double bps)
{
    struct display *d = user;
    if (stop_requested)
        return 1;
    double t = now_s();
    /* A terminal gets a live line; a log file a line every 5 s. */
    if (d->quiet || t - d->last < (d->tty ? 0.5 : 5.0))
        return 0;
    d->last = t;
    char have[32], all[32], rate[32];
    asw_cli_human_bytes((double)now, have, sizeof have);
    asw_cli_human_bytes(total >= 0 ? (double)total : 0, all, sizeof all);
    asw_cli_human_bytes(bps, rate, sizeof rate);
    double pct = total > 0 ? 100.0 * (double)now / (double)total : 0;
    fprintf(stderr, "%s%-36.36s %10s / %-10s %5.1f%% %10s/s%s",
            d->tty ? "\r" : "", d->name, have, total >= 0 ? all : "?", pct,
            rate, d->tty ? "" : "\n");
    d->shown = d->tty;
    return 0;
}

/* mkdir -p. Returns 0 or -1 with errno set. */
static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The file name a URL stands for: its last path component. */
static int url_name(const char *url, char *out, size_t n)
{
    size_t end = strcspn(url, "?#");
    const char *scheme = strstr(url, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    if (!path || (size_t)(path - url) >= end)
        return -1;
    const char *slash = path;
    for (const char *p = path; p < url + end; p++)
        if (*p == '/')
            slash = p;
    size_t len = (size_t)(url + end - slash - 1);
    if (len == 0 || len >= n || slash[1] == '.')
        return -1;
    memcpy(out, slash + 1, len);
    out[len] = '\0';
    return 0;
}

static int is_tar(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".tar") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".tgz") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".tar.gz") == 0);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (LLONG_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

struct opts {
    const char *dest;
    enum asw_extract_mode extract;
    int keep_tar;
    long segments;
    long long min_segment;
    long long size;
    long retries;
    double backoff;
    long connect_timeout;
    long low_speed_time;
    long low_speed_limit;
    const char *mirrors[MAX_MIRRORS];
    int n_mirrors;
    const char *netrc;
    const char *ca_file; /* absolute, NULL: the system's CAs */
    const char *user_env, *password_env;
    int quiet;
};

/* Fetch (and extract) one URL. Returns an ASW_E* code. */
static int fetch_one(struct asw_dl_ctx *ctx, const struct opts *o,
                     const char *dest_dir, const char *url)
{
    char name[256], dest[PATH_MAX + 300], show[512];
    asw_dl_safe_url(url, show, sizeof show);
    if (url_name(url, name, sizeof name) != 0) {
        fprintf(stderr,
                "almasweep fetch: %s: no usable file name in the "
                "URL\n",
                show);
        return ASW_EINVAL;
    }
    snprintf(dest, sizeof dest, "%s/%s", dest_dir, name);
    struct asw_err err = {0};
    if (o->size >= 0) {
        int64_t need = o->extract != ASW_EXTRACT_NONE ? 2 * o->size : o->size;
        int rc = asw_pipeline_scratch_check(dest_dir, need, 0, &err);
        if (rc) {
            char msg[ASW_ERR_MSG_MAX + 32];
            fprintf(stderr, "almasweep fetch: %s: %s\n", name,
                    asw_err_format(&err, msg, sizeof msg));
            return rc;
        }
    }
    struct display d = {name, isatty(STDERR_FILENO), o->quiet, now_s(), 0};
    struct asw_dl_request req;
    asw_dl_request_init(&req, url, dest);
    req.expected_bytes = o->size;
    req.max_retries = (int)o->retries;
    req.backoff_initial_s = o->backoff;
    req.connect_timeout_s = o->connect_timeout;
    req.low_speed_time_s = o->low_speed_time;
    req.low_speed_limit_bps = o->low_speed_limit;
    req.mirrors = o->mirrors;
    req.n_mirrors = o->n_mirrors;
    req.netrc_file = o->netrc;
    req.ca_file = o->ca_file;
    req.user_env = o->user_env;
    req.password_env = o->password_env;
    req.segments = (int)o->segments;
    req.min_segment_bytes = o->min_segment;
    req.progress = show_progress;
    req.progress_user = &d;
    req.progress_interval_s = 0.25;
    enum asw_extract_mode mode = is_tar(name) ? o->extract : ASW_EXTRACT_NONE;
    struct asw_untar_limits lim;
    asw_untar_limits_init(&lim);
    lim.remove_on_error = 1;
    struct asw_dl_stats st;
    struct asw_untar_stats ust;
    double t0 = now_s();
    int rc = asw_pipeline_fetch_file(ctx, &req, mode, dest_dir, &lim,
                                     !o->keep_tar, &st, &ust, &err);
    double dt = now_s() - t0;
    if (d.shown)
        fputc('\n', stderr);
    if (rc) {
        if (rc == ASW_ENOSPC && strncmp(err.msg, "scratch full", 12) != 0) {
            /* asw_err_set writes over err: copy what it reads first. */
            char m[ASW_ERR_MSG_MAX], mod[ASW_ERR_MODULE_MAX];
            snprintf(m, sizeof m, "%s", err.msg);
            snprintf(mod, sizeof mod, "%s", err.module);
            asw_err_set(&err, rc, mod, "scratch full: %.*s",
                        ASW_ERR_MSG_MAX - 20, m);
        }
        char msg[ASW_ERR_MSG_MAX + 32];
        fprintf(stderr, "almasweep fetch: %s: %s %s\n", name,
                rc == ASW_EINTR ? "interrupted:" : "failed:",
                asw_err_format(&err, msg, sizeof msg));
        return rc;
    }
    char size[32], rate[32];
    asw_cli_human_bytes((double)st.size_bytes, size, sizeof size);
    asw_cli_human_bytes((double)st.bytes_transferred / (st.seconds + 1e-9),
                        rate, sizeof rate);
    fprintf(stderr,
            "almasweep fetch: %s: %s (%lld bytes) in %.2f s, %s/s; %d "
            "requests, %d segment%s, %lld bytes resumed\n",
            name, size, (long long)st.size_bytes, st.seconds, rate, st.attempts,
            st.segments, st.segments == 1 ? "" : "s",
            (long long)st.bytes_resumed);
    if (mode != ASW_EXTRACT_NONE) {
        fprintf(stderr,
                "almasweep fetch: %s: extracted %llu entries (%llu bytes); "
                "%.2f s with the download; files by area:",
                name, (unsigned long long)ust.entries,
                (unsigned long long)ust.bytes, dt);
        for (int a = 0; a < ASW_ALMA_N_AREAS; a++)
            if (ust.files_by_area[a])
                fprintf(stderr, " %s %llu", asw_alma_area_name(a),
                        (unsigned long long)ust.files_by_area[a]);
        fputc('\n', stderr);
    }
    return 0;
}

int asw_cmd_fetch(int argc, char **argv)
{
    if (asw_cli_want_help(argc, argv)) {
        fputs(fetch_help, stdout);
        return ASW_EXIT_OK;
    }
    enum {
        O_DURING = 256,
        O_KEEP,
        O_MINSEG,
        O_SIZE,
        O_RETRIES,
        O_BACKOFF,
        O_CONNECT,
        O_LSTIME,
        O_LSLIMIT,
        O_MIRROR,
        O_NETRC,
        O_CAFILE,
        O_UENV,
        O_PENV,
    };
    static const struct option opts[] = {
        {"dest", required_argument, 0, 'd'},
        {"extract", no_argument, 0, 'x'},
        {"extract-during", no_argument, 0, O_DURING},
        {"keep-tar", no_argument, 0, O_KEEP},
        {"segments", required_argument, 0, 's'},
        {"min-segment", required_argument, 0, O_MINSEG},
        {"size", required_argument, 0, O_SIZE},
        {"retries", required_argument, 0, O_RETRIES},
        {"backoff", required_argument, 0, O_BACKOFF},
        {"connect-timeout", required_argument, 0, O_CONNECT},
        {"low-speed-time", required_argument, 0, O_LSTIME},
        {"low-speed-limit", required_argument, 0, O_LSLIMIT},
        {"mirror", required_argument, 0, O_MIRROR},
        {"netrc", required_argument, 0, O_NETRC},
        {"ca-file", required_argument, 0, O_CAFILE},
        {"user-env", required_argument, 0, O_UENV},
        {"password-env", required_argument, 0, O_PENV},
        {"quiet", no_argument, 0, 'q'},
        {0, 0, 0, 0}};
    struct opts o = {.segments = 4,
                     .min_segment = 64LL << 20,
                     .size = -1,
                     .retries = 5,
                     .backoff = 1.0,
                     .connect_timeout = 30,
                     .low_speed_time = 120,
                     .low_speed_limit = 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:xs:q", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd':
            o.dest = optarg;
            break;
        case 'x':
            if (o.extract == ASW_EXTRACT_NONE)
                o.extract = ASW_EXTRACT_AFTER;
            break;
        case O_DURING:
            o.extract = ASW_EXTRACT_DURING;
            break;
        case O_KEEP:
            o.keep_tar = 1;
            break;
        case 's':
            bad = parse_int(optarg, 1, 32, &o.segments);
            break;
        case O_MINSEG:
            bad = parse_size(optarg, &o.min_segment) || o.min_segment < 1;
            break;
        case O_SIZE:
            bad = parse_size(optarg, &o.size);
            break;
        case O_RETRIES:
            bad = parse_int(optarg, 0, 100, &o.retries);
            break;
        case O_BACKOFF: {
            char *end;
            errno = 0;
            o.backoff = strtod(optarg, &end);
            bad = errno || end == optarg || *end || !(o.backoff > 0) ||
                  o.backoff > 3600;
            break;
        }
        case O_CONNECT:
            bad = parse_int(optarg, 1, 3600, &o.connect_timeout);
            break;
        case O_LSTIME:
            bad = parse_int(optarg, 1, 86400, &o.low_speed_time);
            break;
        case O_LSLIMIT:
            bad = parse_int(optarg, 1, LONG_MAX, &o.low_speed_limit);
            break;
        case O_MIRROR:
            if (o.n_mirrors == MAX_MIRRORS)
                return asw_cli_bad_usage("fetch", "too many --mirror");
            o.mirrors[o.n_mirrors++] = optarg;
            break;
        case O_NETRC:
            o.netrc = optarg;
            break;
        case O_CAFILE:
            o.ca_file = optarg;
            break;
        case O_UENV:
            o.user_env = optarg;
            break;
        case O_PENV:
            o.password_env = optarg;
            break;
        case 'q':
            o.quiet = 1;
            break;
        default:
            return asw_cli_bad_usage("fetch", "unknown option");
        }
        if (bad) {
            char m[160];
            snprintf(m, sizeof m, "bad value '%.100s'", optarg);
            return asw_cli_bad_usage("fetch", m);
        }
    }
    if (!o.dest)
        return asw_cli_bad_usage("fetch", "--dest DIR is required");
    if (optind >= argc)
        return asw_cli_bad_usage("fetch", "give at least one URL");
    if (o.size >= 0 && argc - optind > 1)
        return asw_cli_bad_usage("fetch", "--size needs exactly one URL");
    if (!o.user_env != !o.password_env)
        return asw_cli_bad_usage("fetch",
                                 "--user-env and --password-env go together");
    for (int i = optind; i < argc; i++) {
        char name[256];
        if (strncmp(argv[i], "http://", 7) && strncmp(argv[i], "https://", 8))
            return asw_cli_bad_usage("fetch", "URLs must be http or https");
        if (url_name(argv[i], name, sizeof name))
            return asw_cli_bad_usage("fetch", "a URL has no file name");
    }
    /* Absolute for the same reason as the destination below; a file that
     * cannot be read is a usage error, not a TLS failure per URL. */
    char ca_file[PATH_MAX];
    if (o.ca_file) {
        struct stat sb;
        const char *why = NULL;
        if (!realpath(o.ca_file, ca_file) || access(ca_file, R_OK) != 0)
            why = strerror(errno);
        else if (stat(ca_file, &sb) != 0 || !S_ISREG(sb.st_mode))
            why = "not a regular file";
        if (why) {
            char m[PATH_MAX + 64];
            snprintf(m, sizeof m, "--ca-file %.*s: %s", PATH_MAX - 1, o.ca_file,
                     why);
            return asw_cli_bad_usage("fetch", m);
        }
        o.ca_file = ca_file;
    }
    if (mkdir_p(o.dest) != 0) {
        fprintf(stderr, "almasweep fetch: cannot create %s: %s\n", o.dest,
                strerror(errno));
        return ASW_EXIT_UNITS_FAILED;
    }
    /* Absolute: extraction during a download changes the working
     * directory while the download runs. */
    char dest[PATH_MAX];
    if (!realpath(o.dest, dest)) {
        fprintf(stderr, "almasweep fetch: %s: %s\n", o.dest, strerror(errno));
        return ASW_EXIT_UNITS_FAILED;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct asw_err err = {0};
    if (asw_dl_global_init(&err)) {
        fprintf(stderr, "almasweep fetch: %s\n", err.msg);
        return ASW_EXIT_UNITS_FAILED;
    }
    struct asw_dl_ctx *ctx = asw_dl_ctx_new();
    if (!ctx) {
        fprintf(stderr, "almasweep fetch: out of memory\n");
        return ASW_EXIT_UNITS_FAILED;
    }
    int failed = 0, interrupted = 0;
    for (int i = optind; i < argc && !stop_requested; i++) {
        int rc = fetch_one(ctx, &o, dest, argv[i]);
        if (rc == ASW_EINTR)
            interrupted = 1;
        else if (rc)
            failed++;
    }
    asw_dl_ctx_free(ctx);
    asw_dl_global_cleanup();
    if (interrupted || stop_requested)
        return ASW_EXIT_INTERRUPTED;
    return failed ? ASW_EXIT_UNITS_FAILED : ASW_EXIT_OK;
}
