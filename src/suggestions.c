/* suggestions.c - "Did you mean: 'sleep'?" after an uncaught NameError or AttributeError.
 *
 * CPython 3.11's Python/suggestions.c, by the same rules so that the same typo gets the
 * same hint: a Levenshtein distance where a case change costs 1 and any other edit 2, a
 * candidate within a third of the characters involved, the first of the closest in the
 * candidates' order. An AttributeError raised by an attribute lookup records the object
 * and the name (`e.obj`, `e.name`, as CPython's PyObject_GetAttr does); a NameError its
 * name and, where asy keeps it, the globals of the frame that raised it. The traceback
 * printer asks for the hint when it prints the exception's last line.
 */
#include "common.h"

#include <string.h>

#include "vm.h"

#define MAX_CANDIDATE_ITEMS 750
#define MAX_STRING_SIZE 40
#define MOVE_COST 2
#define CASE_COST 1

static size_t substitution_cost(char a, char b) {
    if ((a & 31) != (b & 31)) return MOVE_COST;
    if (a == b) return 0;
    if ('A' <= a && a <= 'Z') a += 'a' - 'A';
    if ('A' <= b && b <= 'Z') b += 'a' - 'A';
    return a == b ? CASE_COST : MOVE_COST;
}

/* The edit distance of a and b, or max_cost + 1 once it must exceed max_cost. */
static size_t levenshtein(const char *a, size_t na, const char *b, size_t nb, size_t max_cost) {
    while (na && nb && a[0] == b[0]) a++, b++, na--, nb--;   /* common prefix */
    while (na && nb && a[na - 1] == b[nb - 1]) na--, nb--;   /* common suffix */
    if (na == 0 || nb == 0) return (na + nb) * MOVE_COST;
    if (na > MAX_STRING_SIZE || nb > MAX_STRING_SIZE) return max_cost + 1;
    if (nb < na) {
        const char *t = a;
        a = b, b = t;
        size_t n = na;
        na = nb, nb = n;
    }
    if ((nb - na) * MOVE_COST > max_cost) return max_cost + 1;
    size_t row[MAX_STRING_SIZE];
    for (size_t i = 0; i < na; i++) row[i] = (i + 1) * MOVE_COST;
    size_t result = 0;
    for (size_t j = 0; j < nb; j++) {
        size_t distance = result = j * MOVE_COST, minimum = SIZE_MAX;
        for (size_t i = 0; i < na; i++) {
            size_t substitute = distance + substitution_cost(b[j], a[i]);
            distance = row[i];
            size_t insert_delete = (result < distance ? result : distance) + MOVE_COST;
            result = insert_delete < substitute ? insert_delete : substitute;
            row[i] = result;
            if (result < minimum) minimum = result;
        }
        if (minimum > max_cost) return max_cost + 1;
    }
    return result;
}

/* The closest of n candidate names to name, or NULL. */
static AsyStr *closest(AsyVM *vm, const AsyValue *items, int64_t n, AsyStr *name) {
    if (n >= MAX_CANDIDATE_ITEMS) return NULL;
    AsyStr *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (int64_t i = 0; i < n; i++) {
        if (!asy_isinstance(vm, items[i], ASY_TYPE(vm, str))) return NULL;
        AsyStr *item = (AsyStr *)ASY_AS_OBJ(items[i]);
        if (item->len == name->len && memcmp(item->data, name->data, name->len) == 0) continue;
        size_t max = (name->len + item->len + 3) * MOVE_COST / 6;
        if (best_distance - 1 < max) max = best_distance - 1;
        size_t d = levenshtein(name->data, name->len, item->data, item->len, max);
        if (d > max) continue;
        if (!best || d < best_distance) best = item, best_distance = d;
    }
    return best;
}

/* The closest key of d (all of them str in a namespace) to name. */
static AsyStr *closest_key(AsyVM *vm, AsyDict *d, AsyStr *name) {
    if (!d || d->len >= MAX_CANDIDATE_ITEMS) return NULL;
    AsyValue keys[MAX_CANDIDATE_ITEMS], key, value;
    int64_t n = 0, pos = 0;
    while (n < MAX_CANDIDATE_ITEMS && asy_dict_next(d, &pos, &key, &value)) keys[n++] = key;
    return closest(vm, keys, n, name);
}

static AsyValue exc_field(AsyVM *vm, AsyException *e, const char *field) {
    if (!e->dict) return ASY_UNDEF;
    return asy_dict_get_str(vm, e->dict, asy_str_intern_cstr(vm, field));
}

/* Stores e.<field> = v, leaving the pending exception (if any) as it was. */
static void exc_set_field(AsyVM *vm, AsyException *e, const char *field, AsyValue v) {
    AsyException *pending = vm->exc;
    vm->exc = NULL;
    asy_root_push(vm, ASY_OBJ(e));
    if (!e->dict) e->dict = asy_dict_new(vm);
    if (!e->dict || asy_dict_set_str(vm, e->dict, asy_str_intern_cstr(vm, field), v) < 0)
        asy_exc_clear(vm);
    asy_root_pop(vm, 1);
    vm->exc = pending;
}

void asy_attribute_error_context(AsyVM *vm, AsyValue obj, AsyStr *name) {
    AsyException *e = vm->exc;
    if (!e || !asy_exc_matches(vm, ASY_EXC_AttributeError)) return;
    AsyValue n = exc_field(vm, e, "name"), o = exc_field(vm, e, "obj");
    if ((!ASY_IS_UNDEF(n) && !ASY_IS_NONE(n)) || (!ASY_IS_UNDEF(o) && !ASY_IS_NONE(o))) return;
    exc_set_field(vm, e, "name", ASY_OBJ(name));
    exc_set_field(vm, e, "obj", obj);
}

AsyValue asy_raise_name_error(AsyVM *vm, AsyStr *name, AsyDict *globals) {
    asy_raise(vm, ASY_EXC_NameError, "name '%U' is not defined", name);
    AsyException *e = vm->exc;
    if (!e) return ASY_ERR;
    exc_set_field(vm, e, "name", ASY_OBJ(name));
    e->extra = globals ? ASY_OBJ(globals) : ASY_UNDEF; /* where the hint looks (not a field) */
    return ASY_ERR;
}

static AsyStr *attribute_suggestion(AsyVM *vm, AsyException *e) {
    AsyValue name = exc_field(vm, e, "name"), obj = exc_field(vm, e, "obj");
    if (ASY_IS_UNDEF(obj) || !asy_isinstance(vm, name, ASY_TYPE(vm, str))) return NULL;
    AsyValue dir = asy_dict_get_cstr(vm, vm->builtins->dict, "dir");
    if (ASY_IS_UNDEF(dir)) return NULL;
    AsyValue names = asy_call(vm, dir, 1, &obj, NULL);
    if (ASY_IS_ERR(names) || !asy_isinstance(vm, names, ASY_TYPE(vm, list))) return NULL;
    AsyList *l = (AsyList *)ASY_AS_OBJ(names);
    asy_root_push(vm, names);
    AsyStr *s = closest(vm, l->items, l->len, (AsyStr *)ASY_AS_OBJ(name));
    asy_root_pop(vm, 1);
    return s;
}

/* The innermost frame's local names, then its globals, then the builtins. */
static AsyStr *name_suggestion(AsyVM *vm, AsyException *e) {
    AsyValue name = exc_field(vm, e, "name");
    if (!asy_isinstance(vm, name, ASY_TYPE(vm, str)) || !e->traceback) return NULL;
    AsyStr *n = (AsyStr *)ASY_AS_OBJ(name);
    AsyTraceback *tb = e->traceback;
    while (tb->next) tb = tb->next;
    AsyCode *code = tb->code;
    AsyValue locals[MAX_CANDIDATE_ITEMS];
    int32_t nl = code->nlocals < MAX_CANDIDATE_ITEMS ? code->nlocals : MAX_CANDIDATE_ITEMS;
    for (int32_t i = 0; i < nl; i++) locals[i] = ASY_OBJ(code->varnames[i]);
    AsyStr *s = closest(vm, locals, nl, n);
    if (!s && ASY_IS_OBJ(e->extra) && asy_isinstance(vm, e->extra, ASY_TYPE(vm, dict)))
        s = closest_key(vm, (AsyDict *)ASY_AS_OBJ(e->extra), n);
    if (!s && asy_module_make_all(vm, vm->builtins) >= 0) s = closest_key(vm, vm->builtins->dict, n);
    return s;
}

AsyStr *asy_exception_suggestion(AsyVM *vm, AsyException *e) {
    AsyException *pending = vm->exc;
    vm->exc = NULL;
    asy_root_push(vm, ASY_OBJ(e));
    AsyStr *s = NULL;
    if (e->hdr.type == vm->exc_types[ASY_EXC_AttributeError])
        s = attribute_suggestion(vm, e);
    else if (e->hdr.type == vm->exc_types[ASY_EXC_NameError])
        s = name_suggestion(vm, e);
    asy_root_pop(vm, 1);
    vm->exc = pending; /* a failure on the way only means no hint */
    return s;
}
