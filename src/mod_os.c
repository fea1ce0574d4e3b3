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
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "vm.h"

extern char **environ;

/* ---- argument helpers ---- */

static const char *arg_path(AsyVM *vm, const char *fname, AsyValue v) {
    if (ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str)))
        return ((AsyStr *)ASY_AS_OBJ(v))->data;
    asy_raise(vm, ASY_EXC_TypeError, "%s: path should be string, bytes or os.PathLike, not %s",
              fname, asy_type_name(vm, v));
    return NULL;
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

static AsyValue os_getenv(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue dflt = asy_kwarg(vm, kw, "default");
    if (!asy_check_kw_done(vm, "getenv", kw) || !asy_check_args(vm, "getenv", argc, 1, 2))
        return ASY_ERR;
    if (argc == 2) dflt = argv[1];
    const char *key = arg_str(vm, argv[0]);
    if (!key) return ASY_ERR;
    const char *v = getenv(key);
    if (v) return cstr(vm, v);
    return ASY_IS_UNDEF(dflt) ? ASY_NONE : dflt;
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

static AsyValue os_rename(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "rename", kw) || !asy_check_args(vm, "rename", argc, 2, 2))
        return ASY_ERR;
    const char *a = arg_path(vm, "rename", argv[0]),
               *b = a ? arg_path(vm, "rename", argv[1]) : NULL;
    if (!b) return ASY_ERR;
    if (rename(a, b) != 0) {
        /* CPython names both paths: "[Errno 2] No such file or directory: 'a' -> 'b'" */
        int err = errno;
        asy_raise_oserror(vm, err, a);
        AsyException *e = vm->exc;
        asy_dict_set_cstr(vm, e->dict, "filename2", cstr(vm, b));
        return ASY_ERR;
    }
    return ASY_NONE;
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

static AsyValue path_stat_test(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                               StatTest test) {
    const char *p;
    struct stat st;
    if (argc == 1 && !kw && ASY_IS_INT(argv[0])) { /* an int is a file descriptor: fstat */
        int64_t fd = ASY_AS_INT(argv[0]);
        if (fd < INT_MIN || fd > INT_MAX || fstat((int)fd, &st) != 0) return ASY_FALSE;
    } else {
        if (argc == 1 && !kw &&
            !(ASY_IS_OBJ(argv[0]) && asy_isinstance(vm, argv[0], ASY_TYPE(vm, str))))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "stat: path should be string, bytes, os.PathLike or integer, not %s",
                             asy_type_name(vm, argv[0]));
        if (ASY_IS_ERR(path_one(vm, fname, argc, argv, kw, &p))) return ASY_ERR;
        if (stat(p, &st) != 0) return ASY_FALSE;
    }
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

static const AsyMethodDef os_functions[] = {
    {"getenv", os_getenv, 0, "The environment variable key, or default."},
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

static AsyDict *environ_dict(AsyVM *vm) {
    AsyDict *d = asy_dict_new(vm);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        asy_dict_set(vm, d, mkstr(vm, *e, (size_t)(eq - *e)), cstr(vm, eq + 1));
    }
    return d;
}

void asy_mod_os_init(AsyVM *vm) {
    AsyModule *path = asy_module_new(vm, "posixpath");
    asy_module_add_functions(vm, path, path_functions);
    asy_dict_set_cstr(vm, path->dict, "sep", cstr(vm, "/"));
    AsyModule *os = asy_module_new(vm, "os");
    asy_module_add_functions(vm, os, os_functions);
    asy_dict_set_cstr(vm, os->dict, "path", ASY_OBJ(path));
    asy_dict_set_cstr(vm, os->dict, "environ", ASY_OBJ(environ_dict(vm)));
    asy_dict_set_cstr(vm, os->dict, "sep", cstr(vm, "/"));
    asy_dict_set_cstr(vm, os->dict, "linesep", cstr(vm, "\n"));
    asy_dict_set_cstr(vm, os->dict, "name", cstr(vm, "posix"));
    asy_dict_set_cstr(vm, os->dict, "curdir", cstr(vm, "."));
    asy_dict_set_cstr(vm, os->dict, "pardir", cstr(vm, ".."));
    asy_module_register(vm, os);
    asy_dict_set_cstr(vm, vm->modules, "os.path", ASY_OBJ(path));
}
