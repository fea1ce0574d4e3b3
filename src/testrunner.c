/* testrunner.c - `asy test [options] [PATH...]`: finds test_*.asy files (folders are
 * searched), runs every test_* function in them, plain or async, and reports.
 *
 * Each test file runs in a child process with its own interpreter, so a crash, os._exit()
 * or a hung synchronous test only costs that test: the child tells the parent over a pipe
 * which test it starts and how each one ended, and when it dies in the middle of a test
 * the parent records that test as failed and starts a new child at the next test. The
 * parent alone prints results, so the report stays in order whatever the tests print.
 *
 * In the child, the module is compiled with ASY_COMPILE_EXPLAIN_ASSERTS (a failing
 * `assert x == 3` says `assert 2 == 3`), and each test runs through the small driver
 * below, written in asy: setup_function, the test, teardown_function, each sync or async;
 * an async test runs in its own asyncio.run, that is a fresh event loop. The per-test
 * timeout cancels the main task of the running loop (so the traceback shows where the
 * test was waiting); a synchronous test that does not return is stopped by SIGALRM.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler.h"
#include "loop.h"
#include "task.h"
#include "testrunner.h"

#define DRIVER_FILE "<asy test>"

/* The driver, compiled into the module _asytest of each child's interpreter. Its frames
 * are removed from the tracebacks shown (asy_traceback_drop_file). */
static const char driver_src[] =
    "import asyncio as _asyncio\n"
    "\n"
    "class Skipped(BaseException):\n"
    "    pass\n"
    "\n"
    "def skip(reason=''):\n"
    "    raise Skipped(reason)\n"
    "\n"
    "async def _call_async(f, args):\n"
    "    r = f(*args)\n"
    "    if _asyncio.iscoroutine(r):\n"
    "        await r\n"
    "\n"
    "def _call_sync(f, args):\n"
    "    r = f(*args)\n"
    "    if _asyncio.iscoroutine(r):\n"
    "        _asyncio.run(r)\n"
    "\n"
    "async def _run_async(setup, sargs, test, teardown, targs):\n"
    "    if setup is not None:\n"
    "        await _call_async(setup, sargs)\n"
    "    try:\n"
    "        await _call_async(test, ())\n"
    "    finally:\n"
    "        if teardown is not None:\n"
    "            await _call_async(teardown, targs)\n"
    "\n"
    "def run(setup, sargs, test, teardown, targs, is_async):\n"
    "    if is_async:\n"
    "        _asyncio.run(_run_async(setup, sargs, test, teardown, targs))\n"
    "        return\n"
    "    if setup is not None:\n"
    "        _call_sync(setup, sargs)\n"
    "    try:\n"
    "        _call_sync(test, ())\n"
    "    finally:\n"
    "        if teardown is not None:\n"
    "            _call_sync(teardown, targs)\n"
    "\n"
    "def call(f):\n"
    "    _call_sync(f, ())\n";

typedef struct {
    double timeout;        /* seconds per test; 0: none                                 */
    const char *pattern;   /* -k                                                        */
    bool exitfirst, verbose, tap, virtual_time;
} Options;

typedef struct {
    int passed, failed, skipped;
    int tapnum;            /* TAP test numbers so far                                   */
    bool stop;             /* -x saw a failure                                          */
} Totals;

/* ==================================================================================== */
/* The pipe between child and parent: records of a kind, an index and a text.          */
/* ==================================================================================== */

enum {
    REC_COUNT = 'N',   /* idx: how many tests the file has (after -k)                   */
    REC_BEGIN = 'B',   /* test idx starts; text: its name                                */
    REC_PASS = 'P',
    REC_SKIP = 'S',    /* text: the reason                                               */
    REC_FAIL = 'F',    /* text: the report (a traceback)                                 */
    REC_ERROR = 'E',   /* a failure outside any test (loading, setup(), teardown())     */
    REC_DONE = 'D',
};

typedef struct {
    char kind;
    int32_t idx;
    uint32_t len;
} RecHead;

static void write_all(int fd, const void *p, size_t n) {
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* the parent is gone: nothing to report to */
        s += w;
        n -= (size_t)w;
    }
}

static void send_rec(int fd, char kind, int idx, const char *text) {
    RecHead h = {kind, idx, text ? (uint32_t)strlen(text) : 0};
    write_all(fd, &h, sizeof h);
    if (h.len) write_all(fd, text, h.len);
}

static bool read_all(int fd, void *p, size_t n) {
    char *s = p;
    while (n > 0) {
        ssize_t r = read(fd, s, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        s += r;
        n -= (size_t)r;
    }
    return true;
}

/* ==================================================================================== */
/* The child: one interpreter running one test file from test `start` on.               */
/* ==================================================================================== */

typedef struct {
    AsyVM *vm;
    const Options *opt;
    const char *path;
    int fd;
    AsyDict *driver;       /* the _asytest module's namespace                           */
    AsyDict *mod;          /* the test module's namespace                               */
    int tapnum;            /* TAP numbers used so far (by earlier children too)         */
} Child;

static void print_result(const Options *opt, int tapnum, char kind, const char *name,
                         const char *text);

/* A result: printed here, so that it lands in order with what the tests print, then
 * sent to the parent, which counts it. */
static void child_result(Child *c, char kind, int idx, const char *test, const char *text) {
    char *name = malloc(strlen(c->path) + strlen(test) + 3);
    if (name) sprintf(name, "%s%s%s", c->path, *test ? "::" : "", test);
    fflush(stdout);
    fflush(stderr);
    print_result(c->opt, ++c->tapnum, kind, name ? name : c->path, text ? text : "");
    free(name);
    send_rec(c->fd, kind, idx, text);
}

/* The pending exception as report text (malloc'd), cleared. */
static char *exception_text(Child *c, const char *heading) {
    AsyVM *vm = c->vm;
    AsyException *e = vm->exc;
    asy_exc_clear(vm);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    if (heading) fprintf(f, "%s\n", heading);
    if (e) {
        asy_root_push(vm, ASY_OBJ(e));
        asy_traceback_drop_file(vm, e, DRIVER_FILE);
        asy_traceback_print(vm, e, f);
        asy_root_pop(vm, 1);
    }
    asy_exc_clear(vm);
    fclose(f);
    return buf;
}

/* The pending exception is the driver's Skipped: its reason (malloc'd), cleared. */
static char *skip_reason(Child *c) {
    AsyVM *vm = c->vm;
    AsyValue cls = asy_dict_get_cstr(vm, c->driver, "Skipped");
    if (!vm->exc || ASY_IS_UNDEF(cls) || !asy_exc_is(vm, ASY_OBJ(vm->exc), (AsyType *)ASY_AS_OBJ(cls)))
        return NULL;
    AsyTuple *args = vm->exc->args;
    char *reason = NULL;
    if (args && args->len > 0) {
        AsyValue s = asy_str(vm, args->items[0]);
        if (!ASY_IS_ERR(s)) reason = strdup(((AsyStr *)ASY_AS_OBJ(s))->data);
    }
    asy_exc_clear(vm);
    return reason ? reason : strdup("");
}

/* The per-test timeout: a loop timer that cancels the main task of whatever asyncio.run
 * is running. a: the test number it was set for (stale timers of earlier tests do
 * nothing); b: the driver namespace, where _timed_out records that it fired. */
static void timeout_fire(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyDict *d = (AsyDict *)ASY_AS_OBJ(b);
    AsyValue cur = asy_dict_get_cstr(vm, d, "_current");
    AsyLoop *L = vm->loop;
    if (!ASY_IS_INT(cur) || ASY_AS_INT(cur) != ASY_AS_INT(a) || !L->main_task ||
        L->main_task->fut.state != ASY_FUT_PENDING)
        return;
    asy_dict_set_cstr(vm, d, "_timed_out", ASY_TRUE);
    asy_task_cancel(vm, L->main_task, ASY_UNDEF);
}

static void arm_timeout(Child *c, int idx) {
    AsyVM *vm = c->vm;
    asy_dict_set_cstr(vm, c->driver, "_current", ASY_INT(idx));
    asy_dict_set_cstr(vm, c->driver, "_timed_out", ASY_FALSE);
    if (c->opt->timeout <= 0 || !asy_loop_get(vm)) {
        asy_exc_clear(vm);
        return;
    }
    /* The timeout timer must not hide a deadlock: the loop reports one at once when only
     * this timer is left (diag.c), with the dump of every task. */
    ((AsyLoop *)vm->loop)->watchdog = timeout_fire;
    /* Under virtual time a loop timer would fire as soon as every task waits: only the
     * real-time backstop below applies. */
    if (!c->opt->virtual_time &&
        !asy_loop_call_at(vm, asy_loop_time() + c->opt->timeout, timeout_fire, ASY_INT(idx),
                          ASY_OBJ(c->driver)))
        asy_exc_clear(vm);
    /* The backstop for a test that never returns to the loop (a busy loop, a blocking
     * call): SIGALRM ends the child, and the parent reports the timeout. */
    alarm((unsigned)c->opt->timeout + 2);
}

/* A module-level function by name, or UNDEF. */
static AsyValue module_fn(Child *c, const char *name) {
    AsyValue v = asy_dict_get_cstr(c->vm, c->mod, name);
    return !ASY_IS_UNDEF(v) && asy_callable(c->vm, v) ? v : ASY_UNDEF;
}

/* Call driver.NAME(args...); false with the exception pending. */
static bool driver_call(Child *c, const char *name, int argc, AsyValue *argv) {
    AsyValue f = asy_dict_get_cstr(c->vm, c->driver, name);
    if (ASY_IS_UNDEF(f)) return false;
    AsyValue r = asy_call(c->vm, f, argc, argv, NULL);
    return !ASY_IS_ERR(r);
}

/* setup_function(function) is given the test when it takes an argument (as pytest). */
static AsyValue hook_args(Child *c, AsyValue hook, AsyValue test) {
    AsyVM *vm = c->vm;
    if (ASY_IS_UNDEF(hook)) return ASY_OBJ(vm->empty_tuple);
    if (asy_type_of(vm, hook) == ASY_TYPE(vm, function)) {
        AsyCode *code = ((AsyFunction *)ASY_AS_OBJ(hook))->code;
        if (code->argcount == 0) return ASY_OBJ(vm->empty_tuple);
    }
    return ASY_OBJ(asy_tuple_from_array(vm, &test, 1));
}

static bool is_async_function(AsyVM *vm, AsyValue f) {
    return asy_type_of(vm, f) == ASY_TYPE(vm, function) &&
           (((AsyFunction *)ASY_AS_OBJ(f))->code->cflags & ASY_CODE_COROUTINE);
}

/* Run test idx; false when it failed. */
static bool run_test(Child *c, int idx, AsyValue name, AsyValue fn) {
    AsyVM *vm = c->vm;
    const char *test = ((AsyStr *)ASY_AS_OBJ(name))->data;
    send_rec(c->fd, REC_BEGIN, idx, test);
    AsyValue setup = module_fn(c, "setup_function"), teardown = module_fn(c, "teardown_function");
    AsyValue argv[6] = {ASY_IS_UNDEF(setup) ? ASY_NONE : setup, hook_args(c, setup, fn), fn,
                        ASY_IS_UNDEF(teardown) ? ASY_NONE : teardown,
                        hook_args(c, teardown, fn), ASY_BOOL(is_async_function(vm, fn))};
    for (int i = 0; i < 6; i++) asy_root_push(vm, argv[i]);
    arm_timeout(c, idx);
    bool ok = driver_call(c, "run", 6, argv);
    alarm(0);
    asy_root_pop(vm, 6);
    asy_dict_set_cstr(vm, c->driver, "_current", ASY_NONE);
    if (ok) {
        child_result(c, REC_PASS, idx, test, NULL);
        return true;
    }
    char *reason = skip_reason(c);
    if (reason) {
        child_result(c, REC_SKIP, idx, test, reason);
        free(reason);
        return true;
    }
    char heading[64];
    snprintf(heading, sizeof heading, "timed out after %g s", c->opt->timeout);
    bool timed_out = ASY_IS_BOOL(asy_dict_get_cstr(vm, c->driver, "_timed_out")) &&
                     ASY_AS_BOOL(asy_dict_get_cstr(vm, c->driver, "_timed_out"));
    char *text = exception_text(c, timed_out ? heading : NULL);
    child_result(c, REC_FAIL, idx, test, text ? text : "(no report: out of memory)\n");
    free(text);
    return false;
}

/* -k: case-insensitive words joined by `or`/`and`, each maybe preceded by `not`. */
static bool atom_matches(const char *atom, size_t n, const char *name) {
    bool neg = false;
    while (n > 0 && *atom == ' ') atom++, n--;
    while (n > 0 && atom[n - 1] == ' ') n--;
    if (n > 4 && strncmp(atom, "not ", 4) == 0) {
        neg = true;
        atom += 4;
        n -= 4;
    }
    bool found = false;
    for (const char *p = name; *p && !found; p++) found = strncasecmp(p, atom, n) == 0;
    return found != neg;
}

static bool conj_matches(const char *s, size_t n, const char *name) {
    const char *end = s + n;
    while (s < end) {
        const char *and = strstr(s, " and ");
        size_t len = and && and < end ? (size_t)(and - s) : (size_t)(end - s);
        if (!atom_matches(s, len, name)) return false;
        s += len + (and && and < end ? 5 : 0);
        if (!(and && and < end)) break;
    }
    return true;
}

static bool pattern_matches(const char *pat, const char *name) {
    if (!pat) return true;
    for (const char *s = pat;;) {
        const char *or = strstr(s, " or ");
        size_t len = or ? (size_t)(or - s) : strlen(s);
        if (conj_matches(s, len, name)) return true;
        if (!or) return false;
        s = or + 4;
    }
}

/* The tests of the module, in definition order, as a list of (name, function) pairs. */
static AsyList *collect(Child *c) {
    AsyVM *vm = c->vm;
    AsyList *tests = asy_list_new(vm, 8);
    if (!tests) return NULL;
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(c->mod, &pos, &k, &v)) {
        if (asy_type_of(vm, k) != ASY_TYPE(vm, str)) continue;
        const char *name = ((AsyStr *)ASY_AS_OBJ(k))->data;
        if (strncmp(name, "test_", 5) != 0 || !asy_callable(vm, v)) continue;
        char *full = malloc(strlen(c->path) + strlen(name) + 3);
        if (!full) continue;
        sprintf(full, "%s::%s", c->path, name);
        if (pattern_matches(c->opt->pattern, full)) {
            asy_list_append(vm, tests, k);
            asy_list_append(vm, tests, v);
        }
        free(full);
    }
    return tests;
}

static AsyDict *load_driver(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "_asytest");
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_register(vm, m);
    AsyCode *code = asy_compile(vm, driver_src, sizeof driver_src - 1, DRIVER_FILE, ASY_PARSE_MODULE);
    if (!code) return NULL;
    asy_root_push(vm, ASY_OBJ(code));
    AsyValue r = asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) return NULL;
    /* skip(reason) is a builtin while tests run, in helper modules too */
    asy_dict_set_cstr(vm, vm->builtins->dict, "skip", asy_dict_get_cstr(vm, m->dict, "skip"));
    return m->dict;
}

/* The module name of a test file: its base name without .asy. */
static char *module_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".asy") == 0) n -= 4;
    return strndup(base, n);
}

static AsyDict *load_module(Child *c) {
    AsyVM *vm = c->vm;
    size_t len;
    char *src = asy_read_file(c->path, &len);
    if (!src) {
        asy_raise_oserror(vm, errno, c->path);
        return NULL;
    }
    char *name = module_name(c->path);
    AsyModule *m = asy_module_new(vm, name ? name : "test");
    free(name);
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __file__), ASY_OBJ(asy_str_from_cstr(vm, c->path)));
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_register(vm, m);
    AsyCode *code = asy_compile_flags(vm, src, len, c->path, ASY_PARSE_MODULE,
                                      ASY_COMPILE_EXPLAIN_ASSERTS);
    free(src);
    if (!code) return NULL;
    asy_root_push(vm, ASY_OBJ(code));
    AsyValue r = asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
    return ASY_IS_ERR(r) ? NULL : m->dict;
}

/* setup()/teardown() of the module: true when absent or it succeeded. A setup() that
 * calls skip() skips every test (*skip_all gets the reason). */
static bool module_hook(Child *c, const char *name, char **skip_all) {
    AsyValue f = module_fn(c, name);
    if (ASY_IS_UNDEF(f)) return true;
    alarm(c->opt->timeout > 0 ? (unsigned)c->opt->timeout + 2 : 0);
    bool ok = driver_call(c, "call", 1, &f);
    alarm(0);
    fflush(stdout);
    if (ok) return true;
    if (skip_all && (*skip_all = skip_reason(c))) return false;
    char heading[64];
    snprintf(heading, sizeof heading, "%s() failed", name);
    char *text = exception_text(c, heading);
    child_result(c, REC_ERROR, 0, "", text);
    free(text);
    return false;
}

static void child_run(Child *c, int start) {
    AsyVM *vm = c->vm;
    c->driver = load_driver(vm);
    if (c->driver) c->mod = load_module(c);
    if (!c->driver || !c->mod) {
        char *text = exception_text(c, "cannot load the test file");
        child_result(c, REC_ERROR, 0, "", text);
        free(text);
        return;
    }
    AsyList *tests = collect(c);
    if (!tests) return;
    asy_root_push(vm, ASY_OBJ(tests));
    int n = (int)(tests->len / 2);
    send_rec(c->fd, REC_COUNT, n, NULL);
    char *skip_all = NULL;
    if (n > start && !module_hook(c, "setup", &skip_all)) {
        for (int i = start; i < n; i++) {
            const char *test = ((AsyStr *)ASY_AS_OBJ(tests->items[2 * i]))->data;
            send_rec(c->fd, REC_BEGIN, i, test);
            child_result(c, skip_all ? REC_SKIP : REC_FAIL, i, test,
                         skip_all ? skip_all : "setup() failed\n");
        }
        free(skip_all);
        asy_root_pop(vm, 1);
        return;
    }
    for (int i = start; i < n; i++) {
        if (!run_test(c, i, tests->items[2 * i], tests->items[2 * i + 1]) && c->opt->exitfirst)
            break;
    }
    if (n > start) module_hook(c, "teardown", NULL);
    asy_root_pop(vm, 1);
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static void child_main(const Options *opt, const char *path, int start, int tapnum, int fd) {
    signal(SIGALRM, SIG_DFL);
    if (opt->virtual_time) asy_loop_set_virtual_time(true);
    AsyVM *vm = asy_vm_new();
    if (!vm) {
        fprintf(stderr, "asy test: out of memory\n");
        _exit(1);
    }
    AsyList *argv = asy_list_new(vm, 1);
    asy_list_append(vm, argv, ASY_OBJ(asy_str_from_cstr(vm, path)));
    vm->sys_argv = ASY_OBJ(argv);
    char *dir = dir_of(path);
    vm->script_dir = dir;
    Child c = {.vm = vm, .opt = opt, .path = path, .fd = fd, .tapnum = tapnum};
    child_run(&c, start);
    send_rec(fd, REC_DONE, 0, NULL);
    fflush(stdout);
    fflush(stderr);
    asy_exc_clear(vm);
    asy_vm_exit(vm);
    vm = NULL;
    free(dir);
    _exit(0);
}

/* ==================================================================================== */
/* The parent: runs each file's children and prints the report.                         */
/* ==================================================================================== */

/* Print `text` as TAP diagnostics (each line "# ..."). */
static void print_tap_diag(const char *text) {
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        printf("# %.*s\n", (int)n, text);
        text += n + (nl ? 1 : 0);
    }
}

static void print_result(const Options *opt, int tapnum, char kind, const char *name,
                         const char *text) {
    switch (kind) {
    case REC_PASS:
        if (opt->tap) printf("ok %d - %s\n", tapnum, name);
        else if (opt->verbose) printf("PASS %s\n", name);
        break;
    case REC_SKIP:
        if (opt->tap) printf("ok %d - %s # SKIP %s\n", tapnum, name, text);
        else if (opt->verbose) printf("SKIP %s%s%s\n", name, *text ? ": " : "", text);
        break;
    default: /* REC_FAIL, REC_ERROR */
        if (opt->tap) {
            printf("not ok %d - %s\n", tapnum, name);
            print_tap_diag(text);
        } else {
            printf("FAIL %s\n%s", name, text);
            if (*text && text[strlen(text) - 1] != '\n') putchar('\n');
            putchar('\n');
        }
        break;
    }
    fflush(stdout);
}

static void tally(const Options *opt, Totals *t, char kind) {
    t->tapnum++;
    if (kind == REC_PASS) t->passed++;
    else if (kind == REC_SKIP) t->skipped++;
    else t->failed++, t->stop = opt->exitfirst;
}

/* A result the parent found itself (a child died): printed and counted. */
static void report(const Options *opt, Totals *t, char kind, const char *name, const char *text) {
    tally(opt, t, kind);
    print_result(opt, t->tapnum, kind, name, text);
}

/* What a child that ended with `status` during a test did to it. */
static void describe_death(char *buf, size_t n, int status, const Options *opt) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        snprintf(buf, n, "timed out after %g s: the test process was stopped (no traceback)\n",
                 opt->timeout);
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "the test process died: %s\n", strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "the test process exited with status %d during the test\n",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* One child, from test `start`. Returns the index to restart from, or -1 when done. */
static int run_child(const Options *opt, Totals *t, const char *path, int start) {
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) {
        perror("asy test: pipe");
        t->failed++;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("asy test: fork");
        t->failed++;
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(opt, path, start, t->tapnum, fds[1]);
    }
    close(fds[1]);
    int count = -1, running = -1;
    char *running_name = NULL;
    bool done = false;
    RecHead h;
    while (read_all(fds[0], &h, sizeof h)) {
        char *text = calloc(1, (size_t)h.len + 1);
        if (!text || (h.len && !read_all(fds[0], text, h.len))) {
            free(text);
            break;
        }
        if (h.kind == REC_BEGIN) {
            free(running_name);
            running_name = malloc(strlen(path) + h.len + 3);
            if (running_name) sprintf(running_name, "%s::%s", path, text);
            running = h.idx;
        } else if (h.kind == REC_COUNT) {
            count = h.idx;
        } else if (h.kind == REC_DONE) {
            done = true;
        } else {
            tally(opt, t, h.kind);
            if (h.kind != REC_ERROR) running = -1;
        }
        free(text);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int next = -1;
    if (running >= 0) {
        char why[160];
        describe_death(why, sizeof why, status, opt);
        report(opt, t, REC_FAIL, running_name ? running_name : path, why);
        if (running + 1 < count && !t->stop) next = running + 1;
    } else if (!done) {
        char why[160];
        describe_death(why, sizeof why, status, opt);
        report(opt, t, REC_ERROR, path, why);
    }
    free(running_name);
    return next;
}

static void run_file(const Options *opt, Totals *t, const char *path) {
    for (int start = 0; start >= 0 && !t->stop;) start = run_child(opt, t, path, start);
}

/* ---- discovery ---- */

typedef struct {
    char **items;
    size_t n, cap;
} StrVec;

static void strvec_push(StrVec *v, char *s) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->items = realloc(v->items, v->cap * sizeof *v->items);
        if (!v->items) {
            fprintf(stderr, "asy test: out of memory\n");
            exit(2);
        }
    }
    v->items[v->n++] = s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_test_file(const char *name) {
    size_t n = strlen(name);
    return strncmp(name, "test_", 5) == 0 && n > 9 && strcmp(name + n - 4, ".asy") == 0;
}

/* Every test_*.asy below dir (hidden folders skipped), sorted. */
static void find_tests(const char *dir, StrVec *out, int depth) {
    DIR *d = opendir(dir);
    if (!d || depth > 64) {
        if (d) closedir(d);
        return;
    }
    StrVec here = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!p) continue;
        if (strcmp(dir, ".") == 0) /* "test_x.asy", not "./test_x.asy" */
            strcpy(p, e->d_name);
        else
            sprintf(p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && is_test_file(e->d_name))))
            strvec_push(&here, p);
        else
            free(p);
    }
    closedir(d);
    if (here.n) qsort(here.items, here.n, sizeof *here.items, cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (stat(here.items[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            find_tests(here.items[i], out, depth + 1);
            free(here.items[i]);
        } else {
            strvec_push(out, here.items[i]);
        }
    }
    free(here.items);
}

/* ---- options ---- */

static const char test_usage[] =
    "usage: asy test [options] [PATH...]\n"
    "Run the test_* functions of test_*.asy files (folders are searched; default: .).\n"
    "\n"
    "Options:\n"
    "  -k PATTERN        only tests whose FILE::NAME contains PATTERN (case-insensitive;\n"
    "                    words may be combined with 'and', 'or' and 'not')\n"
    "  -x                stop at the first failure\n"
    "  -v                print a PASS/SKIP/FAIL line for every test\n"
    "  --tap             print TAP version 13 (for automake's TAP driver)\n"
    "  --timeout S       fail a test that runs longer than S seconds (default 60; 0: none)\n"
    "  --virtual-time    when every task waits on a timer, jump the clock to the next\n"
    "                    deadline (sleeps take no real time)\n"
    "  -h, --help        print this help and exit\n"
    "\n"
    "The last line is 'N passed, M failed' (', K skipped' when some were).\n"
    "Exit status: 0 when nothing failed, 1 when a test failed, 2 for a usage error.\n";

static void usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "asy test: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'asy test --help' for more information.\n");
    exit(2);
}

static int parse_options(int argc, char **argv, Options *opt, StrVec *paths) {
    opt->timeout = 60;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            strvec_push(paths, argv[i]);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(test_usage, stdout);
            exit(0);
        } else if (strcmp(a, "-k") == 0) {
            if (i + 1 >= argc) usage_error("option %s requires an argument", a);
            opt->pattern = argv[++i];
        } else if (strcmp(a, "-x") == 0 || strcmp(a, "--exitfirst") == 0) {
            opt->exitfirst = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            opt->verbose = true;
        } else if (strcmp(a, "--tap") == 0) {
            opt->tap = true;
        } else if (strcmp(a, "--virtual-time") == 0) {
            opt->virtual_time = true;
        } else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            char *end;
            if (!v) usage_error("option %s requires an argument", a);
            opt->timeout = strtod(v, &end);
            if (*end || end == v || opt->timeout < 0 || opt->timeout > 1e6)
                usage_error("invalid timeout '%s' (seconds expected)", v);
        } else {
            usage_error("unknown option '%s'", a);
        }
    }
    for (; i < argc; i++) strvec_push(paths, argv[i]);
    return 0;
}

int asy_test_main(int argc, char **argv) {
    Options opt = {0};
    StrVec paths = {0}, files = {0};
    parse_options(argc, argv, &opt, &paths);
    if (paths.n == 0) strvec_push(&paths, ".");
    for (size_t i = 0; i < paths.n; i++) {
        struct stat st;
        if (stat(paths.items[i], &st) != 0)
            usage_error("no such file or folder: '%s'", paths.items[i]);
        if (S_ISDIR(st.st_mode)) find_tests(paths.items[i], &files, 0);
        else strvec_push(&files, strdup(paths.items[i]));
    }
    free(paths.items);
    if (opt.tap) printf("TAP version 13\n");
    Totals t = {0};
    for (size_t i = 0; i < files.n && !t.stop; i++) run_file(&opt, &t, files.items[i]);
    if (files.n == 0) fprintf(stderr, "asy test: no test_*.asy files found\n");
    for (size_t i = 0; i < files.n; i++) free(files.items[i]);
    free(files.items);
    if (opt.tap) printf("1..%d\n# ", t.tapnum);
    printf("%d passed, %d failed", t.passed, t.failed);
    if (t.skipped) printf(", %d skipped", t.skipped);
    printf("\n");
    return fflush(stdout) != 0 || t.failed ? 1 : 0;
}
