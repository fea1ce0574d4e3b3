/* mod_os.c - the os module and os.path: environment, working folder, files and folders,
 * process id, and path manipulation with POSIX semantics (as CPython's posixpath).
 * Failures raise the OSError subclass errno maps to, naming the path as CPython does.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "compiler.h"
#include "number.h"
#include "vm.h"

extern char **environ;

/* ---- argument helpers ---- */

/* A path argument as CPython's path_t converts it: a str, or an object whose __fspath__
 * returns one, without NUL (*path, which the str keeps; no safepoint comes before its use);
 * with `fd` given, also a file descriptor (*fd, *path NULL): an int, bool or __index__
 * object that fits a C int (OverflowError otherwise). False with an exception pending. */
static bool path_or_fd(AsyVM *vm, const char *fname, AsyValue v, int *fd, const char **path) {
    *path = NULL;
    if (fd && (ASY_IS_INTLIKE(v) || asy_isinstance(vm, v, ASY_TYPE(vm, int)) ||
               !ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, v), ASY_S(vm, __index__))))) {
        AsyValue n = asy_num_index(vm, v);
        if (ASY_IS_ERR(n)) return false;
        int over = 0;
        int64_t i = asy_num_int_as_i64(n, &over);
        if (over || i > INT_MAX || i < INT_MIN) {
            asy_raise(vm, ASY_EXC_OverflowError, "fd is %s",
                      over > 0 || i > 0 ? "greater than maximum" : "less than minimum");
            return false;
        }
        *fd = (int)i;
        return true;
    }
    AsyStr *s = NULL;
    if (ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str))) {
        s = (AsyStr *)ASY_AS_OBJ(v);
    } else {
        AsyType *t = asy_type_of(vm, v);
        AsyValue f = asy_type_lookup(t, asy_str_intern_cstr(vm, "__fspath__"));
        if (ASY_IS_UNDEF(f)) {
            asy_raise(vm, ASY_EXC_TypeError, "%s: path should be string, bytes%s, not %s", fname,
                      fd ? ", os.PathLike or integer" : " or os.PathLike", t->name);
            return false;
        }
        AsyValue r = asy_call_unbound(vm, f, v, t, 0, NULL, NULL);
        if (ASY_IS_ERR(r)) return false;
        if (!(ASY_IS_OBJ(r) && asy_isinstance(vm, r, ASY_TYPE(vm, str)))) {
            asy_raise(vm, ASY_EXC_TypeError,
                      "expected %s.__fspath__() to return str or bytes, not %s", t->name,
                      asy_type_name(vm, r));
            return false;
        }
        s = (AsyStr *)ASY_AS_OBJ(r);
    }
    if (strlen(s->data) != s->len) {
        asy_raise(vm, ASY_EXC_ValueError, "embedded null byte");
        return false;
    }
    *path = s->data;
    return true;
}

static const char *arg_path(AsyVM *vm, const char *fname, AsyValue v) {
    const char *p;
    return path_or_fd(vm, fname, v, NULL, &p) ? p : NULL;
}

static const char *arg_str(AsyVM *vm, AsyValue v) {
    if (ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str)))
        return ((AsyStr *)ASY_AS_OBJ(v))->data;
    asy_raise(vm, ASY_EXC_TypeError, "expected str, bytes or os.PathLike object, not %s",
              asy_type_name(vm, v));
    return NULL;
}

static AsyValue mkstr(AsyVM *vm, const char *s, size_t n) { return ASY_OBJ(asy_str_new(vm, s, n)); }
static AsyValue cstr(AsyVM *vm, const char *s) { return ASY_OBJ(asy_str_from_cstr(vm, s)); }

/* ---- os ---- */

static AsyValue os_putenv(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "putenv", kw) || !asy_check_args(vm, "putenv", argc, 2, 2))
        return ASY_ERR;
    const char *key = arg_str(vm, argv[0]), *value = key ? arg_str(vm, argv[1]) : NULL;
    if (!value) return ASY_ERR;
    /* CPython refuses an '=' itself; the C library refuses an empty name (EINVAL) */
    if (strchr(key, '='))
        return asy_raise(vm, ASY_EXC_ValueError, "illegal environment variable name");
    if (setenv(key, value, 1) != 0) return asy_raise_oserror(vm, errno, NULL);
    return ASY_NONE;
}

static AsyValue os_unsetenv(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "unsetenv", kw) || !asy_check_args(vm, "unsetenv", argc, 1, 1))
        return ASY_ERR;
    const char *key = arg_str(vm, argv[0]);
    if (!key) return ASY_ERR;
    if (unsetenv(key) != 0) return asy_raise_oserror(vm, errno, NULL);
    return ASY_NONE;
}

static AsyValue os_getcwd(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "getcwd", kw) || !asy_check_args(vm, "getcwd", argc, 0, 0))
        return ASY_ERR;
    char buf[4096];
    if (!getcwd(buf, sizeof buf)) return asy_raise_oserror(vm, errno, NULL);
    return cstr(vm, buf);
}

static AsyValue os_chdir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "chdir", kw) || !asy_check_args(vm, "chdir", argc, 1, 1))
        return ASY_ERR;
    const char *p = arg_path(vm, "chdir", argv[0]);
    if (!p) return ASY_ERR;
    if (chdir(p) != 0) return asy_raise_oserror(vm, errno, p);
    return ASY_NONE;
}

static AsyValue os_getpid(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "getpid", kw) || !asy_check_args(vm, "getpid", argc, 0, 0))
        return ASY_ERR;
    return ASY_INT(getpid());
}

/* os.listdir: names in directory order, as CPython (which does not sort either). */
static AsyValue os_listdir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "listdir", kw) || !asy_check_args(vm, "listdir", argc, 0, 1))
        return ASY_ERR;
    const char *p = argc ? arg_path(vm, "listdir", argv[0]) : ".";
    if (!p) return ASY_ERR;
    DIR *d = opendir(p);
    if (!d) return asy_raise_oserror(vm, errno, p);
    AsyList *l = asy_list_new(vm, 8);
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (asy_list_append(vm, l, cstr(vm, e->d_name)) < 0) {
            closedir(d);
            return ASY_ERR;
        }
    }
    closedir(d);
    return ASY_OBJ(l);
}

typedef int (*PathFn)(const char *);

static AsyValue os_path_call(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                             PathFn fn) {
    if (!asy_check_nokw(vm, fname, kw) || !asy_check_args(vm, fname, argc, 1, 1)) return ASY_ERR;
    const char *p = arg_path(vm, fname, argv[0]);
    if (!p) return ASY_ERR;
    if (fn(p) != 0) return asy_raise_oserror(vm, errno, p);
    return ASY_NONE;
}

static AsyValue os_remove(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return os_path_call(vm, "remove", argc, argv, kw, unlink);
}

static AsyValue os_unlink(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return os_path_call(vm, "unlink", argc, argv, kw, unlink);
}

static AsyValue os_rmdir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return os_path_call(vm, "rmdir", argc, argv, kw, rmdir);
}

typedef int (*TwoPathFn)(const char *, const char *);

/* rename, replace, symlink: a call on two paths; a failure names both, as CPython does:
 * "[Errno 2] No such file or directory: 'a' -> 'b'". */
static AsyValue two_path_call(AsyVM *vm, const char *fname, int argc, AsyValue *argv,
                              AsyDict *kw, TwoPathFn fn) {
    if (!asy_check_nokw(vm, fname, kw) || !asy_check_args(vm, fname, argc, 2, 2)) return ASY_ERR;
    const char *a = arg_path(vm, fname, argv[0]), *b = a ? arg_path(vm, fname, argv[1]) : NULL;
    if (!b) return ASY_ERR;
    if (fn(a, b) != 0) {
        asy_raise_oserror(vm, errno, a);
        asy_dict_set_cstr(vm, vm->exc->dict, "filename2", cstr(vm, b));
        return ASY_ERR;
    }
    return ASY_NONE;
}

static AsyValue os_rename(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return two_path_call(vm, "rename", argc, argv, kw, rename);
}

static bool mode_arg(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, int64_t *mode) {
    AsyValue m = asy_kwarg(vm, kw, "mode");
    if (argc > 1) m = argv[1];
    *mode = 0777;
    return ASY_IS_UNDEF(m) || asy_index(vm, m, mode);
}

static AsyValue os_mkdir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    int64_t mode;
    if (!asy_check_args(vm, "mkdir", argc, 1, 2) || !mode_arg(vm, argc, argv, kw, &mode) ||
        !asy_check_kw_done(vm, "mkdir", kw))
        return ASY_ERR;
    const char *p = arg_path(vm, "mkdir", argv[0]);
    if (!p) return ASY_ERR;
    if (mkdir(p, (mode_t)mode) != 0) return asy_raise_oserror(vm, errno, p);
    return ASY_NONE;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static AsyValue os_makedirs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue ok = asy_kwarg(vm, kw, "exist_ok");
    int64_t mode;
    if (!asy_check_args(vm, "makedirs", argc, 1, 3) || !mode_arg(vm, argc, argv, kw, &mode) ||
        !asy_check_kw_done(vm, "makedirs", kw))
        return ASY_ERR;
    if (argc > 2) ok = argv[2];
    int exist_ok = ASY_IS_UNDEF(ok) ? 0 : asy_truthy(vm, ok);
    if (exist_ok < 0) return ASY_ERR;
    const char *p = arg_path(vm, "makedirs", argv[0]);
    if (!p) return ASY_ERR;
    char *buf = strdup(p);
    if (!buf) return asy_raise_memory(vm);
    /* Create each missing ancestor, then the leaf itself. */
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (!is_dir(buf) && mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            int err = errno;
            asy_raise_oserror(vm, err, buf);
            free(buf);
            return ASY_ERR;
        }
        *s = '/';
    }
    free(buf);
    if (mkdir(p, (mode_t)mode) != 0) {
        if (errno == EEXIST && exist_ok && is_dir(p)) return ASY_NONE;
        return asy_raise_oserror(vm, errno, p);
    }
    return ASY_NONE;
}

/* ---- os.path ---- */

static AsyValue path_join(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "join", kw)) return ASY_ERR;
    if (argc == 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "join() missing 1 required positional argument: 'a'");
    AsyStrBuf b;
    asy_strbuf_init(&b);
    for (int i = 0; i < argc; i++) {
        const char *s = arg_str(vm, argv[i]);
        if (!s) {
            asy_strbuf_free(&b);
            if (i > 0) { /* posixpath.join's own check words it so */
                asy_exc_clear(vm);
                asy_raise(vm, ASY_EXC_TypeError,
                          "join() argument must be str, bytes, or os.PathLike object, not '%s'",
                          asy_type_name(vm, argv[i]));
            }
            return ASY_ERR;
        }
        if (s[0] == '/') {
            b.len = 0; /* an absolute component discards what came before */
        } else if (b.len > 0 && b.data[b.len - 1] != '/') {
            asy_strbuf_append(vm, &b, "/", 1);
        }
        asy_strbuf_append_cstr(vm, &b, s);
    }
    AsyStr *r = asy_strbuf_finish(vm, &b);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* Index just past the last '/', as posixpath.split. */
static size_t split_point(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? (size_t)(s - p) + 1 : 0;
}

/* The head of a split: trailing slashes removed unless it is all slashes. */
static AsyValue split_head(AsyVM *vm, const char *p, size_t i) {
    size_t n = i;
    while (n > 0 && p[n - 1] == '/')
        n--;
    if (n == 0) n = i;
    return mkstr(vm, p, n);
}

static AsyValue path_one(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                         const char **out) {
    if (!asy_check_nokw(vm, fname, kw) || !asy_check_args(vm, fname, argc, 1, 1)) return ASY_ERR;
    *out = arg_str(vm, argv[0]);
    return *out ? ASY_NONE : ASY_ERR;
}

static AsyValue path_basename(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "basename", argc, argv, kw, &p))) return ASY_ERR;
    return cstr(vm, p + split_point(p));
}

static AsyValue path_dirname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "dirname", argc, argv, kw, &p))) return ASY_ERR;
    return split_head(vm, p, split_point(p));
}

static AsyValue path_split(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "split", argc, argv, kw, &p))) return ASY_ERR;
    size_t i = split_point(p);
    AsyValue parts[2] = {split_head(vm, p, i), cstr(vm, p + i)};
    return ASY_OBJ(asy_tuple_from_array(vm, parts, 2));
}

static AsyValue path_splitext(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "splitext", argc, argv, kw, &p))) return ASY_ERR;
    size_t base = split_point(p), n = strlen(p);
    const char *dot = strrchr(p + base, '.');
    size_t cut = n;
    if (dot) {
        /* Leading dots of the file name ("".bashrc") are not an extension. */
        const char *q = p + base;
        while (*q == '.')
            q++;
        if (dot >= q) cut = (size_t)(dot - p);
    }
    AsyValue parts[2] = {mkstr(vm, p, cut), cstr(vm, p + cut)};
    return ASY_OBJ(asy_tuple_from_array(vm, parts, 2));
}

static AsyValue path_isabs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "isabs", argc, argv, kw, &p))) return ASY_ERR;
    return ASY_BOOL(p[0] == '/');
}

/* posixpath.normpath */
static AsyStr *normpath(AsyVM *vm, const char *p) {
    if (!*p) return asy_str_from_cstr(vm, ".");
    int lead = p[0] == '/' ? ((p[1] == '/' && p[2] != '/') ? 2 : 1) : 0;
    size_t n = strlen(p);
    const char **parts = malloc((n + 1) * sizeof *parts);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    if (!parts || !lens) {
        free(parts);
        free(lens);
        asy_raise_memory(vm);
        return NULL;
    }
    int np = 0;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        if (!*s) break;
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 1 && s[0] == '.') {
        } else if (len == 2 && s[0] == '.' && s[1] == '.' &&
                   (np > 0
                        ? !(lens[np - 1] == 2 && parts[np - 1][0] == '.' && parts[np - 1][1] == '.')
                        : lead)) {
            if (np > 0) np--;
        } else {
            parts[np] = s;
            lens[np++] = len;
        }
        s += len;
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append(vm, &b, "//", (size_t)lead);
    for (int i = 0; i < np; i++) {
        if (i) asy_strbuf_append(vm, &b, "/", 1);
        asy_strbuf_append(vm, &b, parts[i], lens[i]);
    }
    if (b.len == 0) asy_strbuf_append(vm, &b, ".", 1);
    free(parts);
    free(lens);
    return asy_strbuf_finish(vm, &b);
}

static AsyValue path_normpath(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "normpath", argc, argv, kw, &p))) return ASY_ERR;
    AsyStr *s = normpath(vm, p);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue path_abspath(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "abspath", argc, argv, kw, &p))) return ASY_ERR;
    if (p[0] == '/') {
        AsyStr *s = normpath(vm, p);
        return s ? ASY_OBJ(s) : ASY_ERR;
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return asy_raise_oserror(vm, errno, NULL);
    AsyStr *joined = asy_str_printf(vm, "%s/%s", cwd, p);
    AsyStr *s = normpath(vm, joined->data);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue path_expanduser(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "expanduser", argc, argv, kw, &p))) return ASY_ERR;
    const char *home = getenv("HOME");
    if (p[0] != '~' || (p[1] && p[1] != '/') || !home) return argv[0];
    return ASY_OBJ(asy_str_printf(vm, "%s%s", home, p + 1));
}

typedef enum { STAT_EXISTS, STAT_FILE, STAT_DIR } StatTest;

/* os.path.exists/isfile/isdir: CPython's call os.stat, so take its arguments, except
 * that an OSError or a ValueError (a NUL in the path) is the answer False. */
static AsyValue path_stat_test(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                               StatTest test) {
    if (!asy_check_nokw(vm, fname, kw) || !asy_check_args(vm, fname, argc, 1, 1)) return ASY_ERR;
    const char *p;
    int fd = -1;
    struct stat st;
    if (!path_or_fd(vm, "stat", argv[0], &fd, &p)) {
        if (!asy_exc_matches(vm, ASY_EXC_ValueError)) return ASY_ERR;
        asy_exc_clear(vm);
        return ASY_FALSE;
    }
    if ((p ? stat(p, &st) : fstat(fd, &st)) != 0) return ASY_FALSE;
    if (test == STAT_FILE) return ASY_BOOL(S_ISREG(st.st_mode));
    if (test == STAT_DIR) return ASY_BOOL(S_ISDIR(st.st_mode));
    return ASY_TRUE;
}

static AsyValue path_exists(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return path_stat_test(vm, "exists", argc, argv, kw, STAT_EXISTS);
}
static AsyValue path_isfile(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return path_stat_test(vm, "isfile", argc, argv, kw, STAT_FILE);
}
static AsyValue path_isdir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return path_stat_test(vm, "isdir", argc, argv, kw, STAT_DIR);
}

static AsyValue path_getsize(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    const char *p;
    if (ASY_IS_ERR(path_one(vm, "getsize", argc, argv, kw, &p))) return ASY_ERR;
    struct stat st;
    if (stat(p, &st) != 0) return asy_raise_oserror(vm, errno, p);
    return ASY_INT(st.st_size);
}

/* ---- stat, and the small process facts ---- */

static AsyValue timespec_float(struct timespec t) {
    return ASY_FLOAT((double)t.tv_sec + (double)t.tv_nsec * 1e-9);
}

/* os.stat/os.lstat: the fields of CPython's stat_result, given to the class of that name
 * (written in asy, os_src below): 10 ints, then the float and nanosecond times. */
static AsyValue stat_call(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                          bool follow) {
    if (!asy_check_nokw(vm, fname, kw) || !asy_check_args(vm, fname, argc, 1, 1)) return ASY_ERR;
    struct stat st;
    const char *p;
    int fd = -1;
    if (!path_or_fd(vm, fname, argv[0], follow ? &fd : NULL, &p)) return ASY_ERR;
    if (p) {
        if ((follow ? stat(p, &st) : lstat(p, &st)) != 0) return asy_raise_oserror(vm, errno, p);
    } else if (fd == -1 || fstat(fd, &st) != 0) {
        /* CPython names the argument as the filename; its path_t takes -1 for "no fd" and
         * so calls stat(NULL), which fails with EFAULT */
        return asy_raise_oserror_value(vm, fd == -1 ? EFAULT : errno, argv[0]);
    }
    AsyValue osv = asy_dict_get_cstr(vm, vm->modules, "os");
    if (ASY_IS_UNDEF(osv)) return asy_raise(vm, ASY_EXC_SystemError, "os is not in sys.modules");
    AsyModule *os = (AsyModule *)ASY_AS_OBJ(osv);
    if (asy_module_make_for(vm, os, "stat_result") < 0) return ASY_ERR;
    AsyValue cls = asy_dict_get_cstr(vm, os->dict, "stat_result");
    if (ASY_IS_UNDEF(cls)) return asy_raise(vm, ASY_EXC_SystemError, "os.stat_result is missing");
    struct timespec ts[3] = {st.st_atim, st.st_mtim, st.st_ctim};
    AsyValue f[16] = {ASY_INT(st.st_mode), ASY_INT((int64_t)st.st_ino),
                      ASY_INT((int64_t)st.st_dev), ASY_INT((int64_t)st.st_nlink),
                      ASY_INT(st.st_uid), ASY_INT(st.st_gid), ASY_INT(st.st_size)};
    for (int i = 0; i < 3; i++) {
        f[7 + i] = ASY_INT(ts[i].tv_sec);
        f[10 + i] = timespec_float(ts[i]);
        f[13 + i] = ASY_INT(ts[i].tv_sec * 1000000000 + ts[i].tv_nsec);
    }
    return asy_call_with_tuple(vm, cls, f, 16);
}

static AsyValue os_stat(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return stat_call(vm, "stat", argc, argv, kw, true);
}

static AsyValue os_lstat(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return stat_call(vm, "lstat", argc, argv, kw, false);
}

static AsyValue os_replace(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return two_path_call(vm, "replace", argc, argv, kw, rename);
}

static AsyValue os_symlink(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return two_path_call(vm, "symlink", argc, argv, kw, symlink);
}

static AsyValue os_getppid(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "getppid", kw) || !asy_check_args(vm, "getppid", argc, 0, 0))
        return ASY_ERR;
    return ASY_INT(getppid());
}

static AsyValue os_cpu_count(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "cpu_count", kw) || !asy_check_args(vm, "cpu_count", argc, 0, 0))
        return ASY_ERR;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? ASY_NONE : ASY_INT(n);
}

static AsyValue os_urandom(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "urandom", kw) || !asy_check_args(vm, "urandom", argc, 1, 1))
        return ASY_ERR;
    if (!ASY_IS_INT(argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
                         asy_type_name(vm, argv[0]));
    int64_t n = ASY_AS_INT(argv[0]);
    if (n < 0) return asy_raise(vm, ASY_EXC_ValueError, "negative argument not allowed");
    uint8_t *buf = asy_mem_alloc(vm, (size_t)n + 1);
    if (!buf) return ASY_ERR;
    for (int64_t done = 0; done < n;) {
        ssize_t got = getrandom(buf + done, (size_t)(n - done), 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int err = errno;
            asy_mem_free(vm, buf, (size_t)n + 1);
            return asy_raise_oserror(vm, err, NULL);
        }
        done += got;
    }
    AsyBytes *b = asy_bytes_new(vm, buf, (size_t)n);
    asy_mem_free(vm, buf, (size_t)n + 1);
    return b ? ASY_OBJ(b) : ASY_ERR;
}

static AsyValue os_readlink(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "readlink", kw) || !asy_check_args(vm, "readlink", argc, 1, 1))
        return ASY_ERR;
    const char *p = arg_path(vm, "readlink", argv[0]);
    if (!p) return ASY_ERR;
    char buf[PATH_MAX];
    ssize_t n = readlink(p, buf, sizeof buf);
    if (n < 0) return asy_raise_oserror(vm, errno, p);
    return mkstr(vm, buf, (size_t)n);
}

static AsyValue os_access(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "access", kw) || !asy_check_args(vm, "access", argc, 2, 2))
        return ASY_ERR;
    const char *p = arg_path(vm, "access", argv[0]);
    if (!p) return ASY_ERR;
    if (!ASY_IS_INT(argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
                         asy_type_name(vm, argv[1]));
    return ASY_BOOL(access(p, (int)ASY_AS_INT(argv[1])) == 0);
}

static const AsyMethodDef os_functions[] = {
    {"putenv", os_putenv, 0, "Set an environment variable (os.environ[key] = value does too)."},
    {"unsetenv", os_unsetenv, 0, "Remove an environment variable."},
    {"getcwd", os_getcwd, 0, "The current working folder."},
    {"chdir", os_chdir, 0, "Change the current working folder."},
    {"getpid", os_getpid, 0, "The process id."},
    {"listdir", os_listdir, 0, "The names in a folder."},
    {"remove", os_remove, 0, "Remove a file."},
    {"unlink", os_unlink, 0, "Remove a file."},
    {"rmdir", os_rmdir, 0, "Remove an empty folder."},
    {"rename", os_rename, 0, "Rename a file or folder."},
    {"mkdir", os_mkdir, 0, "Make a folder."},
    {"makedirs", os_makedirs, 0, "Make a folder and its missing parents."},
    {"stat", os_stat, 0, "The status of a path or file descriptor, as a stat_result."},
    {"lstat", os_lstat, 0, "stat() of a symbolic link itself."},
    {"replace", os_replace, 0, "Rename a file or folder, replacing the target."},
    {"symlink", os_symlink, 0, "Make a symbolic link dst pointing to src."},
    {"getppid", os_getppid, 0, "The parent's process id."},
    {"cpu_count", os_cpu_count, 0, "The number of CPUs online, or None."},
    {"urandom", os_urandom, 0, "n random bytes from the operating system."},
    {"readlink", os_readlink, 0, "The path a symbolic link points to."},
    {"access", os_access, 0, "Whether the path can be used with mode (F_OK, R_OK, W_OK, X_OK)."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef path_functions[] = {
    {"join", path_join, 0, "Join path components."},
    {"basename", path_basename, 0, "The final component of a path."},
    {"dirname", path_dirname, 0, "The folder part of a path."},
    {"split", path_split, 0, "(head, tail) of a path."},
    {"splitext", path_splitext, 0, "(root, ext) of a path."},
    {"isabs", path_isabs, 0, "Whether a path is absolute."},
    {"normpath", path_normpath, 0, "Fold '.', '..' and repeated slashes."},
    {"abspath", path_abspath, 0, "The absolute, normalised path."},
    {"expanduser", path_expanduser, 0, "Replace a leading ~ with $HOME."},
    {"exists", path_exists, 0, "Whether a path exists."},
    {"isfile", path_isfile, 0, "Whether a path is a regular file."},
    {"isdir", path_isdir, 0, "Whether a path is a folder."},
    {"getsize", path_getsize, 0, "The size of a file in bytes."},
    {NULL, NULL, 0, NULL},
};

/* ---- the parts written in asy, made on first use of one of their names ---- */

/* os.stat_result (a tuple of CPython's ten fields, with the float and nanosecond times
 * as attributes), fspath, walk (CPython 3.11's, on listdir), scandir and its DirEntry (on
 * listdir and stat), and environ: CPython's _Environ, whose changes reach getenv() and
 * child processes through putenv/unsetenv. */
static const char os_src[] =
    "class stat_result(tuple):\n"
    "    n_sequence_fields = 10\n"
    "    def __new__(cls, fields):\n"
    "        self = tuple.__new__(cls, fields[:10])\n"
    "        self._times = fields[10:]\n"
    "        return self\n"
    "    st_mode = property(lambda self: self[0])\n"
    "    st_ino = property(lambda self: self[1])\n"
    "    st_dev = property(lambda self: self[2])\n"
    "    st_nlink = property(lambda self: self[3])\n"
    "    st_uid = property(lambda self: self[4])\n"
    "    st_gid = property(lambda self: self[5])\n"
    "    st_size = property(lambda self: self[6])\n"
    "    st_atime = property(lambda self: self._times[0])\n"
    "    st_mtime = property(lambda self: self._times[1])\n"
    "    st_ctime = property(lambda self: self._times[2])\n"
    "    st_atime_ns = property(lambda self: self._times[3])\n"
    "    st_mtime_ns = property(lambda self: self._times[4])\n"
    "    st_ctime_ns = property(lambda self: self._times[5])\n"
    "    def __repr__(self):\n"
    "        return ('os.stat_result(st_mode=%r, st_ino=%r, st_dev=%r, st_nlink=%r, '\n"
    "                'st_uid=%r, st_gid=%r, st_size=%r, st_atime=%r, st_mtime=%r, '\n"
    "                'st_ctime=%r)' % tuple(self))\n"
    "\n"
    "def fspath(path):\n"
    "    if isinstance(path, (str, bytes)):\n"
    "        return path\n"
    "    try:\n"
    "        path_repr = type(path).__fspath__(path)\n"
    "    except AttributeError:\n"
    "        if hasattr(type(path), '__fspath__'):\n"
    "            raise\n"
    "        raise TypeError('expected str, bytes or os.PathLike object, not '\n"
    "                        + type(path).__name__)\n"
    "    if isinstance(path_repr, (str, bytes)):\n"
    "        return path_repr\n"
    "    raise TypeError('expected {}.__fspath__() to return str or bytes, not {}'\n"
    "                    .format(type(path).__name__, type(path_repr).__name__))\n"
    "\n"
    "def walk(top, topdown=True, onerror=None, followlinks=False):\n"
    "    return _walk(fspath(top), topdown, onerror, followlinks)\n"
    "\n"
    "def _walk(top, topdown, onerror, followlinks):\n"
    "    dirs = []\n"
    "    nondirs = []\n"
    "    walk_dirs = []\n"
    "    try:\n"
    "        names = listdir(top)\n"
    "    except OSError as error:\n"
    "        if onerror is not None:\n"
    "            onerror(error)\n"
    "        return\n"
    "    for name in names:\n"
    "        entry = path.join(top, name)\n"
    "        is_dir = path.isdir(entry)\n"
    "        if is_dir:\n"
    "            dirs.append(name)\n"
    "        else:\n"
    "            nondirs.append(name)\n"
    "        if not topdown and is_dir and (followlinks or not path.islink(entry)):\n"
    "            walk_dirs.append(entry)\n"
    "    if topdown:\n"
    "        yield top, dirs, nondirs\n"
    "        for dirname in dirs:\n"
    "            new_path = path.join(top, dirname)\n"
    "            if followlinks or not path.islink(new_path):\n"
    "                yield from _walk(new_path, topdown, onerror, followlinks)\n"
    "    else:\n"
    "        for new_path in walk_dirs:\n"
    "            yield from _walk(new_path, topdown, onerror, followlinks)\n"
    "        yield top, dirs, nondirs\n"
    "\n"
    "class _Environ:\n"
    "    def __init__(self, data):\n"
    "        self._data = data\n"
    "    def _encode(self, value):\n"
    "        if not isinstance(value, str):\n"
    "            raise TypeError(\"str expected, not %s\" % type(value).__name__)\n"
    "        return value\n"
    "    def __getitem__(self, key):\n"
    "        try:\n"
    "            return self._data[self._encode(key)]\n"
    "        except KeyError:\n"
    "            raise KeyError(key) from None\n"
    "    def __setitem__(self, key, value):\n"
    "        key = self._encode(key)\n"
    "        value = self._encode(value)\n"
    "        putenv(key, value)\n"
    "        self._data[key] = value\n"
    "    def __delitem__(self, key):\n"
    "        key = self._encode(key)\n"
    "        unsetenv(key)\n"
    "        try:\n"
    "            del self._data[key]\n"
    "        except KeyError:\n"
    "            raise KeyError(key) from None\n"
    "    def __iter__(self):\n"
    "        keys = list(self._data)\n"
    "        for key in keys:\n"
    "            yield key\n"
    "    def __len__(self):\n"
    "        return len(self._data)\n"
    "    def __contains__(self, key):\n"
    "        try:\n"
    "            self[key]\n"
    "        except KeyError:\n"
    "            return False\n"
    "        return True\n"
    "    def __repr__(self):\n"
    "        items = \", \".join(f\"{key!r}: {value!r}\" for key, value in self._data.items())\n"
    "        return f\"environ({{{items}}})\"\n"
    "    def __eq__(self, other):\n"
    "        if not isinstance(other, (dict, _Environ)):\n"
    "            return NotImplemented\n"
    "        return dict(self.items()) == dict(other.items())\n"
    "    def get(self, key, default=None):\n"
    "        try:\n"
    "            return self[key]\n"
    "        except KeyError:\n"
    "            return default\n"
    "    def keys(self):\n"
    "        return self._data.keys()\n"
    "    def items(self):\n"
    "        return self._data.items()\n"
    "    def values(self):\n"
    "        return self._data.values()\n"
    "    def copy(self):\n"
    "        return dict(self)\n"
    "    def setdefault(self, key, value):\n"
    "        if key not in self:\n"
    "            self[key] = value\n"
    "        return self[key]\n"
    "    def pop(self, key, *default):\n"
    "        try:\n"
    "            value = self[key]\n"
    "        except KeyError:\n"
    "            if default:\n"
    "                return default[0]\n"
    "            raise\n"
    "        del self[key]\n"
    "        return value\n"
    "    def popitem(self):\n"
    "        try:\n"
    "            key = next(iter(self))\n"
    "        except StopIteration:\n"
    "            raise KeyError from None\n"
    "        value = self[key]\n"
    "        del self[key]\n"
    "        return key, value\n"
    "    def clear(self):\n"
    "        for key in list(self._data):\n"
    "            del self[key]\n"
    "    def update(self, other=(), **kwds):\n"
    "        if isinstance(other, (dict, _Environ)):\n"
    "            for key in other.keys():\n"
    "                self[key] = other[key]\n"
    "        elif hasattr(other, \"keys\"):\n"
    "            for key in other.keys():\n"
    "                self[key] = other[key]\n"
    "        else:\n"
    "            for key, value in other:\n"
    "                self[key] = value\n"
    "        for key, value in kwds.items():\n"
    "            self[key] = value\n"
    "    def __ior__(self, other):\n"
    "        self.update(other)\n"
    "        return self\n"
    "    def __or__(self, other):\n"
    "        if not isinstance(other, (dict, _Environ)):\n"
    "            return NotImplemented\n"
    "        new = dict(self)\n"
    "        new.update(other)\n"
    "        return new\n"
    "    def __ror__(self, other):\n"
    "        if not isinstance(other, (dict, _Environ)):\n"
    "            return NotImplemented\n"
    "        new = dict(other)\n"
    "        new.update(self)\n"
    "        return new\n"
    "\n"
    "environ = _Environ(_environ_data)\n"
    "del _environ_data\n"
    "\n"
    "def getenv(key, default=None):\n"
    "    return environ.get(key, default)\n"
    "\n"
    "class DirEntry:\n"
    "    def __init__(self, top, name):\n"
    "        self.name = name\n"
    "        self.path = path.join(top, name)\n"
    "    def __repr__(self):\n"
    "        return f'<DirEntry {self.name!r}>'\n"
    "    def __fspath__(self):\n"
    "        return self.path\n"
    "    def _mode(self, follow_symlinks):\n"
    "        try:\n"
    "            st = stat(self.path) if follow_symlinks else lstat(self.path)\n"
    "        except FileNotFoundError:\n"
    "            return 0\n"
    "        return st.st_mode & 0o170000\n"
    "    def is_dir(self, *, follow_symlinks=True):\n"
    "        return self._mode(follow_symlinks) == 0o040000\n"
    "    def is_file(self, *, follow_symlinks=True):\n"
    "        return self._mode(follow_symlinks) == 0o100000\n"
    "    def is_symlink(self):\n"
    "        return self._mode(False) == 0o120000\n"
    "    def stat(self, *, follow_symlinks=True):\n"
    "        return stat(self.path) if follow_symlinks else lstat(self.path)\n"
    "    def inode(self):\n"
    "        return lstat(self.path).st_ino\n"
    "\n"
    "class _ScandirIterator:\n"
    "    def __init__(self, top):\n"
    "        self._top = top\n"
    "        self._names = iter(listdir(top))\n"
    "    def __iter__(self):\n"
    "        return self\n"
    "    def __next__(self):\n"
    "        return DirEntry(self._top, next(self._names))\n"
    "    def close(self):\n"
    "        self._names = iter(())\n"
    "    def __enter__(self):\n"
    "        return self\n"
    "    def __exit__(self, *args):\n"
    "        self.close()\n"
    "\n"
    "def scandir(path='.'):\n"
    "    return _ScandirIterator(fspath(path))\n";

/* os.path functions CPython writes in Python (posixpath.py, genericpath.py), ported. */
static const char path_src[] =
    "import os\n"
    "\n"
    "def _check_arg_types(funcname, *args):\n"
    "    for s in args:\n"
    "        if not isinstance(s, (str, bytes)):\n"
    "            raise TypeError(f'{funcname}() argument must be str, bytes, or '\n"
    "                            f'os.PathLike object, not {s.__class__.__name__!r}') from None\n"
    "\n"
    "def getmtime(filename):\n"
    "    return os.stat(filename).st_mtime\n"
    "\n"
    "def getatime(filename):\n"
    "    return os.stat(filename).st_atime\n"
    "\n"
    "def getctime(filename):\n"
    "    return os.stat(filename).st_ctime\n"
    "\n"
    "def islink(path):\n"
    "    try:\n"
    "        st = os.lstat(path)\n"
    "    except (OSError, ValueError, AttributeError):\n"
    "        return False\n"
    "    return st.st_mode & 0o170000 == 0o120000\n"
    "\n"
    "def lexists(path):\n"
    "    try:\n"
    "        os.lstat(path)\n"
    "    except (OSError, ValueError):\n"
    "        return False\n"
    "    return True\n"
    "\n"
    "def samefile(f1, f2):\n"
    "    s1 = os.stat(f1)\n"
    "    s2 = os.stat(f2)\n"
    "    return s1.st_ino == s2.st_ino and s1.st_dev == s2.st_dev\n"
    "\n"
    "def normcase(s):\n"
    "    return os.fspath(s)\n"
    "\n"
    "def splitdrive(p):\n"
    "    p = os.fspath(p)\n"
    "    return p[:0], p\n"
    "\n"
    "def commonprefix(m):\n"
    "    if not m: return ''\n"
    "    if not isinstance(m[0], (list, tuple)):\n"
    "        m = tuple(map(os.fspath, m))\n"
    "    s1 = min(m)\n"
    "    s2 = max(m)\n"
    "    for i, c in enumerate(s1):\n"
    "        if c != s2[i]:\n"
    "            return s1[:i]\n"
    "    return s1\n"
    "\n"
    "def relpath(path, start=None):\n"
    "    if not path:\n"
    "        raise ValueError(\"no path specified\")\n"
    "    path = os.fspath(path)\n"
    "    if start is None:\n"
    "        start = '.'\n"
    "    else:\n"
    "        start = os.fspath(start)\n"
    "    try:\n"
    "        start_list = [x for x in abspath(start).split('/') if x]\n"
    "        path_list = [x for x in abspath(path).split('/') if x]\n"
    "        i = len(commonprefix([start_list, path_list]))\n"
    "        rel_list = ['..'] * (len(start_list)-i) + path_list[i:]\n"
    "        if not rel_list:\n"
    "            return '.'\n"
    "        return join(*rel_list)\n"
    "    except (TypeError, AttributeError):\n"
    "        _check_arg_types('relpath', path, start)\n"
    "        raise\n"
    "\n"
    "def commonpath(paths):\n"
    "    if not paths:\n"
    "        raise ValueError('commonpath() arg is an empty sequence')\n"
    "    paths = tuple(map(os.fspath, paths))\n"
    "    try:\n"
    "        split_paths = [path.split('/') for path in paths]\n"
    "        try:\n"
    "            isabs, = set(p[:1] == '/' for p in paths)\n"
    "        except ValueError:\n"
    "            raise ValueError(\"Can't mix absolute and relative paths\") from None\n"
    "        split_paths = [[c for c in s if c and c != '.'] for s in split_paths]\n"
    "        s1 = min(split_paths)\n"
    "        s2 = max(split_paths)\n"
    "        common = s1\n"
    "        for i, c in enumerate(s1):\n"
    "            if c != s2[i]:\n"
    "                common = s1[:i]\n"
    "                break\n"
    "        prefix = '/' if isabs else ''\n"
    "        return prefix + '/'.join(common)\n"
    "    except (TypeError, AttributeError):\n"
    "        _check_arg_types('commonpath', *paths)\n"
    "        raise\n"
    "\n"
    "def realpath(filename, *, strict=False):\n"
    "    filename = os.fspath(filename)\n"
    "    path, ok = _joinrealpath(filename[:0], filename, strict, {})\n"
    "    return abspath(path)\n"
    "\n"
    "def _joinrealpath(path, rest, strict, seen):\n"
    "    if isabs(rest):\n"
    "        rest = rest[1:]\n"
    "        path = '/'\n"
    "    while rest:\n"
    "        name, _, rest = rest.partition('/')\n"
    "        if not name or name == '.':\n"
    "            continue\n"
    "        if name == '..':\n"
    "            if path:\n"
    "                path, name = split(path)\n"
    "                if name == '..':\n"
    "                    path = join(path, '..', '..')\n"
    "            else:\n"
    "                path = '..'\n"
    "            continue\n"
    "        newpath = join(path, name)\n"
    "        try:\n"
    "            st = os.lstat(newpath)\n"
    "        except OSError:\n"
    "            if strict:\n"
    "                raise\n"
    "            is_link = False\n"
    "        else:\n"
    "            is_link = st.st_mode & 0o170000 == 0o120000\n"
    "        if not is_link:\n"
    "            path = newpath\n"
    "            continue\n"
    "        if newpath in seen:\n"
    "            path = seen[newpath]\n"
    "            if path is not None:\n"
    "                continue\n"
    "            if strict:\n"
    "                os.stat(newpath)\n"
    "            else:\n"
    "                return join(newpath, rest), False\n"
    "        seen[newpath] = None\n"
    "        path, ok = _joinrealpath(path, os.readlink(newpath), strict, seen)\n"
    "        if not ok:\n"
    "            return join(path, rest), False\n"
    "        seen[newpath] = path\n"
    "    return path, True\n"
    "\n"
    "_varprog = None\n"
    "\n"
    "def expandvars(path):\n"
    "    global _varprog\n"
    "    path = os.fspath(path)\n"
    "    if '$' not in path:\n"
    "        return path\n"
    "    if not _varprog:\n"
    "        import re\n"
    "        _varprog = re.compile(r'\\$(\\w+|\\{[^}]*\\})', re.ASCII)\n"
    "    search = _varprog.search\n"
    "    i = 0\n"
    "    while True:\n"
    "        m = search(path, i)\n"
    "        if not m:\n"
    "            break\n"
    "        i, j = m.span(0)\n"
    "        name = m.group(1)\n"
    "        if name.startswith('{') and name.endswith('}'):\n"
    "            name = name[1:-1]\n"
    "        try:\n"
    "            value = os.environ[name]\n"
    "        except KeyError:\n"
    "            i = j\n"
    "        else:\n"
    "            tail = path[j:]\n"
    "            path = path[:i] + value\n"
    "            i = len(path)\n"
    "            path += tail\n"
    "    return path\n";

static void run_src(AsyVM *vm, AsyModule *m, const char *src, size_t len, const char *file) {
    AsyCode *code = asy_compile(vm, src, len, file, ASY_PARSE_MODULE);
    if (!code) return;
    asy_root_push(vm, ASY_OBJ(code));
    asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
}

static AsyDict *environ_dict(AsyVM *vm) {
    AsyDict *d = asy_dict_new(vm);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        asy_dict_set(vm, d, mkstr(vm, *e, (size_t)(eq - *e)), cstr(vm, eq + 1));
    }
    return d;
}

static void make_os_part(AsyVM *vm, AsyModule *m) {
    asy_dict_set_cstr(vm, m->dict, "_environ_data", ASY_OBJ(environ_dict(vm)));
    run_src(vm, m, os_src, sizeof os_src - 1, "<os>");
}

static void make_path_part(AsyVM *vm, AsyModule *m) {
    run_src(vm, m, path_src, sizeof path_src - 1, "<posixpath>");
}

static const char *const os_part_names[] = {
    "stat_result", "fspath", "walk", "_walk", "_Environ", "environ", "getenv", "DirEntry",
    "_ScandirIterator", "scandir", NULL};
static const AsyLazyPart os_parts[] = {{os_part_names, make_os_part}, {NULL, NULL}};
static const char *const path_part_names[] = {
    "os", "_check_arg_types", "getmtime", "getatime", "getctime", "islink", "lexists",
    "samefile", "normcase", "splitdrive", "commonprefix", "relpath", "commonpath", "realpath",
    "_joinrealpath", "_varprog", "expandvars", NULL};
static const AsyLazyPart path_parts[] = {{path_part_names, make_path_part}, {NULL, NULL}};


void asy_mod_os_init(AsyVM *vm) {
    static const struct {
        const char *name, *value;
    } strs[] = {{"sep", "/"},     {"curdir", "."},  {"pardir", ".."},
                {"extsep", "."},  {"pathsep", ":"}, {"defpath", "/bin:/usr/bin"},
                {"devnull", "/dev/null"}};
    AsyModule *path = asy_module_new(vm, "posixpath");
    asy_module_add_functions(vm, path, path_functions);
    AsyModule *os = asy_module_new(vm, "os");
    asy_module_add_functions(vm, os, os_functions);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        asy_dict_set_cstr(vm, path->dict, strs[i].name, cstr(vm, strs[i].value));
        asy_dict_set_cstr(vm, os->dict, strs[i].name, cstr(vm, strs[i].value));
    }
    asy_dict_set_cstr(vm, path->dict, "altsep", ASY_NONE);
    asy_dict_set_cstr(vm, os->dict, "altsep", ASY_NONE);
    static const struct {
        const char *name;
        int value;
    } ints[] = {{"F_OK", F_OK}, {"R_OK", R_OK}, {"W_OK", W_OK}, {"X_OK", X_OK}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        asy_dict_set_cstr(vm, os->dict, ints[i].name, ASY_INT(ints[i].value));
    asy_dict_set_str(vm, path->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_dict_set_str(vm, os->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_set_lazy(path, path_parts);
    asy_module_set_lazy(os, os_parts);
    asy_dict_set_cstr(vm, os->dict, "path", ASY_OBJ(path));
    asy_dict_set_cstr(vm, os->dict, "linesep", cstr(vm, "\n"));
    asy_dict_set_cstr(vm, os->dict, "name", cstr(vm, "posix"));
    asy_module_register(vm, os);
    asy_dict_set_cstr(vm, vm->modules, "os.path", ASY_OBJ(path));
}
