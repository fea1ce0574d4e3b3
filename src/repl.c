/* repl.c - the interactive prompt: `asy` with no arguments on a terminal.
 *
 * The REPL is the main task of one long asyncio run, so the event loop keeps running
 * while the user types: tasks created at the prompt progress in the background, and
 * `await` works at the prompt. The task loops in the small driver below (written in asy):
 * it awaits _read(), a native awaitable that suspends until a whole statement has been
 * typed, compiles the statement in SINGLE mode (expression results are echoed with repr)
 * and runs it as a function of __main__, awaiting it when it used `await`.
 *
 * Input: libedit in callback mode. While the task waits in _read(), standard input is an
 * event on the loop's libevent base; asy reads the keys there are without blocking and
 * hands them to libedit one by one (rl_getc_function, rl_callback_read_char()), whose line
 * handler collects lines until the parser says the statement is complete (a
 * compound statement needs a blank line after it, as in CPython). The terminal is in
 * libedit's mode only while reading: statements run with the terminal as it was.
 *
 * Ctrl-C (the loop's SIGINT watcher calls repl_sigint through L->sigint_hook): while
 * reading it discards the input; while a statement awaits it cancels the REPL task at its
 * await point, and the driver reports KeyboardInterrupt and goes on. A statement that
 * never awaits cannot be interrupted (the interpreter has no asynchronous exceptions).
 */
#include "common.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "compiler.h"
#include "dynlib.h"
#include "function.h"
#include "loop.h"
#include "parser.h"
#include "repl.h"
#include "task.h"

#define DRIVER_FILE "<asy repl>"
#define PROMPT ">>> "
#define PROMPT_MORE "... "
#define HISTORY_LINES 1000

static const char driver_src[] =
    "import asyncio as _asyncio\n"
    "\n"
    "def exit(code=None):\n"
    "    raise SystemExit(code)\n"
    "\n"
    "quit = exit\n"
    "\n"
    "async def main():\n"
    "    while True:\n"
    "        try:\n"
    "            src = await _read()\n"
    "            if src is None:\n"
    "                return\n"
    "            r = _compile(src)()\n"
    "            if r is not None:\n"
    "                await r\n"
    "        except SystemExit:\n"
    "            raise\n"
    "        except BaseException as e:\n"
    "            _report(e)\n"
    "        _done()\n";

typedef struct {
    AsyVM *vm;
    const AsyLibedit *ed;   /* libedit, opened when the REPL starts (dynlib.c)          */
    struct event *stdin_ev;
    AsyTask *waiter;        /* the REPL task while it waits for a statement             */
    char *buf;              /* the statement typed so far                               */
    size_t len, cap;
    bool reading;           /* libedit has the terminal; stdin is watched               */
    bool complete, eof;     /* the statement is ready / Ctrl-D                          */
    bool interrupted;       /* Ctrl-C cancelled the running statement                   */
    char *histfile;
    /* Keys read from the terminal and not yet given to libedit, which reads them through
     * repl_getc: libedit never reads the terminal itself, so it never blocks the loop. */
    char keys[256];
    size_t key_pos, key_len;
    bool keys_eof;          /* the terminal hung up                                     */
} Repl;

/* libedit's line handler has no context argument: the one REPL of this process. */
static Repl *the_repl;

/* ---- reading a statement ---- */

static bool is_compound(const AstNode *stmt) {
    switch (stmt->kind) {
    case AST_IF: case AST_WHILE: case AST_FOR: case AST_FUNCTIONDEF: case AST_CLASSDEF:
    case AST_TRY: case AST_WITH: return true;
    default: return false;
    }
}

/* The last line of the buffer (it ends with '\n') holds only blanks. */
static bool ends_with_blank_line(const Repl *r) {
    size_t i = r->len - 1; /* the final '\n' */
    while (i > 0 && r->buf[i - 1] != '\n') {
        if (r->buf[i - 1] != ' ' && r->buf[i - 1] != '\t') return false;
        i--;
    }
    return true;
}

/* Whether the buffer is a statement to run now: complete, or a syntax error (which the
 * compiler will report); false when the user has more to type. */
static bool statement_ready(Repl *r) {
    AstArena *arena = asy_ast_arena_new();
    if (!arena) return true;
    AsyParseError err;
    memset(&err, 0, sizeof err);
    AstNode *root = asy_parse(arena, r->buf, r->len, ASY_PARSE_SINGLE, &err);
    bool ready;
    if (!root) {
        ready = !err.incomplete;
    } else {
        AstList *body = &root->u.module.body;
        bool more_lines = memchr(r->buf, '\n', r->len - 1) != NULL;
        /* CPython ends a block with an empty line, even a one-line `if x: f()` */
        ready = body->n == 0 || !is_compound(body->items[body->n - 1]) ||
                (more_lines && ends_with_blank_line(r));
    }
    asy_ast_arena_free(arena);
    return ready;
}

static void append(Repl *r, const char *s, size_t n) {
    if (r->len + n + 2 > r->cap) {
        size_t cap = (r->len + n + 2) * 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) return;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static void stop_reading(Repl *r) {
    if (!r->reading) return;
    r->reading = false;
    event_del(r->stdin_ev);
    r->ed->rl_callback_handler_remove();
}

static void statement_done(Repl *r) {
    r->complete = true;
    stop_reading(r);
    if (r->waiter) asy_task_wait_resolve(r->vm, r->waiter, ASY_NONE);
}

static void on_line(char *line) {
    Repl *r = the_repl;
    if (!line) { /* Ctrl-D: leave, unless it ends a half-typed block */
        fputc('\n', stdout);
        fflush(stdout);
        if (r->len == 0) r->eof = true;
        statement_done(r);
        return;
    }
    size_t n = strlen(line);
    if (n > 0 && strspn(line, " \t") < n) r->ed->add_history(line);
    append(r, line, n);
    append(r, "\n", 1);
    free(line);
    if (statement_ready(r)) {
        statement_done(r);
        return;
    }
    r->ed->rl_callback_handler_install(PROMPT_MORE, on_line);
}

/* libedit's getc (rl_getc_function): the next key on_stdin read. Only when libedit wants
 * more keys than came at once (the rest of an escape sequence) does it wait for them. */
static int repl_getc(FILE *f) {
    ASY_UNUSED(f);
    Repl *r = the_repl;
    while (r->key_pos == r->key_len && !r->keys_eof) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) return EOF;
        ssize_t n = read(STDIN_FILENO, r->keys, sizeof r->keys);
        if (n > 0) r->key_pos = 0, r->key_len = (size_t)n;
        else if (n == 0 || (errno != EINTR && errno != EAGAIN)) r->keys_eof = true;
    }
    return r->key_pos < r->key_len ? (unsigned char)r->keys[r->key_pos++] : EOF;
}

/* Read the keys there are now, without blocking: the readiness the loop reported can be
 * stale, since a Ctrl-C typed after other keys makes the terminal discard its input queue
 * (ISIG without NOFLSH), and a blocking read would stop the loop, so the Ctrl-C would never
 * be reported. False when there is nothing to read. */
static bool read_keys(Repl *r, int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    ssize_t n = read(fd, r->keys, sizeof r->keys);
    int err = errno;
    if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags);
    if (n > 0) {
        r->key_pos = 0;
        r->key_len = (size_t)n;
        return true;
    }
    if (n == 0 || (err != EAGAIN && err != EINTR)) r->keys_eof = true; /* libedit sees EOF */
    return r->keys_eof;
}

/* Standard input is readable (or keys typed ahead wait): give libedit the keys one by one,
 * while it is reading; what a finished statement leaves waits for the next prompt. */
static void on_stdin(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(what);
    ASY_UNUSED(arg);
    Repl *r = the_repl;
    if (r->key_pos == r->key_len && !read_keys(r, fd)) return;
    do
        r->ed->rl_callback_read_char();
    while (r->reading && r->key_pos < r->key_len);
}

static void start_reading(Repl *r) {
    if (r->reading) return;
    fflush(stdout);
    fflush(stderr);
    r->reading = true;
    r->len = 0;
    if (r->buf) r->buf[0] = '\0';
    r->ed->rl_callback_handler_install(PROMPT, on_line);
    event_add(r->stdin_ev, NULL);
    if (r->key_pos < r->key_len) event_active(r->stdin_ev, EV_READ, 0); /* typed ahead */
}

/* The awaitable _read() returns: the next statement as a str, or None at Ctrl-D. */
static int op_read(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    ASY_UNUSED(op);
    Repl *r = the_repl;
    if (resumed) {
        r->waiter = NULL;
        if (asy_task_take_exc(vm, t)) {
            stop_reading(r);
            return ASY_AWAIT_ERROR;
        }
    } else if (!r->complete) {
        r->waiter = t;
        start_reading(r);
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, NULL);
        return ASY_AWAIT_SUSPEND;
    }
    r->complete = false;
    if (r->eof) {
        *result = ASY_NONE;
        return ASY_AWAIT_DONE;
    }
    AsyStr *s = asy_str_new(vm, r->buf ? r->buf : "", r->len);
    if (!s) return ASY_AWAIT_ERROR;
    *result = ASY_OBJ(s);
    return ASY_AWAIT_DONE;
}

/* ---- Ctrl-C ---- */

static void repl_sigint(AsyVM *vm) {
    Repl *r = the_repl;
    if (r->reading) { /* drop what was typed (as the terminal drops its queue) and start again */
        r->key_pos = r->key_len = 0;
        r->ed->rl_replace_line("", 0);
        stop_reading(r);
        fputs("\nKeyboardInterrupt\n", stdout);
        start_reading(r);
        return;
    }
    AsyLoop *L = vm->loop;
    if (L->main_task && L->main_task->fut.state == ASY_FUT_PENDING) {
        r->interrupted = true;
        asy_task_cancel(vm, L->main_task, ASY_UNDEF);
    }
}

/* ---- the driver's natives ---- */

static AsyValue r_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_read", argc, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, op_read, "_read", ASY_UNDEF, ASY_UNDEF));
}

/* _compile(src): the statement as a function of __main__ (a coroutine function when it
 * awaits), so the driver can call it and await what it returns. */
static AsyValue r_compile(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_compile", argc, 1, 1)) return ASY_ERR;
    AsyStr *src = (AsyStr *)ASY_AS_OBJ(argv[0]);
    AsyCode *code = asy_compile(vm, src->data, src->len, "<stdin>", ASY_PARSE_SINGLE);
    if (!code) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(code));
    AsyFunction *f = asy_function_new(vm, code, vm->main_module->dict);
    asy_root_pop(vm, 1);
    return f ? ASY_OBJ(f) : ASY_ERR;
}

static bool is_nested_run_error(AsyVM *vm, AsyException *e) {
    if (!asy_exc_is(vm, ASY_OBJ(e), vm->exc_types[ASY_EXC_RuntimeError]) || !e->args ||
        e->args->len != 1 || asy_type_of(vm, e->args->items[0]) != ASY_TYPE(vm, str))
        return false;
    return strstr(((AsyStr *)ASY_AS_OBJ(e->args->items[0]))->data, "asyncio.run() cannot") != NULL;
}

/* _report(e): a statement failed. After Ctrl-C: "KeyboardInterrupt"; else the traceback. */
static AsyValue r_report(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_report", argc, 1, 1)) return ASY_ERR;
    Repl *r = the_repl;
    AsyException *e = (AsyException *)ASY_AS_OBJ(argv[0]);
    fflush(stdout);
    if (r->interrupted && asy_exc_is(vm, argv[0], vm->exc_types[ASY_EXC_CancelledError])) {
        fputs("\nKeyboardInterrupt\n", stderr); /* after the terminal's ^C */
        return ASY_NONE;
    }
    asy_traceback_drop_file(vm, e, DRIVER_FILE);
    asy_traceback_print(vm, e, stderr);
    if (is_nested_run_error(vm, e))
        fputs("hint: the prompt already runs an event loop: write `await main()` instead of "
              "`asyncio.run(main())`\n",
              stderr);
    return ASY_NONE;
}

/* _done(): after each statement, forget a Ctrl-C the statement has seen (or that came
 * too late to reach it), so the REPL task goes on as if never cancelled. */
static AsyValue r_done(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_done", argc, 0, 0)) return ASY_ERR;
    Repl *r = the_repl;
    AsyTask *t = asy_task_current(vm);
    if (r->interrupted && t) {
        t->must_cancel = 0;
        t->num_cancels = 0;
    }
    r->interrupted = false;
    fflush(stdout);
    fflush(stderr);
    return ASY_NONE;
}

static const AsyMethodDef repl_natives[] = {
    {"_read", r_read, 0, "Wait for the next statement typed at the prompt."},
    {"_compile", r_compile, 0, "Compile a statement typed at the prompt."},
    {"_report", r_report, 0, "Print why a statement failed."},
    {"_done", r_done, 0, "Forget a Ctrl-C after a statement."},
    {NULL, NULL, 0, NULL},
};

/* ---- setup ---- */

static AsyModule *make_main(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "__main__");
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_register(vm, m);
    vm->main_module = m;
    return m;
}

/* The driver module; exit()/quit() become builtins while the REPL runs. */
static AsyDict *load_driver(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "_asyrepl");
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_register(vm, m);
    asy_module_add_functions(vm, m, repl_natives);
    AsyCode *code = asy_compile(vm, driver_src, sizeof driver_src - 1, DRIVER_FILE, ASY_PARSE_MODULE);
    if (!code) return NULL;
    asy_root_push(vm, ASY_OBJ(code));
    AsyValue res = asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(res)) return NULL;
    const char *names[] = {"exit", "quit"};
    for (int i = 0; i < 2; i++)
        if (ASY_IS_UNDEF(asy_dict_get_cstr(vm, vm->builtins->dict, names[i])))
            asy_dict_set_cstr(vm, vm->builtins->dict, names[i], asy_dict_get_cstr(vm, m->dict, names[i]));
    return m->dict;
}

static void history_open(Repl *r) {
    r->ed->using_history();
    r->ed->stifle_history(HISTORY_LINES);
    const char *home = getenv("HOME");
    if (!home || !*home) return;
    r->histfile = malloc(strlen(home) + sizeof "/.asy_history");
    if (!r->histfile) return;
    sprintf(r->histfile, "%s/.asy_history", home);
    r->ed->read_history(r->histfile);
}

static void history_close(Repl *r) {
    if (r->histfile) r->ed->write_history(r->histfile);
    free(r->histfile);
}

AsyValue asy_repl_run(AsyVM *vm) {
    Repl r = {.vm = vm, .ed = asy_libedit(vm)};
    if (!r.ed) return asy_raise(vm, ASY_EXC_ImportError, "%s", asy_dynlib_error(vm));
    the_repl = &r;
    make_main(vm);
    AsyDict *driver = load_driver(vm);
    AsyLoop *L = driver ? asy_loop_get(vm) : NULL;
    if (!L) return ASY_ERR;
    r.stdin_ev = event_new(L->base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, NULL);
    if (!r.stdin_ev) return asy_raise(vm, ASY_EXC_RuntimeError, "cannot watch standard input");
    *r.ed->rl_getc_function = repl_getc; /* before libedit starts (history_open) */
    history_open(&r);
    *r.ed->rl_catch_signals = 0; /* Ctrl-C reaches the loop's watcher, then repl_sigint */
    fprintf(stderr, "asy %s (the async part of Python 3.11); await works at the prompt.\n"
                    "Type Ctrl-D or exit() to leave.\n",
            PACKAGE_VERSION);
    L->sigint_hook = repl_sigint;
    AsyValue main = asy_call(vm, asy_dict_get_cstr(vm, driver, "main"), 0, NULL, NULL);
    AsyValue res = ASY_IS_ERR(main) ? main : asy_asyncio_run_main(vm, main);
    L->sigint_hook = NULL;
    stop_reading(&r);
    event_free(r.stdin_ev);
    history_close(&r);
    free(r.buf);
    the_repl = NULL;
    return ASY_IS_ERR(res) ? ASY_ERR : ASY_NONE;
}
