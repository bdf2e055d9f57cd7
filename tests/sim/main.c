/* asw-sim: command line, signals and the port file. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *fp)
{
    fputs("usage: asw-sim --root DIR [options]\n"
          "\n"
          "Loopback ALMA Science Archive simulator: TAP sync (/tap/sync),\n"
          "DataLink (/datalink/sync), downloads (/dataPortal/<name>), the\n"
          "calibrator flux service (/sc/flux) and /sim/health, served from\n"
          "DIR (docs/sim-archive-layout.md).\n"
          "\n"
          "  --root DIR              archive directory (archive.sqlite,\n"
          "                          dataPortal/)\n"
          "  --host ADDR             loopback address to bind (127.0.0.1)\n"
          "  --port N                port; 0 picks a free one (default 0)\n"
          "  --port-file F           write the bound port to F (atomically)\n"
          "  --log F                 append one line per request to F\n"
          "  --datalink-columns 9|12 DataLink layout (default 12)\n"
          "  --faults F              fault rules (see the docs); SIGHUP\n"
          "                          re-reads the file\n"
          "  --user U --password P   Basic credentials for proprietary files\n"
          "                          (or ASW_SIM_USER / ASW_SIM_PASSWORD)\n"
          "  --rate-total-bps N      bandwidth cap over all connections\n"
          "  --base-url URL          URL put in DataLink answers (default\n"
          "                          http://HOST:PORT)\n"
          "  --query-timeout S       TAP query time limit (default 60)\n"
          "  --exit-with-parent      stop when the parent process dies (for\n"
          "                          test scripts that may be SIGKILLed)\n"
          "  --help                  this text\n"
          "\n"
          "SIGTERM or SIGINT stops the server cleanly.\n",
          fp);
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return -1;
    int bad = fprintf(fp, "%u\n", port) < 0;
    bad |= fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_ROOT = 256,
        O_HOST,
        O_PORT,
        O_PORT_FILE,
        O_LOG,
        O_DL_COLS,
        O_FAULTS,
        O_USER,
        O_PASSWORD,
        O_RATE_TOTAL,
        O_BASE_URL,
        O_QTIMEOUT,
        O_PDEATH,
        O_HELP
    };
    static const struct option opts[] = {
        {"root", required_argument, NULL, O_ROOT},
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"log", required_argument, NULL, O_LOG},
        {"datalink-columns", required_argument, NULL, O_DL_COLS},
        {"faults", required_argument, NULL, O_FAULTS},
        {"user", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASSWORD},
        {"rate-total-bps", required_argument, NULL, O_RATE_TOTAL},
        {"base-url", required_argument, NULL, O_BASE_URL},
        {"query-timeout", required_argument, NULL, O_QTIMEOUT},
        {"exit-with-parent", no_argument, NULL, O_PDEATH},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct asw_sim_config cfg;
    const char *root = NULL, *port_file = NULL, *log_path = NULL;
    const char *faults_path = NULL;
    uint64_t v;
    int c, rc = 1, log_fd = -1, exit_with_parent = 0;
    pid_t parent = getppid();
    struct asw_sim_faults *faults = NULL;
    struct asw_sim_server *srv = NULL;
    char err[512];

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
    cfg.datalink_columns = 12;
    cfg.query_timeout_s = 60;
    cfg.user = getenv("ASW_SIM_USER");
    cfg.password = getenv("ASW_SIM_PASSWORD");

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_ROOT:
            root = optarg;
            break;
        case O_HOST:
            snprintf(cfg.host, sizeof(cfg.host), "%s", optarg);
            break;
        case O_PORT:
            if (parse_u64(optarg, &v) || v > 65535) {
                fprintf(stderr, "asw-sim: bad --port %s\n", optarg);
                return 2;
            }
            cfg.port = (unsigned)v;
            break;
        case O_PORT_FILE:
            port_file = optarg;
            break;
        case O_LOG:
            log_path = optarg;
            break;
        case O_DL_COLS:
            if (strcmp(optarg, "9") == 0) {
                cfg.datalink_columns = 9;
            } else if (strcmp(optarg, "12") == 0) {
                cfg.datalink_columns = 12;
            } else {
                fprintf(stderr, "asw-sim: --datalink-columns is 9 or 12\n");
                return 2;
            }
            break;
        case O_FAULTS:
            faults_path = optarg;
            break;
        case O_USER:
            cfg.user = optarg;
            break;
        case O_PASSWORD:
            cfg.password = optarg;
            break;
        case O_RATE_TOTAL:
            if (parse_u64(optarg, &cfg.rate_total_bps)) {
                fprintf(stderr, "asw-sim: bad --rate-total-bps %s\n", optarg);
                return 2;
            }
            break;
        case O_BASE_URL:
            snprintf(cfg.base_url, sizeof(cfg.base_url), "%s", optarg);
            /* No trailing slash: paths are appended to it. */
            for (size_t n = strlen(cfg.base_url);
                 n > 0 && cfg.base_url[n - 1] == '/'; n--)
                cfg.base_url[n - 1] = '\0';
            break;
        case O_QTIMEOUT:
            if (parse_u64(optarg, &v) || v == 0 || v > 86400) {
                fprintf(stderr, "asw-sim: bad --query-timeout %s\n", optarg);
                return 2;
            }
            cfg.query_timeout_s = (int)v;
            break;
        case O_PDEATH:
            exit_with_parent = 1;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!root || optind != argc) {
        usage(stderr);
        return 2;
    }
    if ((cfg.user == NULL) != (cfg.password == NULL)) {
        fprintf(stderr, "asw-sim: --user and --password go together\n");
        return 2;
    }
    struct stat sb;
    if (stat(root, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "asw-sim: --root %s is not a directory\n", root);
        return 2;
    }
    snprintf(cfg.root, sizeof(cfg.root), "%s", root);
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/archive.sqlite", root);
    snprintf(cfg.portal_dir, sizeof(cfg.portal_dir), "%s/dataPortal", root);
    if (access(cfg.db_path, R_OK) != 0)
        fprintf(stderr, "asw-sim: warning: %s: %s\n", cfg.db_path,
                strerror(errno));

    if (asw_sim_faults_load(faults_path, &faults, err, sizeof(err))) {
        fprintf(stderr, "asw-sim: faults: %s\n", err);
        return 2;
    }
    if (log_path) {
        log_fd =
            open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            fprintf(stderr, "asw-sim: %s: %s\n", log_path, strerror(errno));
            goto out;
        }
    }
    asw_sim_set_total_rate(cfg.rate_total_bps);

    /* Signals are taken synchronously by this thread; the server threads
     * inherit the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (exit_with_parent) {
        /* SIGTERM (taken by sigwait below) when the parent dies; the
         * getppid() check covers a parent that died before prctl(). */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
            fprintf(stderr, "asw-sim: parent gone, not starting\n");
            goto out;
        }
    }

    if (asw_sim_server_start(&cfg, faults, log_fd, &srv))
        goto out;
    if (port_file && write_port_file(port_file, asw_sim_server_port(srv))) {
        fprintf(stderr, "asw-sim: cannot write %s: %s\n", port_file,
                strerror(errno));
        goto out;
    }
    fprintf(stderr, "asw-sim: serving %s on %s\n", root,
            asw_sim_server_base_url(srv));

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (asw_sim_faults_reload(faults, err, sizeof(err)))
                fprintf(stderr, "asw-sim: faults not reloaded: %s\n", err);
            else
                fprintf(stderr, "asw-sim: faults reloaded\n");
            continue;
        }
        fprintf(stderr, "asw-sim: signal %d, stopping\n", sig);
        break;
    }
    rc = 0;
out:
    asw_sim_server_stop(srv);
    asw_sim_faults_free(faults);
    if (log_fd >= 0)
        close(log_fd);
    return rc;
}
