/* module.c - module objects and the import system: built-in modules are made on first
 * import from the registry below (so startup pays only for what a script uses), and
 * `import name` otherwise loads NAME.asy from the script's folder, registering the module
 * in sys.modules before its body runs so circular imports see the partial module.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "vm.h"

/* ---- the module type ---- */

static AsyModule *mod_of(AsyValue v) { return (AsyModule *)ASY_AS_OBJ(v); }

static void module_traverse(AsyVM *vm, AsyObj *o) {
    AsyModule *m = (AsyModule *)o;
    asy_gc_mark_obj(vm, (AsyObj *)m->dict);
    asy_gc_mark_obj(vm, (AsyObj *)m->name);
    asy_gc_mark_obj(vm, (AsyObj *)m->file);
}

/* ---- lazy parts ---- */

void asy_module_set_lazy(AsyModule *m, const AsyLazyPart *parts) {
    m->lazy = parts;
    m->lazy_made = 0;
}

static int make_part(AsyVM *vm, AsyModule *m, int i) {
    m->lazy_made |= UINT32_C(1) << i; /* first, so a name the part itself asks for is a miss */
    asy_root_push(vm, ASY_OBJ(m));
    m->lazy[i].make(vm, m);
    asy_root_pop(vm, 1);
    return vm->exc ? -1 : 1;
}

int asy_module_make_for(AsyVM *vm, AsyModule *m, const char *name) {
    if (!m->lazy) return 0;
    for (int i = 0; m->lazy[i].names; i++) {
        if (m->lazy_made & (UINT32_C(1) << i)) continue;
        for (const char *const *n = m->lazy[i].names; *n; n++)
            if (strcmp(*n, name) == 0) return make_part(vm, m, i);
    }
    return 0;
}

int asy_module_make_all(AsyVM *vm, AsyModule *m) {
    for (int i = 0; m->lazy && m->lazy[i].names; i++)
        if (!(m->lazy_made & (UINT32_C(1) << i)) && make_part(vm, m, i) < 0) return -1;
    return 0;
}

static AsyValue module_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyModule *m = mod_of(self);
    AsyValue v = asy_dict_get_str(vm, m->dict, name);
    if (ASY_IS_NONE(v) && !m->file && name == ASY_S(vm, __doc__)) /* a built-in module's */
        return asy_doc_fill(vm, m->dict, m->name->data);
    if (!ASY_IS_UNDEF(v)) return v;
    if (m->lazy) {
        int r = name == ASY_S(vm, __dict__) ? asy_module_make_all(vm, m)
                                            : asy_module_make_for(vm, m, name->data);
        if (r < 0) return ASY_ERR;
        v = r ? asy_dict_get_str(vm, m->dict, name) : ASY_UNDEF;
        if (!ASY_IS_UNDEF(v)) return v;
    }
    if (name == ASY_S(vm, __dict__)) return ASY_OBJ(m->dict);
    v = vm->types[ASY_TYPE_object]->getattr(vm, self, name);
    if (ASY_IS_ERR(v) && asy_exc_matches(vm, ASY_EXC_AttributeError)) {
        asy_exc_clear(vm);
        return asy_raise(vm, ASY_EXC_AttributeError, "module '%U' has no attribute '%U'",
                         m->name, name);
    }
    return v;
}

static int module_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyModule *m = mod_of(self);
    /* Made first, so that it neither undoes the assignment later nor misses the del. */
    if (asy_module_make_for(vm, m, name->data) < 0) return -1;
    if (!ASY_IS_UNDEF(v)) return asy_dict_set_str(vm, m->dict, name, v);
    int r = asy_dict_del(vm, m->dict, ASY_OBJ(name));
    if (r == 0) {
        asy_raise(vm, ASY_EXC_AttributeError, "module '%U' has no attribute '%U'", m->name,
                  name);
        return -1;
    }
    return r < 0 ? -1 : 0;
}

static AsyValue module_repr(AsyVM *vm, AsyValue self) {
    AsyModule *m = mod_of(self);
    if (m->file) return ASY_OBJ(asy_str_printf(vm, "<module '%s' from '%s'>", m->name->data,
                                               m->file->data));
    return ASY_OBJ(asy_str_printf(vm, "<module '%s' (built-in)>", m->name->data));
}

/* module.__dir__(): the module's own __dir__ function if it has one (PEP 562), else the
 * names in its namespace (dir() sorts them). */
static AsyValue modm_dir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__dir__", argc - 1, 0, 0)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[0], ASY_TYPE(vm, module)))
        return asy_raise(vm, ASY_EXC_TypeError, "descriptor '__dir__' requires a 'module' object");
    if (asy_module_make_all(vm, mod_of(argv[0])) < 0) return ASY_ERR;
    AsyDict *d = mod_of(argv[0])->dict;
    AsyValue own = asy_dict_get_cstr(vm, d, "__dir__");
    if (!ASY_IS_UNDEF(own)) return asy_call(vm, own, 0, NULL, NULL);
    AsyList *l = asy_list_new(vm, d->len);
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(d, &pos, &k, &v))
        if (asy_list_append(vm, l, k) < 0) return ASY_ERR;
    return ASY_OBJ(l);
}

static const AsyMethodDef module_methods[] = {
    {"__dir__", modm_dir, 0, "Return the names in the module's namespace."},
    {NULL, NULL, 0, NULL},
};

void asy_module_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "module", ASY_TYPE(vm, object), sizeof(AsyModule));
    t->traverse = module_traverse;
    t->getattr = module_getattr;
    t->setattr = module_setattr;
    t->repr = module_repr;
    asy_type_add_methods(vm, t, module_methods);
    asy_type_ready(vm, t);
    vm->types[ASY_TYPE_module] = t;
    vm->modules = asy_dict_new(vm);
}

AsyModule *asy_module_new(AsyVM *vm, const char *name) {
    AsyModule *m = asy_gc_alloc(vm, ASY_TYPE(vm, module), sizeof(AsyModule));
    m->name = asy_str_intern_cstr(vm, name);
    m->dict = asy_dict_new(vm);
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __name__), ASY_OBJ(m->name));
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __doc__), ASY_NONE);
    return m;
}

void asy_module_add_functions(AsyVM *vm, AsyModule *m, const AsyMethodDef *defs) {
    for (const AsyMethodDef *d = defs; d->name; d++) {
        AsyValue fn = asy_native_new(vm, d, ASY_UNDEF, NULL);
        asy_dict_set_str(vm, m->dict, asy_str_intern_cstr(vm, d->name), fn);
    }
}

void asy_module_register(AsyVM *vm, AsyModule *m) {
    asy_dict_set_str(vm, vm->modules, m->name, ASY_OBJ(m));
}

/* ---- built-in modules, made on first import ---- */

typedef struct {
    const char *name;
    void (*init)(AsyVM *vm); /* makes the module and registers it in sys.modules */
} AsyBuiltinModule;

static const AsyBuiltinModule builtin_modules[] = {
    {"sys", asy_mod_sys_init},
    {"asyncio", asy_mod_asyncio_init},
    {"time", asy_mod_time_init},
    {"math", asy_mod_math_init},
    {"re", asy_mod_re_init},
    {"io", asy_mod_io_init},
    {"json", asy_mod_json_init},
    {"os", asy_mod_os_init},
    {"random", asy_mod_random_init},
    {"http", asy_mod_http_init},
    {"aiohttp", asy_mod_http_init},
    {NULL, NULL},
};

static AsyValue import_builtin(AsyVM *vm, AsyStr *name) {
    for (const AsyBuiltinModule *b = builtin_modules; b->name; b++) {
        if (strcmp(b->name, name->data) != 0) continue;
        b->init(vm);
        if (vm->exc) return ASY_ERR;
        return asy_dict_get_str(vm, vm->modules, name);
    }
    return ASY_UNDEF;
}

/* ---- .asy files beside the script ---- */

/* The whole file, malloc'd, or NULL (errno tells why). */
char *asy_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap) continue;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static AsyValue import_file(AsyVM *vm, AsyStr *name) {
    const char *dir = vm->script_dir ? vm->script_dir : ".";
    AsyStr *path = asy_str_printf(vm, "%s/%s.asy", dir, name->data);
    size_t len;
    char *src = asy_read_file(path->data, &len);
    if (!src) return ASY_UNDEF;
    AsyModule *m = asy_module_new(vm, name->data);
    m->file = path;
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __file__), ASY_OBJ(path));
    asy_module_register(vm, m);
    asy_root_push(vm, ASY_OBJ(m));
    AsyCode *code = asy_compile(vm, src, len, path->data, ASY_PARSE_MODULE);
    free(src);
    AsyValue r = code ? asy_vm_run_code(vm, code, m->dict) : ASY_ERR;
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) {
        AsyException *pending = vm->exc;
        vm->exc = NULL;
        asy_dict_del(vm, vm->modules, ASY_OBJ(name));
        vm->exc = pending;
        return ASY_ERR;
    }
    return ASY_OBJ(m);
}

AsyValue asy_import(AsyVM *vm, AsyStr *name) {
    AsyValue m = asy_dict_get_str(vm, vm->modules, name);
    if (!ASY_IS_UNDEF(m)) return m;
    const char *dot = strrchr(name->data, '.');
    if (dot) { /* a.b: import a first; a may register a.b (os.path) */
        AsyStr *parent = asy_str_intern(vm, name->data, (size_t)(dot - name->data));
        AsyValue pm = asy_import(vm, parent);
        if (ASY_IS_ERR(pm)) return ASY_ERR;
        m = asy_dict_get_str(vm, vm->modules, name);
        if (!ASY_IS_UNDEF(m)) return m;
        /* or a lazy part of a registers it when made */
        if (asy_isinstance(vm, pm, ASY_TYPE(vm, module)) &&
            asy_module_make_for(vm, mod_of(pm), dot + 1) < 0)
            return ASY_ERR;
        m = asy_dict_get_str(vm, vm->modules, name);
        if (!ASY_IS_UNDEF(m)) return m;
    } else {
        m = import_builtin(vm, name);
        if (!ASY_IS_UNDEF(m)) return m;
        m = import_file(vm, name);
        if (!ASY_IS_UNDEF(m)) return m;
    }
    AsyValue n = ASY_OBJ(name);
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_ModuleNotFoundError], 0, NULL);
    if (ASY_IS_ERR(e)) return e;
    AsyValue msg = ASY_OBJ(asy_str_printf(vm, "No module named '%s'", name->data));
    ((AsyException *)ASY_AS_OBJ(e))->args = asy_tuple_from_array(vm, &msg, 1);
    AsyException *x = (AsyException *)ASY_AS_OBJ(e);
    x->dict = asy_dict_new(vm);
    asy_dict_set_cstr(vm, x->dict, "name", n);
    return asy_raise_value(vm, e);
}

AsyValue asy_import_name(AsyVM *vm, AsyStr *name, AsyValue fromlist) {
    AsyValue m = asy_import(vm, name);
    if (ASY_IS_ERR(m)) return m;
    bool empty = ASY_IS_NONE(fromlist) || ASY_IS_UNDEF(fromlist) ||
                 (ASY_IS_OBJ(fromlist) && asy_len(vm, fromlist) == 0);
    const char *dot = strchr(name->data, '.');
    if (!empty || !dot) return m;
    /* `import a.b` binds a */
    AsyStr *top = asy_str_intern(vm, name->data, (size_t)(dot - name->data));
    return asy_dict_get_str(vm, vm->modules, top);
}
