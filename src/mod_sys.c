/* mod_sys.c - the sys module: argv, exit, the recursion limit, version and platform facts,
 * path and modules. (stdin/stdout/stderr file objects are added by the file layer.)
 */
#include "common.h"

#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#include "compiler.h"
#include "vm.h"

static AsyValue sys_exit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "exit", kw) || !asy_check_args(vm, "exit", argc, 0, 1))
        return ASY_ERR;
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_SystemExit], argc, argv);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

static AsyValue sys_getrecursionlimit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "getrecursionlimit", kw) ||
        !asy_check_args(vm, "getrecursionlimit", argc, 0, 0))
        return ASY_ERR;
    return ASY_INT(vm->recursion_limit);
}

static AsyValue sys_setrecursionlimit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "setrecursionlimit", kw) ||
        !asy_check_args(vm, "setrecursionlimit", argc, 1, 1))
        return ASY_ERR;
    if (ASY_IS_FLOAT(argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "'float' object cannot be interpreted as an "
                                                "integer");
    int64_t n;
    if (!asy_index(vm, argv[0], &n)) return ASY_ERR;
    if (n < 1)
        return asy_raise(vm, ASY_EXC_ValueError, "recursion limit must be greater or equal "
                                                 "than 1");
    /* Deep asy recursion costs no C stack (frames live on the fiber), so only memory bounds
     * the limit; keep it sane so a typo does not exhaust memory. */
    if (n > 10000000) n = 10000000;
    vm->recursion_limit = (int)n;
    return ASY_NONE;
}

/* (type, value, traceback) of the exception being handled, or three Nones. */
static AsyValue sys_exc_info(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "exc_info", kw) || !asy_check_args(vm, "exc_info", argc, 0, 0))
        return ASY_ERR;
    AsyValue e = asy_vm_handled_exception(vm);
    AsyValue items[3] = {ASY_NONE, ASY_NONE, ASY_NONE};
    if (ASY_IS_OBJ(e)) {
        AsyException *x = (AsyException *)ASY_AS_OBJ(e);
        items[0] = ASY_OBJ(x->hdr.type);
        items[1] = e;
        items[2] = x->traceback ? ASY_OBJ(x->traceback) : ASY_NONE;
    }
    return ASY_OBJ(asy_tuple_from_array(vm, items, 3));
}

static AsyValue sys_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "exception", kw) || !asy_check_args(vm, "exception", argc, 0, 0))
        return ASY_ERR;
    AsyValue e = asy_vm_handled_exception(vm);
    return ASY_IS_OBJ(e) ? e : ASY_NONE;
}

/* getdefaultencoding() and getfilesystemencoding(): asy's text is UTF-8 throughout. */
static AsyValue sys_utf8(AsyVM *vm, const char *name, int argc, AsyDict *kw) {
    if (!asy_check_nokw(vm, name, kw) || !asy_check_args(vm, name, argc, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_str_from_cstr(vm, "utf-8"));
}

static AsyValue sys_getdefaultencoding(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    return sys_utf8(vm, "getdefaultencoding", argc, kw);
}

static AsyValue sys_getfilesystemencoding(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    return sys_utf8(vm, "getfilesystemencoding", argc, kw);
}

static const AsyMethodDef sys_functions[] = {
    {"getdefaultencoding", sys_getdefaultencoding, 0, "The default string encoding: 'utf-8'."},
    {"getfilesystemencoding", sys_getfilesystemencoding, 0, "The encoding of file names: 'utf-8'."},
    {"exc_info", sys_exc_info, 0, "(type, value, traceback) of the exception being handled."},
    {"exception", sys_exception, 0, "The exception being handled, or None."},
    {"exit", sys_exit, 0, "Exit by raising SystemExit(status)."},
    {"getrecursionlimit", sys_getrecursionlimit, 0, "The maximum depth of asy frames."},
    {"setrecursionlimit", sys_setrecursionlimit, 0, "Set the maximum depth of asy frames."},
    {NULL, NULL, 0, NULL},
};

static void sys_set(AsyVM *vm, AsyModule *m, const char *name, AsyValue v) {
    asy_dict_set_cstr(vm, m->dict, name, v);
}

/* The interpreter's absolute path, as CPython's sys.executable, so that scripts can run
 * another asy with create_subprocess_exec(sys.executable, ...); "" when unknown. */
static const char *sys_executable(char *buf, size_t n) {
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len < 0) len = 0;
    buf[len] = '\0';
    return buf;
}

/* sys.version_info and sys.float_info: tuples with named fields, as CPython's struct
 * sequences (scripts test sys.version_info.major or compare it with a tuple). Written in
 * asy, and made on first use (startup stays free of compiling). */
static const char version_info_src[] =
    "class version_info(tuple):\n"
    "    __slots__ = ()\n"
    "    major = property(lambda self: self[0])\n"
    "    minor = property(lambda self: self[1])\n"
    "    micro = property(lambda self: self[2])\n"
    "    releaselevel = property(lambda self: self[3])\n"
    "    serial = property(lambda self: self[4])\n"
    "    def __repr__(self):\n"
    "        return ('sys.version_info(major=%r, minor=%r, micro=%r, releaselevel=%r, '\n"
    "                'serial=%r)' % self)\n"
    "version_info = version_info((3, 11, 0, 'final', 0))\n"
    "class float_info(tuple):\n"
    "    __slots__ = ()\n"
    "    _fields = ('max', 'max_exp', 'max_10_exp', 'min', 'min_exp', 'min_10_exp', 'dig',\n"
    "               'mant_dig', 'epsilon', 'radix', 'rounds')\n"
    "    def __repr__(self):\n"
    "        return 'sys.float_info(%s)' % ', '.join(\n"
    "            '%s=%r' % (n, v) for n, v in zip(self._fields, self))\n"
    "for _i, _n in enumerate(float_info._fields):\n"
    "    setattr(float_info, _n, property(lambda self, _i=_i: self[_i]))\n"
    "del _i, _n\n"
    "float_info = float_info((1.7976931348623157e+308, 1024, 308, 2.2250738585072014e-308,\n"
    "                         -1021, -307, 15, 53, 2.220446049250313e-16, 2, 1))\n";

static void make_version_info(AsyVM *vm, AsyModule *m) {
    AsyDict *ns = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(ns));
    asy_dict_set_str(vm, ns, ASY_S(vm, __name__), ASY_OBJ(m->name));
    asy_dict_set_str(vm, ns, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    if (!ASY_IS_ERR(asy_vm_exec(vm, version_info_src, sizeof version_info_src - 1, "<sys>", ns))) {
        asy_dict_set_cstr(vm, m->dict, "version_info", asy_dict_get_cstr(vm, ns, "version_info"));
        asy_dict_set_cstr(vm, m->dict, "float_info", asy_dict_get_cstr(vm, ns, "float_info"));
    }
    asy_root_pop(vm, 1);
}

static const char *const version_info_names[] = {"version_info", "float_info", NULL};
static const AsyLazyPart sys_parts[] = {
    {version_info_names, make_version_info},
    {NULL, NULL},
};

void asy_mod_sys_init(AsyVM *vm) {
    char exe[PATH_MAX];
    AsyModule *m = asy_module_new(vm, "sys");
    asy_module_add_functions(vm, m, sys_functions);
    sys_set(vm, m, "argv", ASY_IS_UNDEF(vm->sys_argv) ? ASY_OBJ(asy_list_new(vm, 0))
                                                      : vm->sys_argv);
    sys_set(vm, m, "modules", ASY_OBJ(vm->modules));
    sys_set(vm, m, "platform", ASY_OBJ(asy_str_from_cstr(vm, "linux")));
    sys_set(vm, m, "version",
            ASY_OBJ(asy_str_from_cstr(vm, "3.11.0 (asy " PACKAGE_VERSION ")")));
    sys_set(vm, m, "maxsize", ASY_INT(INT64_MAX));
    sys_set(vm, m, "maxunicode", ASY_INT(0x10FFFF));
    sys_set(vm, m, "hexversion", ASY_INT(0x030B00F0)); /* 3.11.0 final, as sys.version */
    sys_set(vm, m, "byteorder", ASY_OBJ(asy_str_from_cstr(vm, "little")));
    sys_set(vm, m, "executable", ASY_OBJ(asy_str_from_cstr(vm, sys_executable(exe, sizeof exe))));
    AsyList *path = asy_list_new(vm, 1);
    asy_list_append(vm, path, ASY_OBJ(asy_str_from_cstr(vm, vm->script_dir ? vm->script_dir
                                                                          : "")));
    sys_set(vm, m, "path", ASY_OBJ(path));
    asy_file_add_std_streams(vm, m->dict);   /* stdin, stdout, stderr: fileobject.c */
    asy_module_set_lazy(m, sys_parts);
    asy_module_register(vm, m);
}
