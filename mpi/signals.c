/* signals.c - stop signals as a polled flag (signals.h). */
#include "signals.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int stop_signals[] = {SIGTERM, SIGINT, SIGUSR1};
#define N_STOP (int)(sizeof stop_signals / sizeof *stop_signals)

static volatile sig_atomic_t count;
static volatile sig_atomic_t first;
static struct sigaction saved[N_STOP];
static int installed;

static void on_signal(int sig)
{
    if (!first)
        first = sig;
    if (count < 1000)
        count++;
    if (count >= 3) {
        /* The user insists: die of the signal as if unhandled. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

int asw_signals_install(void)
{
    if (installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Restart system calls: the loops poll the flag anyway, and libraries
     * (curl, HDF5, MPI) need not see EINTR. */
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < N_STOP; i++)
        if (sigaction(stop_signals[i], &sa, &saved[i]) != 0)
            return -1;
    installed = 1;
    return 0;
}

void asw_signals_restore(void)
{
    if (!installed)
        return;
    for (int i = 0; i < N_STOP; i++)
        sigaction(stop_signals[i], &saved[i], NULL);
    installed = 0;
}

int asw_signals_count(void)
{
    return count;
}

int asw_signals_first(void)
{
    return first;
}

void asw_signals_block_thread(void)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < N_STOP; i++)
        sigaddset(&set, stop_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int asw_signal_children(int sig)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t me = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == me)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* pid (comm) state ppid pgrp ...; comm may hold spaces and ')'. */
        char *rp = strrchr(buf, ')');
        char state;
        long ppid, pgrp;
        if (!rp || sscanf(rp + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3 ||
            ppid != me)
            continue;
        if (kill(pgrp == pid ? -(pid_t)pid : (pid_t)pid, sig) == 0)
            n++;
    }
    closedir(d);
    return n;
}
