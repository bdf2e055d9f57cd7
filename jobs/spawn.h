/*
 * spawn.h - the subprocess runner: posix_spawn of an argv array (never a
 * shell) in its own process group, stdout and stderr to files, a wall-time
 * limit that kills the whole group, and the wait status decoded into
 * exited / signalled / timed out. Also the environment a child gets (with
 * the MPI launcher's variables removed, so that a child of an MPI rank can
 * start an MPI job of its own) and argv built from a launcher template such
 * as "mpicasa -n {n} casa --nologger --nogui --agg -c {script}".
 */
#ifndef ASW_SPAWN_H
#define ASW_SPAWN_H

#include "src/err.h"

#include <stddef.h>
#include <sys/types.h>

/* A NULL-terminated "NAME=value" array the caller builds and frees. */
struct asw_env {
    char **v; /* owned strings, v[n] == NULL */
    size_t n;
};

/*
 * Fill e with a copy of src (a NULL-terminated "NAME=value" array; NULL
 * means the process's environ). With scrub_mpi, variables for which
 * asw_env_is_mpi_var() holds are left out. Returns 0 or ASW_ENOMEM; e is
 * then empty. Free with asw_env_free.
 */
int asw_env_init(struct asw_env *e, char *const *src, int scrub_mpi);

/* Set (or replace) NAME to value. Returns 0 or ASW_ENOMEM/ASW_EINVAL. */
int asw_env_set(struct asw_env *e, const char *name, const char *value);

/* Remove NAME if present. */
void asw_env_unset(struct asw_env *e, const char *name);

/* The value of NAME in e, or NULL. Borrowed from e. */
const char *asw_env_get(const struct asw_env *e, const char *name);

/* Free what e owns and empty it. Accepts NULL. */
void asw_env_free(struct asw_env *e);

/*
 * Whether NAME=value (or a bare NAME) is a variable an MPI launcher sets
 * for its ranks and that must not reach a child that starts its own MPI
 * job: prefixes OMPI_, PMIX_, PMI_, OPAL_, ORTE_, PRTE_, HYDRA_, HYDI_,
 * MPIR_, I_MPI_, MPI_LOCAL*, except OMPI_ALLOW_RUN_AS_ROOT and
 * OMPI_ALLOW_RUN_AS_ROOT_CONFIRM (a user's choice, needed to run as root).
 */
int asw_env_is_mpi_var(const char *name);

/* One {name} placeholder of a launcher template and its value. */
struct asw_template_var {
    const char *name;
    const char *value;
};

/*
 * Build argv from a launcher template: the template is split on white
 * space into words (no quoting: a word never holds a space), and every
 * {name} in a word is replaced by its value, which stays inside that one
 * argv element whatever it holds (spaces, quotes, ...). "{{" and "}}" are
 * literal braces. An unknown placeholder, an unmatched brace or an empty
 * template is ASW_ECONFIG with err naming it. On success *argv_out is a
 * NULL-terminated array the caller frees with asw_argv_free.
 */
int asw_argv_from_template(const char *tmpl,
                           const struct asw_template_var *vars, size_t n_vars,
                           char ***argv_out, struct asw_err *err);

/* Free an argv from asw_argv_from_template. Accepts NULL. */
void asw_argv_free(char **argv);

enum asw_spawn_status {
    ASW_SPAWN_EXITED = 0,   /* exit_code holds the status */
    ASW_SPAWN_SIGNALED = 1, /* signal holds the signal */
    ASW_SPAWN_TIMEOUT = 2,  /* the wall-time limit killed the group */
};

struct asw_spawn_opts {
    char *const *argv;       /* argv[0] without '/' is looked up in PATH;
                                a relative one with '/' is the caller's */
    char *const *envp;       /* NULL: the process's environ */
    const char *cwd;         /* NULL: inherit */
    const char *stdout_path; /* NULL: /dev/null; created 0644, truncated */
    const char *stderr_path; /* NULL: same file as stdout */
    const char *pid_path;    /* optional: receives the child's pid */
    double time_limit_s;     /* <= 0: no limit */
    double term_grace_s;     /* SIGTERM to SIGKILL, <= 0: 5 s */
};

struct asw_spawn_result {
    enum asw_spawn_status status;
    int exit_code; /* ASW_SPAWN_EXITED */
    int signal;    /* ASW_SPAWN_SIGNALED; the signal that ended it */
    double seconds;
    pid_t pid;
};

/*
 * Run a child to completion: posix_spawn (PATH search for a bare argv[0])
 * in a new process group, with stdout/stderr redirected to files and cwd
 * changed, then wait. When the limit passes, SIGTERM goes to the whole
 * group, SIGKILL after term_grace_s; when the child ends, whatever it
 * left in its group is killed too, so no CASA helper outlives its step.
 * Returns 0 when the child ran (*r says how it ended, including a non-zero
 * exit, a signal or the timeout), or ASW_ECHILD / ASW_EIO / ASW_EINVAL
 * with err when it could not be started (missing executable, unwritable
 * log file, bad cwd). Blocks the calling thread; SIGCHLD must not be
 * ignored by the process.
 */
int asw_spawn_run(const struct asw_spawn_opts *o, struct asw_spawn_result *r,
                  struct asw_err *err);

/* A short English description of r ("exit 3", "killed by signal 9
 * (SIGKILL)", "timed out after 30 s"), into buf of size n. Returns buf. */
char *asw_spawn_describe(const struct asw_spawn_result *r,
                         const struct asw_spawn_opts *o, char *buf, size_t n);

#endif
