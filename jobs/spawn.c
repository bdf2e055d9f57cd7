/* posix_spawn_file_actions_addchdir_np is a GNU extension (glibc 2.29). */
#define _GNU_SOURCE

#include "spawn.h"

#include "src/buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MOD "spawn"

/* Caps on what comes from configuration (a template) or the environment. */
#define MAX_ARGV_WORDS 256
#define MAX_WORD_BYTES 8192

/* ---- environment ---------------------------------------------------- */

int asw_env_is_mpi_var(const char *name)
{
    static const char *const keep[] = {"OMPI_ALLOW_RUN_AS_ROOT=",
                                       "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="};
    static const char *const prefixes[] = {
        "OMPI_",           "PMIX_",          "PMI_",  "OPAL_", "ORTE_",
        "PRTE_",           "HYDRA_",         "HYDI_", "MPIR_", "I_MPI_",
        "MPI_LOCALNRANKS", "MPI_LOCALRANKID"};
    size_t nlen = strcspn(name, "=");
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        size_t k = strlen(keep[i]) - 1; /* without '=' */
        if (nlen == k && strncmp(name, keep[i], k) == 0)
            return 0;
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t k = strlen(prefixes[i]);
        if (nlen >= k && strncmp(name, prefixes[i], k) == 0)
            return 1;
    }
    return 0;
}

void asw_env_free(struct asw_env *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

static int env_push(struct asw_env *e, char *s)
{
    char **v = realloc(e->v, (e->n + 2) * sizeof *v);
    if (!v) {
        free(s);
        return ASW_ENOMEM;
    }
    e->v = v;
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
    return 0;
}

int asw_env_init(struct asw_env *e, char *const *src, int scrub_mpi)
{
    e->v = calloc(1, sizeof *e->v);
    e->n = 0;
    if (!e->v)
        return ASW_ENOMEM;
    if (!src)
        src = environ;
    for (size_t i = 0; src && src[i]; i++) {
        if (!strchr(src[i], '=') || (scrub_mpi && asw_env_is_mpi_var(src[i])))
            continue;
        char *s = strdup(src[i]);
        if (!s || env_push(e, s)) {
            asw_env_free(e);
            return ASW_ENOMEM;
        }
    }
    return 0;
}

static ssize_t env_find(const struct asw_env *e, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], name, k) == 0 && e->v[i][k] == '=')
            return (ssize_t)i;
    return -1;
}

const char *asw_env_get(const struct asw_env *e, const char *name)
{
    ssize_t i = env_find(e, name);
    return i < 0 ? NULL : e->v[i] + strlen(name) + 1;
}

void asw_env_unset(struct asw_env *e, const char *name)
{
    ssize_t i = env_find(e, name);
    if (i < 0)
        return;
    free(e->v[i]);
    memmove(&e->v[i], &e->v[i + 1], (e->n - (size_t)i) * sizeof *e->v);
    e->n--;
}

int asw_env_set(struct asw_env *e, const char *name, const char *value)
{
    if (!*name || strchr(name, '='))
        return ASW_EINVAL;
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);
    if (!s)
        return ASW_ENOMEM;
    snprintf(s, len, "%s=%s", name, value);
    ssize_t i = env_find(e, name);
    if (i >= 0) {
        free(e->v[i]);
        e->v[i] = s;
        return 0;
    }
    return env_push(e, s);
}

/* ---- launcher templates --------------------------------------------- */

void asw_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

/* Expand the placeholders of one word into b. */
static int expand_word(struct asw_buf *b, const char *w, size_t wlen,
                       const struct asw_template_var *vars, size_t n_vars,
                       const char *tmpl, struct asw_err *err)
{
    for (size_t i = 0; i < wlen;) {
        int rc = 0;
        if (w[i] == '{' && i + 1 < wlen && w[i + 1] == '{') {
            rc = asw_buf_append(b, "{", 1);
            i += 2;
        } else if (w[i] == '}' && i + 1 < wlen && w[i + 1] == '}') {
            rc = asw_buf_append(b, "}", 1);
            i += 2;
        } else if (w[i] == '}') {
            return asw_err_set(err, ASW_ECONFIG, MOD,
                               "launcher template '%s': unmatched '}'", tmpl);
        } else if (w[i] == '{') {
            const char *end = memchr(w + i, '}', wlen - i);
            if (!end)
                return asw_err_set(err, ASW_ECONFIG, MOD,
                                   "launcher template '%s': unmatched '{'",
                                   tmpl);
            size_t k = (size_t)(end - (w + i + 1));
            const struct asw_template_var *v = NULL;
            for (size_t j = 0; j < n_vars && !v; j++)
                if (strlen(vars[j].name) == k &&
                    strncmp(vars[j].name, w + i + 1, k) == 0)
                    v = &vars[j];
            if (!v)
                return asw_err_set(err, ASW_ECONFIG, MOD,
                                   "launcher template '%s': unknown "
                                   "placeholder {%.*s}",
                                   tmpl, (int)k, w + i + 1);
            rc = asw_buf_puts(b, v->value ? v->value : "");
            i += k + 2;
        } else {
            rc = asw_buf_append(b, &w[i], 1);
            i++;
        }
        if (rc)
            return asw_err_set(err, rc, MOD,
                               "launcher template '%s': word too long", tmpl);
    }
    return 0;
}

int asw_argv_from_template(const char *tmpl,
                           const struct asw_template_var *vars, size_t n_vars,
                           char ***argv_out, struct asw_err *err)
{
    *argv_out = NULL;
    char **argv = calloc(MAX_ARGV_WORDS + 1, sizeof *argv);
    if (!argv)
        return asw_err_set(err, ASW_ENOMEM, MOD, "out of memory");
    size_t n = 0;
    int rc = 0;
    const char *p = tmpl;
    while (*p && !rc) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n == MAX_ARGV_WORDS) {
            rc = asw_err_set(err, ASW_ECONFIG, MOD,
                             "launcher template '%s': more than %d words", tmpl,
                             MAX_ARGV_WORDS);
            break;
        }
        struct asw_buf b;
        asw_buf_init(&b, MAX_WORD_BYTES);
        rc = asw_buf_append(&b, "", 0);
        if (rc)
            rc = asw_err_set(err, rc, MOD, "out of memory");
        else
            rc = expand_word(&b, w, (size_t)(p - w), vars, n_vars, tmpl, err);
        if (rc) {
            asw_buf_free(&b);
            break;
        }
        argv[n++] = b.data;
    }
    if (!rc && n == 0)
        rc = asw_err_set(err, ASW_ECONFIG, MOD, "empty launcher template");
    if (rc) {
        asw_argv_free(argv);
        return rc;
    }
    *argv_out = argv;
    return 0;
}

/* ---- running ---------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Check in the parent that an output file can be created, so that the
 * error names the file (in the child a failed open is only an errno). */
static int check_writable(const char *path, struct asw_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return asw_err_set(err, ASW_EIO, MOD, "cannot create %s: %s", path,
                           strerror(errno));
    close(fd);
    return 0;
}

static void write_pid(const char *path, pid_t pid)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%ld\n", (long)pid);
    if (fclose(f) == 0)
        rename(tmp, path);
    else
        unlink(tmp);
}

int asw_spawn_run(const struct asw_spawn_opts *o, struct asw_spawn_result *r,
                  struct asw_err *err)
{
    memset(r, 0, sizeof *r);
    if (!o->argv || !o->argv[0] || !*o->argv[0])
        return asw_err_set(err, ASW_EINVAL, MOD, "empty argv");
    const char *out = o->stdout_path ? o->stdout_path : "/dev/null";
    int rc;
    if (o->stdout_path && (rc = check_writable(o->stdout_path, err)))
        return rc;
    if (o->stderr_path && (rc = check_writable(o->stderr_path, err)))
        return rc;
    if (o->cwd) {
        struct stat st;
        if (stat(o->cwd, &st) || !S_ISDIR(st.st_mode))
            return asw_err_set(err, ASW_EINVAL, MOD, "working directory %s: %s",
                               o->cwd,
                               errno ? strerror(errno) : "not a directory");
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    /* Outputs open before the chdir, so relative paths mean the caller's
     * directory. */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (o->stderr_path)
        posix_spawn_file_actions_addopen(&fa, 2, o->stderr_path,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    else
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (o->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    /* Own process group, so the limit can kill CASA and its helpers
     * together; default dispositions and an empty mask, whatever the MPI
     * runtime set up in this process. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    /* A relative path with a '/' means the caller's directory, not the
     * child's (posix_spawn would resolve it after the chdir). */
    char abs_path[PATH_MAX];
    const char *file = o->argv[0];
    if (o->cwd && file[0] != '/' && strchr(file, '/') &&
        realpath(file, abs_path))
        file = abs_path;
    pid_t pid;
    double t0 = now_s();
    int e = posix_spawnp(&pid, file, &fa, &at, o->argv,
                         o->envp ? o->envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e)
        return asw_err_set(err, ASW_ECHILD, MOD, "cannot start %s: %s",
                           o->argv[0], strerror(e));
    r->pid = pid;
    if (o->pid_path)
        write_pid(o->pid_path, pid);

    double grace = o->term_grace_s > 0 ? o->term_grace_s : 5.0;
    double t_term = 0, nap = 0.005;
    int term_sent = 0, kill_sent = 0;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        /* WNOWAIT: the child stays a zombie, so its pid (= the group id)
         * cannot be reused before the group is killed below. */
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
            errno != EINTR)
            break;
        if (si.si_pid == pid)
            break;
        double t = now_s();
        if (o->time_limit_s > 0 && !term_sent && t - t0 >= o->time_limit_s) {
            kill(-pid, SIGTERM);
            term_sent = 1;
            t_term = t;
        }
        if (term_sent && !kill_sent && t - t_term >= grace) {
            kill(-pid, SIGKILL);
            kill_sent = 1;
        }
        sleep_s(nap);
        if (nap < 0.1)
            nap *= 2;
    }
    /* Whatever the child left in its group goes with it. */
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->seconds = now_s() - t0;
    if (term_sent) {
        r->status = ASW_SPAWN_TIMEOUT;
        r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    } else if (WIFSIGNALED(status)) {
        r->status = ASW_SPAWN_SIGNALED;
        r->signal = WTERMSIG(status);
        r->exit_code = -1;
    } else {
        r->status = ASW_SPAWN_EXITED;
        r->exit_code = WEXITSTATUS(status);
    }
    return 0;
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGHUP:
        return "SIGHUP";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGKILL:
        return "SIGKILL";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGTERM:
        return "SIGTERM";
    case SIGXCPU:
        return "SIGXCPU";
    default:
        return "signal";
    }
}

char *asw_spawn_describe(const struct asw_spawn_result *r,
                         const struct asw_spawn_opts *o, char *buf, size_t n)
{
    switch (r->status) {
    case ASW_SPAWN_EXITED:
        snprintf(buf, n, "exit %d", r->exit_code);
        break;
    case ASW_SPAWN_SIGNALED:
        snprintf(buf, n, "killed by signal %d (%s)", r->signal,
                 signame(r->signal));
        break;
    case ASW_SPAWN_TIMEOUT:
        snprintf(buf, n,
                 "exceeded the wall-time limit of %.0f s; process group "
                 "killed",
                 o ? o->time_limit_s : r->seconds);
        break;
    }
    return buf;
}
