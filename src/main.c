/* main.c - the command line, and nothing else: parse options, set sys.argv, run a file,
 * a string or stdin, and turn the outcome into an exit status (0, 1 for an uncaught
 * exception, 2 for a usage error, sys.exit(n)'s n).
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "compiler.h"
#include "debug.h"
#include "repl.h"
#include "testrunner.h"
#include "trace.h"
#include "vm.h"

#define EXIT_USAGE 2
/* After an uncaught KeyboardInterrupt the process ends by SIGINT, as CPython's does, so a
 * shell loop around asy stops too (the shell reports status 130). */
#define EXIT_INTERRUPTED 130

static const char usage_text[] =
    "usage: asy [option] ... [FILE | -e CODE | -c CODE | -] [ARG] ...\n"
    "       asy test [option] ... [PATH] ...\n"
    "Run an asy script: the part of Python 3.11 that async scripting needs.\n"
    "\n"
    "  FILE               run the program in FILE (sys.argv[0] is FILE)\n"
    "  -e CODE, -c CODE   run CODE given as a string\n"
    "  -                  read the program from standard input\n"
    "  (none)             on a terminal: the interactive prompt (REPL);\n"
    "                     otherwise read the program from standard input\n"
    "  test [PATH...]     run the test_* functions of test_*.asy files\n"
    "                     (see 'asy test --help')\n"
    "\n"
    "Options:\n"
    "  --check FILE        compile FILE and report syntax errors; run nothing\n"
    "  --disassemble FILE  print FILE's bytecode\n"
    "  --dump-tasks        on SIGQUIT (Ctrl-\\) print every task to stderr: name, state,\n"
    "                      where it was created and the awaits down to the line it\n"
    "                      waits on; the program goes on\n"
    "  --trace FILE        write every task's life (created, running, waiting on what,\n"
    "                      finished or cancelled) to FILE as Chrome trace-event JSON,\n"
    "                      which Perfetto (ui.perfetto.dev) opens\n"
    "  --timeline FILE     draw the same as an SVG Gantt chart: a lane per task,\n"
    "                      running and waiting shaded, time in ms\n"
    "  -X dev              development mode: asyncio's debug mode, which reports\n"
    "                      steps that block the loop for 0.1 s or more, with the\n"
    "                      blocking call (also ASYNCIO_DEBUG=1, PYTHONASYNCIODEBUG=1)\n"
    "  --version           print asy's version and exit\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 after an uncaught exception, 2 for a usage error,\n"
    "n after sys.exit(n).\n";

static void usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "asy: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'asy --help' for more information.\n");
    exit(EXIT_USAGE);
}

/* The exit status for a pending SystemExit, printing its message as CPython does. */
static int exit_status_of_system_exit(AsyVM *vm) {
    AsyException *e = vm->exc;
    asy_exc_clear(vm);
    AsyValue code = e->value;
    if (ASY_IS_NONE(code) || ASY_IS_UNDEF(code)) return 0;
    if (ASY_IS_INTLIKE(code)) return (int)(ASY_AS_INT(code) & 0xff);
    AsyValue s = asy_str(vm, code);
    fflush(stdout);
    if (!ASY_IS_ERR(s)) fprintf(stderr, "%s\n", ((AsyStr *)ASY_AS_OBJ(s))->data);
    asy_exc_clear(vm);
    return 1;
}

static int exit_status(AsyVM *vm, bool ok) {
    if (fflush(stdout) != 0 && ok) {
        fprintf(stderr, "asy: error writing to standard output: %s\n", strerror(errno));
        return 1;
    }
    if (ok) return 0;
    if (asy_exc_matches(vm, ASY_EXC_SystemExit)) return exit_status_of_system_exit(vm);
    bool interrupted = asy_exc_matches(vm, ASY_EXC_KeyboardInterrupt);
    /* CPython keeps the exception it printed (sys.last_value) until shutdown, and what it
     * refers to with it: a coroutine never awaited that it holds warns as "sys:1". */
    asy_root_push(vm, ASY_OBJ(vm->exc));
    asy_vm_print_exception(vm);
    return interrupted ? EXIT_INTERRUPTED : 1;
}

static void set_argv(AsyVM *vm, int argc, char **argv, const char *argv0) {
    AsyList *l = asy_list_new(vm, argc + 1);
    asy_list_append(vm, l, ASY_OBJ(asy_str_from_cstr(vm, argv0)));
    for (int i = 0; i < argc; i++) asy_list_append(vm, l, ASY_OBJ(asy_str_from_cstr(vm, argv[i])));
    vm->sys_argv = ASY_OBJ(l);
}

static char *read_stream(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap) continue;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* CPython names the main script by its absolute path (os.path.abspath: the current
 * folder joined and "." and ".." folded, symlinks kept). malloc'd. */
static char *abspath(const char *path) {
    char cwd[4096];
    size_t n = strlen(path);
    char *joined;
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) {
        joined = strdup(path);
    } else {
        joined = malloc(strlen(cwd) + n + 2);
        if (joined) sprintf(joined, "%s/%s", cwd, path);
    }
    if (!joined) return NULL;
    /* Fold components in place: parts are copied left, ".." drops the previous one. */
    char *out = joined, *w = joined;
    for (char *r = joined; *r;) {
        while (*r == '/') r++;
        char *end = strchr(r, '/');
        size_t len = end ? (size_t)(end - r) : strlen(r);
        if (len == 0) break;
        if (len == 1 && r[0] == '.') {
        } else if (len == 2 && r[0] == '.' && r[1] == '.') {
            while (w > out && *--w != '/') {}
        } else {
            *w++ = '/';
            memmove(w, r, len);
            w += len;
        }
        r += len;
    }
    if (w == out) *w++ = '/';
    *w = '\0';
    return out;
}

static char *read_script(const char *path, size_t *len) {
    char *src = asy_read_file(path, len);
    if (!src) {
        int err = errno;
        char *abs = abspath(path);
        fprintf(stderr, "asy: can't open file '%s': [Errno %d] %s\n", abs ? abs : path, err,
                strerror(err));
        free(abs);
        exit(EXIT_USAGE);
    }
    return src;
}

/* The folder imports search: the script's own. */
static char *script_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int run_source(AsyVM *vm, const char *src, size_t len, const char *filename) {
    AsyModule *m = asy_vm_run_source(vm, src, len, filename, "__main__");
    return exit_status(vm, m != NULL);
}

/* --check and --disassemble: compile only. */
static int compile_only(AsyVM *vm, const char *path, bool disassemble) {
    size_t len;
    char *src = read_script(path, &len);
    AsyCode *code = asy_compile(vm, src, len, path, ASY_PARSE_MODULE);
    free(src);
    if (!code) return exit_status(vm, false);
    if (disassemble) asy_disassemble(vm, code, stdout);
    return exit_status(vm, true);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "test") == 0) return asy_test_main(argc - 1, argv + 1);
    int i = 1;
    const char *code = NULL, *file = NULL, *check = NULL, *disasm = NULL;
    bool dump_tasks = false, dev_mode = false;
    const char *trace_json = NULL, *trace_svg = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("asy %s\n", PACKAGE_VERSION);
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(a, "-e") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) usage_error("option %s requires an argument", a);
            code = argv[++i];
            i++;
            break;
        }
        if (strcmp(a, "--check") == 0 || strcmp(a, "--disassemble") == 0) {
            if (i + 1 >= argc) usage_error("option %s requires a file", a);
            *(a[2] == 'c' ? &check : &disasm) = argv[++i];
            continue;
        }
        if (strcmp(a, "--dump-tasks") == 0) {
            dump_tasks = true;
            continue;
        }
        if (strcmp(a, "--trace") == 0 || strcmp(a, "--timeline") == 0) {
            if (i + 1 >= argc) usage_error("option %s requires a file", a);
            *(a[3] == 'r' ? &trace_json : &trace_svg) = argv[++i];
            continue;
        }
        if (strncmp(a, "-X", 2) == 0) {
            /* -X dev / -Xdev; CPython accepts any other -X option silently, and so do we */
            const char *x = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
            if (!x) usage_error("option %s requires an argument", a);
            if (strcmp(x, "dev") == 0) dev_mode = true;
            continue;
        }
        if (strcmp(a, "-") == 0 || a[0] != '-') {
            file = a;
            i++;
            break;
        }
        usage_error("unknown option '%s'", a);
    }
#if defined(__GLIBC__)
    /* glibc's fastbins hold freed small blocks back from coalescing; with the GC freeing
     * objects in bulk that fragments the heap. Off: json.asy 1.79 -> 1.22 s CPU, regex.asy
     * 0.39 -> 0.34 s, the other benchmarks unchanged. */
    mallopt(M_MXFAST, 0);
#endif
    AsyVM *vm = asy_vm_new();
    if (!vm) {
        fprintf(stderr, "asy: out of memory\n");
        return 1;
    }
    asy_signals_install(vm);
    vm->dev_mode = dev_mode;
    if (trace_json || trace_svg) {
        vm->trace = asy_trace_new(trace_json, trace_svg, file ? file : code ? "-c" : "-");
        if (!vm->trace) {
            fprintf(stderr, "asy: out of memory\n");
            return 1;
        }
    }
    if (dump_tasks) {
        vm->dump_tasks = true;
        asy_signals_dump_on_sigquit(vm);
    }
    int status;
    if (check || disasm) {
        status = compile_only(vm, check ? check : disasm, disasm != NULL);
    } else if (code) {
        set_argv(vm, argc - i, argv + i, "-c");
        vm->script_dir = ".";
        status = run_source(vm, code, strlen(code), "<string>");
    } else if (!file && isatty(STDIN_FILENO)) {
        set_argv(vm, 0, argv, "");
        vm->script_dir = ".";
        status = exit_status(vm, !ASY_IS_ERR(asy_repl_run(vm)));
    } else {
        bool from_stdin = !file || strcmp(file, "-") == 0;
        size_t len;
        char *src = from_stdin ? read_stream(stdin, &len) : read_script(file, &len);
        char *abs = from_stdin ? strdup("<stdin>") : abspath(file);
        char *dir = from_stdin ? strdup(".") : script_dir_of(abs);
        set_argv(vm, argc - i, argv + i, from_stdin ? "-" : file);
        vm->script_dir = dir;
        status = src && abs ? run_source(vm, src, len, abs) : 1;
        free(src);
        vm->script_dir = NULL;
        free(dir);
        free(abs);
    }
    if (!asy_trace_finish(vm) && status == 0) status = 1;
    asy_signals_uninstall(vm);
    asy_vm_exit(vm);
    if (status == EXIT_INTERRUPTED) {
        fflush(stdout);
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    return status;
}
