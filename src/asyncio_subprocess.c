/* asyncio_subprocess.c - asyncio.create_subprocess_exec/_shell and the asyncio.subprocess
 * module: children started with posix_spawn, their pipes as transports of
 * asyncio_streams.c (stdin a StreamWriter, stdout/stderr StreamReaders), their exit seen
 * through SIGCHLD (read from a signalfd watched by libevent) and waitpid.
 *
 * The C part is CPython's _UnixSubprocessTransport (spawning, pipes, signals, returncode,
 * _wait); Process and the two create_* coroutines are CPython's own code, run as asy
 * source below, so communicate() interleaves its gather() exactly as CPython does.
 *
 * When the process is done, as CPython's BaseSubprocessTransport: returncode is set when
 * the child is reaped; wait() started before that returns once the child has exited AND
 * every pipe is closed; once the child has exited and stdout/stderr reached EOF, stdin
 * is closed too.
 *
 * fds: every fd asy opens is close-on-exec, and the child closes everything above 2
 * besides (posix_spawn_file_actions_addclosefrom_np), as close_fds=True does.
 */
#include "common.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asyncio_streams.h"

extern char **environ;

/* asyncio.subprocess.PIPE, STDOUT and DEVNULL (subprocess's values). */
enum { SP_PIPE = -1, SP_STDOUT = -2, SP_DEVNULL = -3, SP_INHERIT = -4 };

struct AsyProcTransport {
    AsyLive live;
    pid_t pid;
    int returncode;
    AsyTransport *pipes[3];   /* stdin, stdout, stderr when they are PIPEs              */
    AsyValue streams[3];      /* their StreamWriter / StreamReaders, or None            */
    AsyWaitList waiters;      /* _wait(): woken when finished                           */
    bool exited;              /* reaped: returncode is set                              */
    bool finished;            /* exited and every pipe lost (CPython's _finished)       */
    bool closed;
    bool lost[3];             /* that pipe's connection_lost has run                    */
};

static AsyProcTransport *proc_of(AsyValue v) { return (AsyProcTransport *)ASY_AS_OBJ(v); }

/* ==================================================================================== */
/* Exit and pipes                                                                       */
/* ==================================================================================== */

static void proc_close(AsyVM *vm, AsyProcTransport *p);

/* CPython's _try_finish: exited, and every pipe lost. Then _wait() callers get the
 * returncode, and a later kill() finds no process. */
static void proc_try_finish(AsyVM *vm, AsyProcTransport *p) {
    if (p->finished || !p->exited) return;
    for (int i = 0; i < 3; i++)
        if (p->pipes[i] && !p->lost[i]) return;
    p->finished = true;
    for (AsyTask *t = p->waiters.head; t; t = t->wnext)
        asy_task_wait_resolve(vm, t, ASY_INT(p->returncode));
    asy_live_unlink(&p->live);
}

/* SubprocessStreamProtocol._maybe_close_transport: exited and stdout/stderr done. */
static void proc_maybe_close(AsyVM *vm, AsyProcTransport *p) {
    if (!p->exited) return;
    for (int i = 1; i < 3; i++)
        if (p->pipes[i] && !p->lost[i]) return;
    proc_close(vm, p);
}

void asy_proc_pipe_lost(AsyVM *vm, AsyProcTransport *p, int fdno, AsyValue exc) {
    ASY_UNUSED(exc); /* the transport gave it to the reader / wait_closed already */
    if (fdno < 0 || fdno > 2) return;
    p->lost[fdno] = true;
    if (fdno != 0) proc_maybe_close(vm, p);
    proc_try_finish(vm, p);
}

/* A child was reaped (a handle queued by the SIGCHLD callback): b is its wait status. */
static void proc_exited_h(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyProcTransport *p = proc_of(a);
    int status = (int)ASY_AS_INT(b);
    p->returncode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    p->exited = true;
    proc_maybe_close(vm, p);
    proc_try_finish(vm, p);
}

static bool is_proc(AsyStreams *st, AsyLive *o) { return o->hdr.type == st->t_proc; }

/* SIGCHLD: reap whichever of our children exited (never anyone else's). */
static void proc_sigchld_cb(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(what);
    AsyStreams *st = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) continue; /* drain */
    if (st->shutdown) return;
    for (AsyLive *o = st->live; o; o = o->lnext) {
        if (!is_proc(st, o)) continue;
        AsyProcTransport *p = (AsyProcTransport *)o;
        int status;
        if (p->pid <= 0 || p->exited) continue;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r != p->pid) continue;
        p->pid = -p->pid; /* reaped: never waited for again (pid kept, negated) */
        st->nprocs--;
        if (!asy_loop_call_soon(st->vm, proc_exited_h, ASY_OBJ(p), ASY_INT(status)))
            asy_exc_clear(st->vm);
    }
    if (st->nprocs == 0) asy_streams_unwatch_children(st); /* frees this event: last */
}

static pid_t proc_pid(AsyProcTransport *p) { return p->pid < 0 ? -p->pid : p->pid; }

/* transport.close(): close the pipes, kill a child still running. */
static void proc_close(AsyVM *vm, AsyProcTransport *p) {
    if (p->closed) return;
    p->closed = true;
    for (int i = 0; i < 3; i++)
        if (p->pipes[i]) asy_transport_close(vm, p->pipes[i]);
    if (!p->exited && p->pid > 0) kill(p->pid, SIGKILL);
}

/* The scheduler is going: nothing to free (pipes are live objects of their own), but
 * nothing will reap the child either; leave it to init, as an exiting CPython does. */
static void proc_release(AsyLive *o) { ASY_UNUSED(o); }

/* ==================================================================================== */
/* Spawning                                                                             */
/* ==================================================================================== */

typedef struct {
    int spec[3];              /* SP_* or an fd to use                                   */
    int parent[3];            /* our ends of the pipes, -1 for none                     */
    int child[3];             /* their ends, closed in us after the spawn               */
    char **argv, **envp;
    size_t nargv, nenvp;
    const char *cwd, *executable;
    bool new_session;
} SpawnPlan;

static void plan_free(SpawnPlan *sp) {
    for (int i = 0; i < 3; i++) {
        if (sp->child[i] >= 0) close(sp->child[i]);
        if (sp->parent[i] >= 0) close(sp->parent[i]);
        sp->child[i] = sp->parent[i] = -1;
    }
    free(sp->argv);
    free(sp->envp);
    sp->argv = sp->envp = NULL;
}

/* stdin=/stdout=/stderr=: None, PIPE, DEVNULL, STDOUT (stderr only), an fd, or a file
 * object (its fileno()). */
static bool plan_stdio(AsyVM *vm, AsyValue v, int which, int *out) {
    if (ASY_IS_NONE(v) || ASY_IS_UNDEF(v)) {
        *out = SP_INHERIT;
        return true;
    }
    if (!ASY_IS_INTLIKE(v)) {
        AsyValue fd = asy_call_method(vm, v, asy_str_intern_cstr(vm, "fileno"), 0, NULL);
        if (ASY_IS_ERR(fd)) return false;
        v = fd;
    }
    int64_t n;
    if (!asy_index(vm, v, &n)) return false;
    if (n == SP_STDOUT && which != 2) {
        asy_raise(vm, ASY_EXC_ValueError, "STDOUT can only be used for stderr");
        return false;
    }
    if (n < SP_DEVNULL) {
        asy_raise(vm, ASY_EXC_ValueError, "bad value for %s: %lld",
                  which == 0 ? "stdin" : which == 1 ? "stdout" : "stderr", (long long)n);
        return false;
    }
    *out = (int)n;
    return true;
}

/* A str (or bytes) argument as a C string that lives as long as the argument. */
static const char *plan_cstr(AsyVM *vm, AsyValue v) {
    AsyType *t = asy_type_of(vm, v);
    if (t == ASY_TYPE(vm, str)) return ((AsyStr *)ASY_AS_OBJ(v))->data;
    if (t == ASY_TYPE(vm, bytes)) return (const char *)((AsyBytes *)ASY_AS_OBJ(v))->data;
    asy_raise(vm, ASY_EXC_TypeError, "expected str, bytes or os.PathLike object, not %s",
              asy_type_name(vm, v));
    return NULL;
}

/* argv: the command (shell: /bin/sh -c cmd). The strings stay owned by the call's
 * arguments, which outlive the spawn. */
static bool plan_argv(AsyVM *vm, SpawnPlan *sp, AsyValue args, bool shell) {
    if (shell) {
        AsyType *t = asy_type_of(vm, args);
        if (t != ASY_TYPE(vm, str) && t != ASY_TYPE(vm, bytes)) {
            asy_raise(vm, ASY_EXC_ValueError, "cmd must be a string");
            return false;
        }
        sp->argv = calloc(4, sizeof *sp->argv);
        if (!sp->argv) return !ASY_IS_ERR(asy_raise_memory(vm));
        sp->argv[0] = "/bin/sh";
        sp->argv[1] = "-c";
        sp->argv[2] = (char *)plan_cstr(vm, args);
        sp->nargv = 3;
        return true;
    }
    AsyTuple *a = (AsyTuple *)ASY_AS_OBJ(args);
    sp->argv = calloc((size_t)a->len + 1, sizeof *sp->argv);
    if (!sp->argv) return !ASY_IS_ERR(asy_raise_memory(vm));
    for (int64_t i = 0; i < a->len; i++) {
        const char *s = plan_cstr(vm, a->items[i]);
        if (!s) return false;
        sp->argv[sp->nargv++] = (char *)s;
    }
    return true;
}

/* env=: a dict of str to str, as "KEY=value" strings (asy strs, rooted by the caller
 * through the list they are kept in). */
static bool plan_env(AsyVM *vm, SpawnPlan *sp, AsyValue env, AsyList *keep) {
    if (ASY_IS_UNDEF(env) || ASY_IS_NONE(env)) return true;
    if (!asy_isinstance(vm, env, ASY_TYPE(vm, dict))) {
        asy_raise(vm, ASY_EXC_TypeError, "env must be a mapping, not '%s'", asy_type_name(vm, env));
        return false;
    }
    AsyDict *d = (AsyDict *)ASY_AS_OBJ(env);
    sp->envp = calloc((size_t)d->len + 1, sizeof *sp->envp);
    if (!sp->envp) return !ASY_IS_ERR(asy_raise_memory(vm));
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(d, &pos, &k, &v)) {
        const char *ks = plan_cstr(vm, k), *vs = ks ? plan_cstr(vm, v) : NULL;
        if (!vs) return false;
        if (strchr(ks, '=')) {
            asy_raise(vm, ASY_EXC_ValueError, "illegal environment variable name");
            return false;
        }
        AsyStr *kv = asy_str_printf(vm, "%s=%s", ks, vs);
        if (asy_list_append(vm, keep, ASY_OBJ(kv)) < 0) return false;
        sp->envp[sp->nenvp++] = kv->data;
    }
    return true;
}

/* Popen's keyword arguments: cwd, env, start_new_session, executable, close_fds are
 * honoured; asyncio's own checks come first, with its messages. */
static bool plan_kwargs(AsyVM *vm, SpawnPlan *sp, AsyDict *kw, bool shell, AsyList *keep) {
    static const struct { const char *name, *msg; } checks[] = {
        {"universal_newlines", "universal_newlines must be False"},
        {"text", "text must be False"}, {"encoding", "encoding must be None"},
        {"errors", "errors must be None"}, {NULL, NULL}};
    for (int i = 0; checks[i].name; i++) {
        AsyValue v = asy_kwarg(vm, kw, checks[i].name);
        if (!ASY_IS_UNDEF(v) && asy_truthy(vm, v) == 1) {
            asy_raise(vm, ASY_EXC_ValueError, "%s", checks[i].msg);
            return false;
        }
    }
    AsyValue v = asy_kwarg(vm, kw, "shell");
    if (!ASY_IS_UNDEF(v) && asy_truthy(vm, v) != shell) {
        asy_raise(vm, ASY_EXC_ValueError, shell ? "shell must be True" : "shell must be False");
        return false;
    }
    v = asy_kwarg(vm, kw, "bufsize");
    if (!ASY_IS_UNDEF(v) && !(ASY_IS_INT(v) && ASY_AS_INT(v) == 0)) {
        asy_raise(vm, ASY_EXC_ValueError, "bufsize must be 0");
        return false;
    }
    asy_kwarg(vm, kw, "close_fds");
    v = asy_kwarg(vm, kw, "cwd");
    if (!ASY_IS_UNDEF(v) && !ASY_IS_NONE(v) && !(sp->cwd = plan_cstr(vm, v))) return false;
    v = asy_kwarg(vm, kw, "executable");
    if (!ASY_IS_UNDEF(v) && !ASY_IS_NONE(v) && !(sp->executable = plan_cstr(vm, v))) return false;
    v = asy_kwarg(vm, kw, "start_new_session");
    sp->new_session = !ASY_IS_UNDEF(v) && asy_truthy(vm, v) == 1;
    if (!plan_env(vm, sp, asy_kwarg(vm, kw, "env"), keep)) return false;
    if (kw && kw->len) {
        int64_t pos = 0;
        AsyValue k;
        asy_dict_next(kw, &pos, &k, &v);
        asy_raise(vm, ASY_EXC_TypeError, "Popen.__init__() got an unexpected keyword argument "
                  "'%S'", k);
        return false;
    }
    return true;
}

/* Pipes for the PIPE streams: ours non-blocking, both close-on-exec. */
static bool plan_pipes(AsyVM *vm, SpawnPlan *sp) {
    for (int i = 0; i < 3; i++) {
        if (sp->spec[i] != SP_PIPE) continue;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            asy_raise_oserror(vm, errno, NULL);
            return false;
        }
        sp->parent[i] = i == 0 ? fds[1] : fds[0];
        sp->child[i] = i == 0 ? fds[0] : fds[1];
        fcntl(sp->parent[i], F_SETFL, fcntl(sp->parent[i], F_GETFL) | O_NONBLOCK);
    }
    return true;
}

static void plan_file_actions(SpawnPlan *sp, posix_spawn_file_actions_t *fa) {
    static const int devnull_flags[3] = {O_RDONLY, O_WRONLY, O_WRONLY};
    for (int i = 0; i < 3; i++) {
        int s = sp->spec[i];
        if (s == SP_PIPE) posix_spawn_file_actions_adddup2(fa, sp->child[i], i);
        else if (s == SP_DEVNULL) posix_spawn_file_actions_addopen(fa, i, "/dev/null", devnull_flags[i], 0);
        else if (s == SP_STDOUT) posix_spawn_file_actions_adddup2(fa, 1, 2);
        else if (s >= 0) posix_spawn_file_actions_adddup2(fa, s, i);
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
    if (sp->cwd) posix_spawn_file_actions_addchdir_np(fa, sp->cwd);
#endif
}

/* Signals the child starts with: SIGPIPE and SIGXFSZ back to their defaults (asy ignores
 * SIGPIPE; CPython's restore_signals), nothing blocked. */
static void plan_attrs(SpawnPlan *sp, posix_spawnattr_t *at) {
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
#ifdef SIGXFSZ
    sigaddset(&def, SIGXFSZ);
#endif
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
#ifdef POSIX_SPAWN_SETSID
    if (sp->new_session) flags |= POSIX_SPAWN_SETSID;
#endif
    posix_spawnattr_setflags(at, flags);
    posix_spawnattr_setsigdefault(at, &def);
    posix_spawnattr_setsigmask(at, &none);
}

/* Start the child; false with FileNotFoundError/PermissionError... pending. */
static bool plan_spawn(AsyVM *vm, SpawnPlan *sp, pid_t *pid) {
    if (sp->cwd) { /* posix_spawn's chdir failure looks like the program's: check first */
        struct stat stt;
        if (stat(sp->cwd, &stt) != 0 || !S_ISDIR(stt.st_mode)) {
            asy_raise_oserror(vm, stat(sp->cwd, &stt) != 0 ? errno : ENOTDIR, sp->cwd);
            return false;
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    plan_file_actions(sp, &fa);
    plan_attrs(sp, &at);
    const char *prog = sp->executable ? sp->executable : sp->argv[0];
    char **envp = sp->envp ? sp->envp : environ;
    int err = strchr(prog, '/') ? posix_spawn(pid, prog, &fa, &at, sp->argv, envp)
                                : posix_spawnp(pid, prog, &fa, &at, sp->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (err) {
        asy_raise_oserror(vm, err, prog);
        return false;
    }
    return true;
}

/* ==================================================================================== */
/* The transport object                                                                 */
/* ==================================================================================== */

static void proc_traverse(AsyVM *vm, AsyObj *o) {
    AsyProcTransport *p = (AsyProcTransport *)o;
    asy_gc_mark_obj(vm, &p->live.st->hdr);
    for (int i = 0; i < 3; i++) {
        asy_gc_mark_obj(vm, (AsyObj *)p->pipes[i]);
        asy_gc_mark_value(vm, p->streams[i]);
    }
    asy_waitlist_mark(vm, &p->waiters);
}

/* The pipes' transports and streams. The fds in sp->parent move to the transports. */
static bool proc_make_pipes(AsyVM *vm, AsyStreams *st, AsyProcTransport *p, SpawnPlan *sp,
                            int64_t limit) {
    for (int i = 0; i < 3; i++) {
        if (sp->parent[i] < 0) continue;
        int fd = sp->parent[i];
        sp->parent[i] = -1;
        AsyTransport *t = asy_transport_new(vm, st, i == 0 ? ASY_TR_WPIPE : ASY_TR_RPIPE, fd);
        if (!t) return false;
        t->proc = p;
        t->fdno = i;
        p->pipes[i] = t;
        if (i == 0) {
            p->streams[0] = ASY_OBJ(asy_stream_writer_new(vm, st, t, NULL));
            continue;
        }
        AsyStreamReader *r = asy_stream_reader_new(vm, st, limit);
        if (!r) return false;
        asy_transport_set_reader(t, r);
        p->streams[i] = ASY_OBJ(r);
    }
    return true;
}

/* Watch SIGCHLD while children run, from before the first starts (so that no exit is
 * missed) until the last is reaped. SIGCHLD is blocked and read from a signalfd rather
 * than caught: installing and removing a signal handler as processes come and go
 * (libevent's evsignal) was seen to corrupt registers of the interrupted code under
 * gVisor, and a blocked signal interrupts nothing. Children get an empty signal mask
 * (plan_attrs). */
static void proc_sigmask(int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(how, &set, NULL);
}

static bool proc_watch(AsyVM *vm, AsyStreams *st) {
    if (st->sigchld) return true;
    proc_sigmask(SIG_BLOCK);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    st->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (st->sigfd >= 0)
        st->sigchld = event_new(st->base, st->sigfd, EV_READ | EV_PERSIST, proc_sigchld_cb, st);
    if (!st->sigchld || event_add(st->sigchld, NULL) != 0) {
        asy_streams_unwatch_children(st);
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot watch SIGCHLD");
        return false;
    }
    return true;
}

void asy_streams_unwatch_children(AsyStreams *st) {
    if (st->sigchld) event_free(st->sigchld);
    st->sigchld = NULL;
    if (st->sigfd >= 0) close(st->sigfd);
    st->sigfd = -1;
    proc_sigmask(SIG_UNBLOCK);
}

/* _spawn(args, shell, stdin, stdout, stderr, limit, kwds): the transport of a started
 * child. args is the command (shell) or the tuple (program, *args). */
static AsyValue sp_spawn(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_spawn", argc, 7, 7)) return ASY_ERR;
    AsyStreams *st = asy_streams_state(vm);
    if (!st) return ASY_ERR;
    bool shell = asy_truthy(vm, argv[1]) == 1;
    int64_t limit;
    if (!asy_index(vm, argv[5], &limit)) return ASY_ERR;
    AsyDict *kwds = asy_dict_copy(vm, (AsyDict *)ASY_AS_OBJ(argv[6]));
    AsyList *keep = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(kwds));
    asy_root_push(vm, ASY_OBJ(keep));
    SpawnPlan sp;
    memset(&sp, 0, sizeof sp);
    for (int i = 0; i < 3; i++) sp.parent[i] = sp.child[i] = -1;
    pid_t pid = 0;
    bool ok = plan_kwargs(vm, &sp, kwds, shell, keep) && plan_argv(vm, &sp, argv[0], shell);
    for (int i = 0; i < 3 && ok; i++) ok = plan_stdio(vm, argv[2 + i], i, &sp.spec[i]);
    ok = ok && plan_pipes(vm, &sp) && proc_watch(vm, st) && plan_spawn(vm, &sp, &pid);
    AsyProcTransport *p = NULL;
    if (ok) {
        st->nprocs++;
        for (int i = 0; i < 3; i++) { /* the child has its ends now */
            if (sp.child[i] >= 0) close(sp.child[i]);
            sp.child[i] = -1;
        }
        p = asy_gc_alloc(vm, st->t_proc, sizeof(AsyProcTransport));
        p->pid = pid;
        for (int i = 0; i < 3; i++) p->streams[i] = ASY_NONE;
        asy_live_link(st, &p->live, proc_release);
        ok = proc_make_pipes(vm, st, p, &sp, limit);
        if (!ok) proc_close(vm, p);
    } else if (st->nprocs == 0) {
        asy_streams_unwatch_children(st);
    }
    plan_free(&sp);
    asy_root_pop(vm, 2);
    return ok ? ASY_OBJ(p) : ASY_ERR;
}

static AsyValue proc_repr(AsyVM *vm, AsyValue self) {
    AsyProcTransport *p = proc_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "<_UnixSubprocessTransport");
    if (p->closed) asy_strbuf_append_cstr(vm, &b, " closed");
    asy_strbuf_printf(vm, &b, " pid=%d", (int)proc_pid(p));
    if (p->exited) asy_strbuf_printf(vm, &b, " returncode=%d", p->returncode);
    else asy_strbuf_append_cstr(vm, &b, " running");
    static const char *const names[3] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; i++)
        if (p->pipes[i]) asy_strbuf_printf(vm, &b, " %s=<pipe fd=%d>", names[i], p->pipes[i]->fd);
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue pm_get_pid(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_pid", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT(proc_pid(proc_of(argv[0])));
}

static AsyValue pm_get_returncode(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_returncode", argc - 1, 0, 0)) return ASY_ERR;
    AsyProcTransport *p = proc_of(argv[0]);
    return p->exited ? ASY_INT(p->returncode) : ASY_NONE;
}

static AsyValue pm_get_pipe_transport(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_pipe_transport", argc - 1, 1, 1)) return ASY_ERR;
    int64_t fd;
    if (!asy_index(vm, argv[1], &fd)) return ASY_ERR;
    AsyProcTransport *p = proc_of(argv[0]);
    return fd >= 0 && fd < 3 && p->pipes[fd] ? ASY_OBJ(p->pipes[fd]) : ASY_NONE;
}

static AsyValue pm_streams(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_streams", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_tuple_from_array(vm, proc_of(argv[0])->streams, 3));
}

/* Popen.send_signal after _check_proc: ProcessLookupError once finished, nothing once
 * reaped, else kill(2). */
static AsyValue proc_signal(AsyVM *vm, AsyProcTransport *p, int64_t sig) {
    if (p->finished) return asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_ProcessLookupError]));
    if (p->exited || p->pid <= 0) return ASY_NONE;
    if (kill(p->pid, (int)sig) != 0) return asy_raise_oserror(vm, errno, NULL);
    return ASY_NONE;
}

static AsyValue pm_send_signal(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "send_signal", argc - 1, 1, 1)) return ASY_ERR;
    int64_t sig;
    if (!asy_index(vm, argv[1], &sig)) return ASY_ERR;
    return proc_signal(vm, proc_of(argv[0]), sig);
}

static AsyValue pm_terminate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "terminate", argc - 1, 0, 0)) return ASY_ERR;
    return proc_signal(vm, proc_of(argv[0]), SIGTERM);
}

static AsyValue pm_kill(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "kill", argc - 1, 0, 0)) return ASY_ERR;
    return proc_signal(vm, proc_of(argv[0]), SIGKILL);
}

static AsyValue pm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    proc_close(vm, proc_of(argv[0]));
    return ASY_NONE;
}

static AsyValue pm_is_closing(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_closing", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(proc_of(argv[0])->closed);
}

/* _wait(): the returncode at once once reaped, else when finished. */
static int proc_wait_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyProcTransport *p = proc_of(op->obj);
    if (resumed) {
        asy_waitlist_remove(&p->waiters, t);
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
        *result = ASY_INT(p->returncode);
        return ASY_AWAIT_DONE;
    }
    if (p->exited) {
        *result = ASY_INT(p->returncode);
        return ASY_AWAIT_DONE;
    }
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &p->waiters);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue pm_wait(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_wait", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, proc_wait_fn, "Process.wait", argv[0], ASY_UNDEF));
}

static const AsyMethodDef proc_methods[] = {
    {"get_pid", pm_get_pid, 0, "The process id."},
    {"get_returncode", pm_get_returncode, 0, "The exit status (-N: killed by signal N), or None."},
    {"get_pipe_transport", pm_get_pipe_transport, 0, "The transport of pipe 0, 1 or 2."},
    {"send_signal", pm_send_signal, 0, "Send a signal to the process."},
    {"terminate", pm_terminate, 0, "Send SIGTERM."},
    {"kill", pm_kill, 0, "Send SIGKILL."},
    {"close", pm_close, 0, "Close the pipes; kill the process if it still runs."},
    {"is_closing", pm_is_closing, 0, "Whether close() was called."},
    {"_wait", pm_wait, 0, "Wait for the exit; the returncode."},
    {"_streams", pm_streams, 0, "(stdin writer, stdout reader, stderr reader)."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* asyncio.subprocess                                                                   */
/* ==================================================================================== */

/* CPython's asyncio/subprocess.py, over the transport above. */
static const char subprocess_src[] =
    "PIPE = -1\n"
    "STDOUT = -2\n"
    "DEVNULL = -3\n"
    "\n"
    "class Process:\n"
    "    def __init__(self, transport, protocol=None, loop=None):\n"
    "        self._transport = transport\n"
    "        self._protocol = protocol\n"
    "        self._loop = loop\n"
    "        self.stdin, self.stdout, self.stderr = transport._streams()\n"
    "        self.pid = transport.get_pid()\n"
    "\n"
    "    def __repr__(self):\n"
    "        return f'<{self.__class__.__name__} {self.pid}>'\n"
    "\n"
    "    @property\n"
    "    def returncode(self):\n"
    "        return self._transport.get_returncode()\n"
    "\n"
    "    async def wait(self):\n"
    "        return await self._transport._wait()\n"
    "\n"
    "    def send_signal(self, signal):\n"
    "        self._transport.send_signal(signal)\n"
    "\n"
    "    def terminate(self):\n"
    "        self._transport.terminate()\n"
    "\n"
    "    def kill(self):\n"
    "        self._transport.kill()\n"
    "\n"
    "    async def _feed_stdin(self, input):\n"
    "        try:\n"
    "            self.stdin.write(input)\n"
    "            await self.stdin.drain()\n"
    "        except (BrokenPipeError, ConnectionResetError):\n"
    "            pass\n"
    "        self.stdin.close()\n"
    "\n"
    "    async def _noop(self):\n"
    "        return None\n"
    "\n"
    "    async def _read_stream(self, fd):\n"
    "        transport = self._transport.get_pipe_transport(fd)\n"
    "        if fd == 2:\n"
    "            stream = self.stderr\n"
    "        else:\n"
    "            stream = self.stdout\n"
    "        output = await stream.read()\n"
    "        transport.close()\n"
    "        return output\n"
    "\n"
    "    async def communicate(self, input=None):\n"
    "        if input is not None:\n"
    "            stdin = self._feed_stdin(input)\n"
    "        else:\n"
    "            stdin = self._noop()\n"
    "        if self.stdout is not None:\n"
    "            stdout = self._read_stream(1)\n"
    "        else:\n"
    "            stdout = self._noop()\n"
    "        if self.stderr is not None:\n"
    "            stderr = self._read_stream(2)\n"
    "        else:\n"
    "            stderr = self._noop()\n"
    "        stdin, stdout, stderr = await _gather(stdin, stdout, stderr)\n"
    "        await self.wait()\n"
    "        return (stdout, stderr)\n"
    "\n"
    "async def create_subprocess_shell(cmd, stdin=None, stdout=None, stderr=None,\n"
    "                                  limit=_DEFAULT_LIMIT, **kwds):\n"
    "    transport = _spawn(cmd, True, stdin, stdout, stderr, limit, kwds)\n"
    "    await _sleep(0)\n"
    "    return Process(transport)\n"
    "\n"
    "async def create_subprocess_exec(program, *args, stdin=None, stdout=None,\n"
    "                                 stderr=None, limit=_DEFAULT_LIMIT, **kwds):\n"
    "    transport = _spawn((program,) + args, False, stdin, stdout, stderr, limit, kwds)\n"
    "    await _sleep(0)\n"
    "    return Process(transport)\n";

static const AsyMethodDef subprocess_functions[] = {
    {"_spawn", sp_spawn, 0, "Start a child process; its transport."},
    {NULL, NULL, 0, NULL},
};

/* Every name asyncio.subprocess gets when asyncio's streams part is made. */
static const char *const subprocess_names[] = {
    "PIPE", "STDOUT", "DEVNULL", "Process", "create_subprocess_shell", "create_subprocess_exec",
    "_spawn", "_DEFAULT_LIMIT", "_sleep", "_gather", "__builtins__", NULL};

static void make_subprocess(AsyVM *vm, AsyModule *m) {
    ASY_UNUSED(m);
    AsyValue aio = asy_dict_get_cstr(vm, vm->modules, "asyncio");
    if (ASY_IS_OBJ(aio))
        asy_module_make_for(vm, (AsyModule *)ASY_AS_OBJ(aio), "create_subprocess_exec");
}

static const AsyLazyPart subprocess_parts[] = {{subprocess_names, make_subprocess}, {NULL, NULL}};

void asy_asyncio_subprocess_module(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "asyncio.subprocess");
    asy_module_register(vm, m);
    asy_module_set_lazy(m, subprocess_parts);
}

void asy_asyncio_subprocess_init(AsyVM *vm, AsyStreams *st, AsyModule *aio) {
    AsyType *t = asy_type_new_builtin(vm, "_UnixSubprocessTransport", ASY_TYPE(vm, object),
                                      sizeof(AsyProcTransport));
    t->module = asy_str_intern_cstr(vm, "asyncio.unix_events");
    t->traverse = proc_traverse;
    t->repr = proc_repr;
    asy_type_add_methods(vm, t, proc_methods);
    asy_type_ready(vm, t);
    st->t_proc = t;

    /* the module made at import (unless a script dropped it from sys.modules since) */
    AsyValue mv = asy_dict_get_cstr(vm, vm->modules, "asyncio.subprocess");
    AsyModule *m;
    if (ASY_IS_OBJ(mv) && ASY_AS_OBJ(mv)->type == ASY_TYPE(vm, module)) {
        m = (AsyModule *)ASY_AS_OBJ(mv);
    } else {
        m = asy_module_new(vm, "asyncio.subprocess");
        asy_module_register(vm, m);
    }
    asy_root_push(vm, ASY_OBJ(m));
    asy_dict_set_cstr(vm, aio->dict, "subprocess", ASY_OBJ(m));
    asy_module_add_functions(vm, m, subprocess_functions);
    asy_dict_set_cstr(vm, m->dict, "_DEFAULT_LIMIT", ASY_INT(ASY_STREAM_LIMIT));
    asy_dict_set_cstr(vm, m->dict, "_sleep", asy_dict_get_cstr(vm, aio->dict, "sleep"));
    asy_dict_set_cstr(vm, m->dict, "_gather", asy_dict_get_cstr(vm, aio->dict, "gather"));
    bool ok = asy_streams_run_source(vm, subprocess_src, sizeof subprocess_src - 1,
                                     "<asyncio.subprocess>", m->dict);
    asy_root_pop(vm, 1);
    if (!ok) return;
    st->process_cls = asy_dict_get_cstr(vm, m->dict, "Process");
    static const char *const exported[] = {"create_subprocess_exec", "create_subprocess_shell",
                                           NULL};
    for (int i = 0; exported[i]; i++)
        asy_dict_set_cstr(vm, aio->dict, exported[i], asy_dict_get_cstr(vm, m->dict, exported[i]));
}
