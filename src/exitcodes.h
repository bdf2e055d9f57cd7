/*
 * exitcodes.h - the process exit codes of almasweep (docs/almasweep.md,
 * `almasweep --help`). Scripts and batch systems rely on them.
 */
#ifndef ASW_EXITCODES_H
#define ASW_EXITCODES_H

enum asw_exit {
    ASW_EXIT_OK = 0,           /* everything asked for was done */
    ASW_EXIT_USAGE = 1,        /* bad command line or configuration */
    ASW_EXIT_ARCHIVE = 2,      /* the archive query or DataLink failed */
    ASW_EXIT_UNITS_FAILED = 3, /* the sweep ran, some units failed */
    ASW_EXIT_INTERRUPTED = 4,  /* stopped by a signal: rerun to continue */
    ASW_EXIT_CATALOGUE = 5,    /* the catalogue could not be written/read */
    ASW_EXIT_INPUT = 6,        /* an input file could not be read or parsed */
};

#endif
