/* Unit tests of the collector (gc.c): what is reachable from a root survives a collection,
 * what is not is freed (and finalized), the root stack protects C temporaries, cycles are
 * collected, generators' creation sites are roots, and the threshold decides when a
 * safepoint collects. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) { vm = asy_vm_new(); }
static void teardown(void) { asy_vm_free(vm); }

TestSuite(gc, .init = setup, .fini = teardown);

static bool count_one(AsyObj *obj, void *ctx) {
    (void)obj;
    ++*(size_t *)ctx;
    return true;
}

/* Objects on the heap right now. */
static size_t live_objects(void) {
    size_t n = 0;
    asy_gc_each(vm, count_one, &n);
    return n;
}

static bool is_not(AsyObj *obj, void *ctx) {
    if (obj != *(AsyObj **)ctx) return true;
    *(AsyObj **)ctx = NULL;
    return false;
}

static bool is_live(AsyObj *target) {
    asy_gc_each(vm, is_not, &target);
    return target == NULL;
}

Test(gc, unreachable_objects_are_freed) {
    asy_gc_collect(vm);
    size_t before = live_objects();
    for (int i = 0; i < 100; i++) asy_list_new(vm, 4);
    cr_assert_eq(live_objects(), before + 100);
    asy_gc_collect(vm);
    cr_assert_eq(live_objects(), before, "garbage lists survived a collection");
}

Test(gc, rooted_values_survive_with_their_children) {
    AsyList *outer = asy_list_new(vm, 1);
    AsyList *inner = asy_list_new(vm, 1);
    AsyStr *s = asy_str_from_cstr(vm, "kept alive through a list in a list");
    asy_list_append(vm, inner, ASY_OBJ(s));
    asy_list_append(vm, outer, ASY_OBJ(inner));
    asy_root_push(vm, ASY_OBJ(outer));
    asy_gc_collect(vm);
    cr_assert(is_live((AsyObj *)outer) && is_live((AsyObj *)inner) && is_live((AsyObj *)s));
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(inner->items[0]))->data,
                     "kept alive through a list in a list");
    asy_root_pop(vm, 1);
    asy_gc_collect(vm);
    cr_assert(!is_live((AsyObj *)outer) && !is_live((AsyObj *)inner) && !is_live((AsyObj *)s));
}

Test(gc, cycles_are_collected) {
    AsyList *a = asy_list_new(vm, 1), *b = asy_list_new(vm, 1);
    asy_list_append(vm, a, ASY_OBJ(b));
    asy_list_append(vm, b, ASY_OBJ(a));
    asy_gc_collect(vm);
    cr_assert(!is_live((AsyObj *)a) && !is_live((AsyObj *)b), "a reference cycle leaked");
}

Test(gc, dict_entries_are_traced) {
    AsyDict *d = asy_dict_new(vm);
    AsyStr *k = asy_str_from_cstr(vm, "key-not-interned");
    AsyList *v = asy_list_new(vm, 0);
    asy_dict_set(vm, d, ASY_OBJ(k), ASY_OBJ(v));
    asy_root_push(vm, ASY_OBJ(d));
    asy_gc_collect(vm);
    cr_assert(is_live((AsyObj *)k) && is_live((AsyObj *)v));
    asy_root_pop(vm, 1);
}

/* Big containers, wide and nested, are marked a slice at a time (asy_gc_mark_sliced):
 * everything in them survives, and the mark stack stays small (it grew to the widest
 * container's length before: a list of 100,000 lists left 1 MB behind). */
enum { WIDE = 20000, DEEP = 8, PER_LEVEL = 700 };

/* A list of WIDE one-item lists, a tuple and a str-keyed and a general dict of WIDE lists
 * each, a set of WIDE tuples, and a chain of DEEP lists of PER_LEVEL lists each. */
static AsyList *big_structures(void) {
    AsyList *top = asy_list_new(vm, 6);
    asy_root_push(vm, ASY_OBJ(top));
    AsyList *wide = asy_list_new(vm, WIDE);
    asy_list_append(vm, top, ASY_OBJ(wide));
    AsyTuple *tup = asy_tuple_new(vm, WIDE);
    asy_list_append(vm, top, ASY_OBJ(tup));
    AsyDict *sd = asy_dict_new(vm), *gd = asy_dict_new(vm);
    asy_list_append(vm, top, ASY_OBJ(sd));
    asy_list_append(vm, top, ASY_OBJ(gd));
    AsySet *set = asy_set_new(vm, false);
    asy_list_append(vm, top, ASY_OBJ(set));
    for (int i = 0; i < WIDE; i++) {
        AsyList *item = asy_list_new(vm, 1);
        asy_list_append(vm, item, ASY_INT(i));
        asy_list_append(vm, wide, ASY_OBJ(item));
        tup->items[i] = ASY_OBJ(asy_list_new(vm, 0));
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        asy_dict_set(vm, sd, ASY_OBJ(asy_str_from_cstr(vm, key)), ASY_OBJ(asy_list_new(vm, 0)));
        asy_dict_set(vm, gd, ASY_INT(i), ASY_OBJ(asy_list_new(vm, 0)));
        AsyTuple *pair = asy_tuple_new(vm, 2);
        pair->items[0] = ASY_INT(i);
        pair->items[1] = ASY_OBJ(asy_str_from_cstr(vm, key));
        cr_assert_eq(asy_set_add(vm, set, ASY_OBJ(pair)), 0);
    }
    AsyList *level = asy_list_new(vm, PER_LEVEL + 1);
    asy_list_append(vm, top, ASY_OBJ(level));
    for (int d = 0; d < DEEP; d++) {
        for (int i = 0; i < PER_LEVEL; i++)
            asy_list_append(vm, level, ASY_OBJ(asy_list_new(vm, 0)));
        AsyList *next = asy_list_new(vm, PER_LEVEL + 1);
        asy_list_append(vm, level, ASY_OBJ(next));
        level = next;
    }
    asy_root_pop(vm, 1);
    return top;
}

static size_t count_lists(AsyValue v) {
    if (!ASY_IS_OBJ(v) || ASY_AS_OBJ(v)->type != ASY_TYPE(vm, list)) return 0;
    AsyList *l = (AsyList *)ASY_AS_OBJ(v);
    size_t n = 1;
    for (int64_t i = 0; i < l->len; i++) n += count_lists(l->items[i]);
    return n;
}

static bool count_live_lists(AsyObj *obj, void *ctx) {
    size_t *n = ctx;
    if (obj->type == ASY_TYPE(vm, list)) n[0]++;
    if (obj->type == ASY_TYPE(vm, tuple)) n[1]++;
    return true;
}

Test(gc, big_containers_are_marked_in_slices) {
    asy_gc_collect(vm);
    size_t before[2] = {0, 0};
    asy_gc_each(vm, count_live_lists, before);
    AsyList *top = big_structures();
    asy_root_push(vm, ASY_OBJ(top));
    for (int i = 0; i < 1000; i++) asy_list_new(vm, 1); /* garbage */
    asy_gc_collect(vm);
    size_t after[2] = {0, 0};
    asy_gc_each(vm, count_live_lists, after);
    /* top, wide and its items; the tuple's and both dicts' lists; the chain */
    size_t expect = 2 + WIDE + 3 * (size_t)WIDE + 1 + (size_t)DEEP * (PER_LEVEL + 1);
    cr_assert_eq(after[0] - before[0], expect, "%zu lists live, %zu expected",
                 after[0] - before[0], expect);
    cr_assert_eq(after[1] - before[1], WIDE + 1, "the set's tuples or the tuple were freed");
    cr_assert_eq(count_lists(ASY_OBJ(top)), 3 + WIDE + (size_t)DEEP * (PER_LEVEL + 1));
    AsyList *wide = (AsyList *)ASY_AS_OBJ(top->items[0]);
    cr_assert_eq(ASY_AS_INT(((AsyList *)ASY_AS_OBJ(wide->items[WIDE - 1]))->items[0]), WIDE - 1);
    /* the mark stack held a slice per level, not a container's width: it did not grow past
     * what a collection keeps (it is given back when it does) */
    cr_assert(vm->graycap > 0 && vm->graycap <= 4096, "mark stack of %zu", vm->graycap);
    asy_root_pop(vm, 1);
    asy_gc_collect(vm);
    size_t end[2] = {0, 0};
    asy_gc_each(vm, count_live_lists, end);
    cr_assert(end[0] == before[0] && end[1] == before[1], "the structures were not freed");
}

Test(gc, module_globals_are_roots) {
    AsyModule *m = asy_module_new(vm, "gc_test_module");
    asy_module_register(vm, m);
    AsyList *v = asy_list_new(vm, 0);
    asy_dict_set_cstr(vm, m->dict, "value", ASY_OBJ(v));
    asy_gc_collect(vm);
    cr_assert(is_live((AsyObj *)v), "a module global was collected");
}

Test(gc, safepoint_collects_only_past_the_threshold) {
    asy_gc_collect(vm);
    size_t runs = vm->collections;
    asy_list_new(vm, 1);
    vm->next_gc = vm->bytes_allocated + (1u << 20);
#if !ASY_GC_STRESS
    asy_gc_safepoint(vm);
    cr_assert_eq(vm->collections, runs, "collected below the threshold");
#endif
    vm->next_gc = 0;
    asy_gc_safepoint(vm);
    cr_assert_eq(vm->collections, runs + 1, "did not collect past the threshold");
}

Test(gc, disabled_collector_frees_nothing) {
    AsyList *l = asy_list_new(vm, 1);
    vm->gc_disabled++;
    asy_gc_collect(vm);
    vm->gc_disabled--;
    cr_assert(is_live((AsyObj *)l));
}

Test(gc, huge_buffers_raise_memory_error_instead_of_aborting) {
    void *p = asy_mem_alloc(vm, ASY_MAX_ALLOC + 1);
    cr_assert_null(p);
    cr_assert(asy_exc_matches(vm, ASY_EXC_MemoryError));
    asy_exc_clear(vm);
}

/* An embedder's cap (the fuzzers set one): a program asking for more at once gets
 * MemoryError, whichever allocator the object or buffer comes from, and goes on. */
Test(gc, allocation_cap_raises_memory_error) {
    vm->max_alloc = (size_t)1 << 20;
    const char *src = "caught = []\n"
                      "for make in (lambda: 'ab' * 10**6, lambda: b'ab' * 10**6,\n"
                      "             lambda: (1, 2) * 10**6, lambda: [0] * 10**6,\n"
                      "             lambda: {i: i for i in range(10**6)}):\n"
                      "    try:\n"
                      "        make()\n"
                      "    except MemoryError:\n"
                      "        caught.append(1)\n"
                      "grown = []\n"
                      "try:\n"
                      "    for i in range(10**6): grown.append(0)\n"
                      "except MemoryError:\n"
                      "    caught.append(1000 < len(grown) < 10**6)\n"
                      "small = len('ab' * 1000)\n";
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<gc-test>", "gc_cap");
    cr_assert_not_null(m);
    AsyValue caught = asy_dict_get_cstr(vm, m->dict, "caught");
    cr_assert_eq(((AsyList *)ASY_AS_OBJ(caught))->len, 6);
    cr_assert_eq(ASY_AS_INT(asy_dict_get_cstr(vm, m->dict, "small")), 2000);
}

Test(gc, programs_survive_collections) {
    /* Run real code with a tiny threshold so it collects at nearly every safepoint. */
    vm->next_gc = 0;
    const char *src = "acc = []\n"
                      "for i in range(2000):\n"
                      "    acc.append({'k': [i, str(i)]})\n"
                      "total = sum(len(d['k'][1]) for d in acc)\n";
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<gc-test>", "gc_prog");
    cr_assert_not_null(m);
    cr_assert(vm->collections > 0);
    AsyValue total = asy_dict_get_cstr(vm, m->dict, "total");
    cr_assert(ASY_IS_INT(total));
    cr_assert_eq(ASY_AS_INT(total), 6890);
}

/* A built-in looping in C over an iterator class collects the garbage each __next__ makes:
 * the call back into asy code has a safepoint at its entry (vm.c, asy_call). Before, a
 * __next__ with no call or loop of its own never reached one, and this grew to 500 MB. */
Test(gc, c_loops_calling_asy_code_collect) {
    const char *src = "class C:\n"
                      "    def __init__(self): self.n = 0\n"
                      "    def __iter__(self): return self\n"
                      "    def __next__(self):\n"
                      "        self.n += 1\n"
                      "        if self.n > 200000: raise StopIteration\n"
                      "        return [0] * 100\n"
                      "longest = max(map(len, C()))\n";
    size_t before = vm->collections;
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<gc-test>", "gc_c_loop");
    cr_assert_not_null(m);
    cr_assert_eq(ASY_AS_INT(asy_dict_get_cstr(vm, m->dict, "longest")), 100);
    cr_assert(vm->collections > before, "no collection while the C loop ran");
    cr_assert_lt(vm->bytes_allocated, (size_t)64 << 20, "the garbage was not collected");
}

/* Found by tests/fuzz (fuzz_vm): top-level await with sys.modules['asyncio'] replaced
 * reached the scheduler before it existed. */
Test(gc, top_level_await_with_asyncio_module_replaced) {
    asy_dict_set_cstr(vm, vm->modules, "asyncio", ASY_NONE);
    const char *src = "async def f():\n    return 1\nx = await f()\n";
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<fuzz-regression>", "fz");
    cr_assert_not_null(m);
    cr_assert_eq(ASY_AS_INT(asy_dict_get_cstr(vm, m->dict, "x")), 1);
}

Test(gc, generator_sites_are_roots) {
    /* a never-awaited coroutine's finalizer reads its site's strings after the sweep */
    AsyStr *f = asy_str_from_cstr(vm, "gone.asy"), *q = asy_str_from_cstr(vm, "gone");
    uint32_t id;
    cr_assert(asy_gensite_find(vm, f, 7, q, &id));
    asy_gc_collect(vm);
    cr_assert(is_live(&f->hdr) && is_live(&q->hdr), "a creation site's strings were collected");
    cr_assert_str_eq(asy_gensite(vm, id)->qualname->data, "gone");
}
