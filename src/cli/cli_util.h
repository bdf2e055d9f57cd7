/*
 * cli_util.h - small helpers shared by the subcommands.
 */
#ifndef ASW_CLI_UTIL_H
#define ASW_CLI_UTIL_H

#include <stddef.h>

/* Whether argv holds --help or -h. */
int asw_cli_want_help(int argc, char **argv);

/* Print "almasweep CMD: MSG (see 'almasweep CMD --help')" to stderr and
 * return ASW_EXIT_USAGE. */
int asw_cli_bad_usage(const char *cmd, const char *msg);

/* Format a byte count as "12.3 GiB" into out. */
void asw_cli_human_bytes(double bytes, char *out, size_t n);

#endif
