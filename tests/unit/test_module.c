/* test_module.c - built-in modules' lazy parts (module.c): `import asyncio` and `import
 * aiohttp` make none of them, first use of one name makes just its part, and every name
 * the whole namespace shows (dir) is found by a first getattr in a fresh VM, so no part
 * defines a name its table leaves out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "vm.h"

static AsyVM *vm;

static AsyModule *run(const char *src) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "test.asy", "__main__");
    if (!m) asy_vm_print_exception(vm);
    cr_assert_not_null(m, "the module failed to run: %s", src);
    return m;
}

static void done(void) {
    asy_vm_free(vm);
    vm = NULL;
}

/* Whether module `mod`'s own namespace holds `name` (without making anything). */
static bool module_has(const char *mod, const char *name) {
    AsyValue m = asy_dict_get_cstr(vm, vm->modules, mod);
    cr_assert(ASY_IS_OBJ(m));
    return !ASY_IS_UNDEF(asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(m))->dict, name));
}

static bool asyncio_has(const char *name) { return module_has("asyncio", name); }

/* Each name dir(`mod`) lists (at least `min` of them) is found by the first getattr in a
 * VM of its own. */
static void check_first_use(const char *mod, int64_t min) {
    char src[200];
    snprintf(src, sizeof src, "import %s as m\nnames = dir(m)\n", mod);
    AsyModule *main = run(src);
    AsyValue names = asy_dict_get_cstr(vm, main->dict, "names");
    cr_assert(ASY_IS_OBJ(names));
    AsyList *l = (AsyList *)ASY_AS_OBJ(names);
    cr_assert_geq(l->len, min);
    /* Copy the names out: each is tried in a VM of its own. */
    int64_t n = l->len;
    char (*copy)[64] = calloc((size_t)n, 64);
    for (int64_t i = 0; i < n; i++)
        snprintf(copy[i], 64, "%s", ((AsyStr *)ASY_AS_OBJ(l->items[i]))->data);
    asy_vm_free(vm);
    vm = NULL;
    for (int64_t i = 0; i < n; i++) {
        snprintf(src, sizeof src, "import %s as m\nv = getattr(m, '%s')\n", mod, copy[i]);
        run(src);
        asy_vm_free(vm);
        vm = NULL;
    }
    free(copy);
}

Test(module, import_makes_no_lazy_part, .fini = done) {
    run("import asyncio\n");
    cr_assert(asyncio_has("sleep"));
    cr_assert(!asyncio_has("wait_for"));
    cr_assert(!asyncio_has("TaskGroup"));
    cr_assert(!asyncio_has("open_connection"));
    cr_assert_null(vm->exc);
}

Test(module, first_use_makes_only_its_part, .fini = done) {
    run("import asyncio\ntg = asyncio.TaskGroup\n");
    cr_assert(asyncio_has("TaskGroup"));
    cr_assert(!asyncio_has("wait_for"));
    cr_assert(!asyncio_has("Condition"));
    cr_assert(!asyncio_has("StreamReader"));
}

Test(module, every_name_is_found_on_first_use, .fini = done) { check_first_use("asyncio", 50); }

Test(module, every_subprocess_name_is_found_on_first_use, .fini = done) {
    check_first_use("asyncio.subprocess", 10);
}

Test(module, asyncio_subprocess_is_registered_at_import, .fini = done) {
    run("import sys, asyncio\nm = sys.modules['asyncio.subprocess']\n");
    cr_assert(!module_has("asyncio.subprocess", "PIPE"));
    cr_assert(!asyncio_has("subprocess"));
}

Test(module, aiohttp_web_part_is_lazy, .fini = done) {
    run("import aiohttp\n");
    cr_assert(module_has("aiohttp.web", "Response"));
    cr_assert(module_has("aiohttp.web", "ClientSession"));
    cr_assert(!module_has("aiohttp.web", "Application"));
    cr_assert(!module_has("aiohttp.web", "HTTPNotFound"));
    asy_vm_free(vm);
    run("from aiohttp import web\nr = web.json_response\n");
    cr_assert(module_has("aiohttp.web", "HTTPNotFound"));
}

Test(module, every_web_name_is_found_on_first_use, .fini = done) {
    check_first_use("aiohttp.web", 50);
}

Test(module, every_os_name_is_found_on_first_use, .fini = done) {
    check_first_use("os", 30);
    check_first_use("os.path", 30);
    check_first_use("sys", 10);
}
