#include "cli_util.h"

#include "src/exitcodes.h"

#include <stdio.h>
#include <string.h>

int asw_cli_want_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int asw_cli_bad_usage(const char *cmd, const char *msg)
{
    fprintf(stderr, "almasweep %s: %s (see 'almasweep %s --help')\n", cmd, msg,
            cmd);
    return ASW_EXIT_USAGE;
}

void asw_cli_human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}
