/*
 * signals.h - the stop signals of a sweep: SIGTERM, SIGINT and SIGUSR1
 * (Slurm's --signal, relayed by srun and mpirun) only set a flag; the
 * master and worker loops poll it (docs/protocol.md, "Stopping"). Also
 * the stop of a rank's children (CASA runs in process groups of its own).
 */
#ifndef ASW_SIGNALS_H
#define ASW_SIGNALS_H

/*
 * Install the handlers (once per process, before any thread starts).
 * The third signal restores the default action and re-raises it, so that
 * a sweep that does not stop can still be killed from the keyboard.
 * Returns 0 or -1 (sigaction failed).
 */
int asw_signals_install(void);

/* Put the default actions back. */
void asw_signals_restore(void);

/* How many stop signals arrived so far (async-signal-safe counter). */
int asw_signals_count(void);

/* The first stop signal that arrived, or 0. */
int asw_signals_first(void);

/* Block the stop signals in the calling thread (helper threads call it, so
 * that the main thread takes them and system calls elsewhere are not cut
 * short). */
void asw_signals_block_thread(void);

/*
 * Send sig to every direct child of this process, to its whole process
 * group when it leads one (jobs/spawn.c starts CASA that way). Reads
 * /proc; returns the number of children signalled (0 where /proc is
 * missing).
 */
int asw_signal_children(int sig);

#endif
