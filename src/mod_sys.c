/* mod_sys.c - the sys module: argv, exit, the recursion limit, version and platform facts,
 * path and modules. (stdin/stdout/stderr file objects are added by the file layer.)
 */
#include "common.h"

#include <limits.h>
#include <stdint.h>
#include <unistd.h>

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

static const AsyMethodDef sys_functions[] = {
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
    AsyValue vi[] = {ASY_INT(3), ASY_INT(11), ASY_INT(0),
                     ASY_OBJ(asy_str_from_cstr(vm, "final")), ASY_INT(0)};
    sys_set(vm, m, "version_info", ASY_OBJ(asy_tuple_from_array(vm, vi, 5)));
    sys_set(vm, m, "maxsize", ASY_INT(INT64_MAX));
    sys_set(vm, m, "byteorder", ASY_OBJ(asy_str_from_cstr(vm, "little")));
    sys_set(vm, m, "executable", ASY_OBJ(asy_str_from_cstr(vm, sys_executable(exe, sizeof exe))));
    AsyList *path = asy_list_new(vm, 1);
    asy_list_append(vm, path, ASY_OBJ(asy_str_from_cstr(vm, vm->script_dir ? vm->script_dir
                                                                          : "")));
    sys_set(vm, m, "path", ASY_OBJ(path));
    asy_file_add_std_streams(vm, m->dict);   /* stdin, stdout, stderr: fileobject.c */
    asy_module_register(vm, m);
}
