/*
 * casa_version.c - asw_casa_version() for provenance: runs the version
 * step once through the configured launcher and caches the answer.
 *   asw-casa-version PYTHON WORKDIR
 * prints the version twice (the second from the cache) and the time each
 * call took; exit 0 if both agree and the second was cached.
 */
#include "jobs/casa.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: asw-casa-version PYTHON WORKDIR\n");
        return 2;
    }
    struct asw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (asw_casa_config_defaults(&cfg.casa) ||
        asw_casa_config_set(&cfg.casa, "python", argv[1]) != 1)
        return 2;
    char v1[128], v2[128];
    struct asw_err err = {0};
    double t0 = now_s();
    int rc = asw_casa_version(&cfg, argv[2], v1, sizeof v1, &err);
    double t1 = now_s();
    if (rc) {
        fprintf(stderr, "asw_casa_version: %s\n", err.msg);
        asw_casa_config_free(&cfg.casa);
        return 1;
    }
    rc = asw_casa_version(&cfg, argv[2], v2, sizeof v2, &err);
    double t2 = now_s();
    printf("%s\n%s\nfirst %.2f s, second %.4f s\n", v1, v2, t1 - t0, t2 - t1);
    asw_casa_config_free(&cfg.casa);
    return rc == 0 && strcmp(v1, v2) == 0 && t2 - t1 < 0.1 && v1[0] ? 0 : 1;
}
