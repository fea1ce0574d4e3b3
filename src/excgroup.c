/* excgroup.c - what an exception group does once made (exception.c constructs them):
 * split, subgroup and derive, and the two runtime steps of an `except*` statement, as
 * CPython 3.11's Objects/exceptions.c and ceval.c do them:
 *   CHECK_EG_MATCH     one clause takes its part of the group (asy_excgroup_match);
 *   PREP_RERAISE_STAR  what the clauses raised and what none matched make the exception
 *                      that leaves the statement (asy_excgroup_prep_reraise).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "vm_internal.h"

static AsyException *exc_of(AsyValue v) { return (AsyException *)ASY_AS_OBJ(v); }

static bool is_group(AsyVM *vm, AsyValue v) {
    return asy_isinstance(vm, v, vm->exc_types[ASY_EXC_BaseExceptionGroup]);
}

static AsyTuple *group_items(AsyValue eg) { return (AsyTuple *)ASY_AS_OBJ(exc_of(eg)->exceptions); }

/* ---- what a split matches ---- */

typedef enum { MATCH_BY_TYPE, MATCH_BY_PREDICATE, MATCH_BY_IDS } MatchKind;

typedef struct {
    MatchKind kind;
    AsyValue value; /* the class or tuple of classes, or the predicate */
    AsyObj **ids;   /* MATCH_BY_IDS: the leaf exceptions to take       */
    size_t nids, capids;
} Matcher;

/* CPython's get_matcher_type: a function is a predicate, else exception classes. */
static bool matcher_init(AsyVM *vm, Matcher *m, AsyValue value) {
    memset(m, 0, sizeof *m);
    m->value = value;
    if (ASY_IS_OBJ(value) && ASY_AS_OBJ(value)->type == ASY_TYPE(vm, function)) {
        m->kind = MATCH_BY_PREDICATE;
        return true;
    }
    m->kind = MATCH_BY_TYPE;
    if (asy_vm_is_exc_class(vm, value)) return true;
    if (ASY_IS_OBJ(value) && ASY_AS_OBJ(value)->type == ASY_TYPE(vm, tuple)) {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(value);
        bool ok = true;
        for (int64_t i = 0; i < t->len && ok; i++)
            ok = asy_vm_is_exc_class(vm, t->items[i]);
        if (ok) return true;
    }
    asy_raise(vm, ASY_EXC_TypeError,
              "expected a function, exception type or tuple of exception types");
    return false;
}

static bool ids_add(AsyVM *vm, Matcher *m, AsyObj *o) {
    if (m->nids == m->capids) {
        size_t cap = m->capids ? 2 * m->capids : 16;
        AsyObj **ids = realloc(m->ids, cap * sizeof *ids);
        if (!ids) {
            asy_raise_memory(vm);
            return false;
        }
        m->ids = ids;
        m->capids = cap;
    }
    m->ids[m->nids++] = o;
    return true;
}

/* The leaves of exc (exc itself when it is not a group), as CPython's
 * collect_exception_group_leaf_ids. */
static bool ids_add_leaves(AsyVM *vm, Matcher *m, AsyValue exc, int depth) {
    if (ASY_IS_NONE(exc)) return true;
    if (!is_group(vm, exc)) return ids_add(vm, m, ASY_AS_OBJ(exc));
    if (depth > ASY_MAX_C_DEPTH) {
        asy_raise(vm, ASY_EXC_RecursionError, "maximum recursion depth exceeded");
        return false;
    }
    AsyTuple *items = group_items(exc);
    for (int64_t i = 0; i < items->len; i++)
        if (!ids_add_leaves(vm, m, items->items[i], depth + 1)) return false;
    return true;
}

static int matcher_check(AsyVM *vm, Matcher *m, AsyValue exc) {
    switch (m->kind) {
    case MATCH_BY_TYPE: return asy_vm_exc_match(vm, exc, m->value);
    case MATCH_BY_PREDICATE: {
        AsyValue r = asy_call(vm, m->value, 1, &exc, NULL);
        return ASY_IS_ERR(r) ? -1 : asy_truthy(vm, r);
    }
    case MATCH_BY_IDS:
        for (size_t i = 0; i < m->nids; i++)
            if (m->ids[i] == ASY_AS_OBJ(exc)) return 1;
        return 0;
    }
    return 0;
}

/* ---- split ---- */

/* __notes__ of orig copied into a new list on eg, so the parts have their own. */
static bool copy_notes(AsyVM *vm, AsyValue orig, AsyValue eg) {
    AsyStr *name = asy_str_intern_cstr(vm, "__notes__");
    AsyValue notes = asy_getattr_opt(vm, orig, name);
    if (ASY_IS_ERR(notes)) return false;
    if (ASY_IS_UNDEF(notes) || !ASY_IS_OBJ(notes) ||
        (!asy_isinstance(vm, notes, ASY_TYPE(vm, list)) &&
         !asy_isinstance(vm, notes, ASY_TYPE(vm, tuple))))
        return true; /* CPython ignores notes that are not a sequence here */
    AsyList *copy = asy_list_from_iterable(vm, notes);
    return copy && asy_setattr(vm, eg, name, ASY_OBJ(copy)) == 0;
}

/* CPython's exceptiongroup_subset: orig.derive(excs) with orig's traceback, cause,
 * context and notes; None when excs is empty. */
static AsyValue subset(AsyVM *vm, AsyValue orig, AsyList *excs) {
    if (excs->len == 0) return ASY_NONE;
    AsyValue arg = ASY_OBJ(excs);
    AsyValue eg = asy_call_method(vm, orig, asy_str_intern_cstr(vm, "derive"), 1, &arg);
    if (ASY_IS_ERR(eg)) return ASY_ERR;
    if (!is_group(vm, eg))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "derive must return an instance of BaseExceptionGroup");
    asy_root_push(vm, eg);
    AsyException *src = exc_of(orig), *dst = exc_of(eg);
    dst->traceback = src->traceback;
    dst->context = src->context;
    dst->cause = src->cause;
    dst->suppress_context = src->suppress_context;
    bool ok = copy_notes(vm, orig, eg);
    asy_root_pop(vm, 1);
    return ok ? eg : ASY_ERR;
}

/* CPython's exceptiongroup_split_recursive: *match and *rest are None when empty; rest is
 * only built when want_rest. */
static bool split_rec(AsyVM *vm, AsyValue exc, Matcher *m, bool want_rest, int depth,
                      AsyValue *match, AsyValue *rest) {
    *match = *rest = ASY_NONE;
    int r = matcher_check(vm, m, exc);
    if (r < 0) return false;
    if (r) {
        *match = exc;
        return true;
    }
    if (!is_group(vm, exc)) {
        if (want_rest) *rest = exc;
        return true;
    }
    if (depth > ASY_MAX_C_DEPTH) {
        asy_raise(vm, ASY_EXC_RecursionError,
                  "maximum recursion depth exceeded in exceptiongroup_split_recursive");
        return false;
    }
    AsyList *ml = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(ml));
    AsyList *rl = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(rl));
    AsyTuple *items = group_items(exc);
    bool ok = true;
    for (int64_t i = 0; i < items->len && ok; i++) {
        AsyValue cm, cr;
        ok = split_rec(vm, items->items[i], m, want_rest, depth + 1, &cm, &cr) &&
             (ASY_IS_NONE(cm) || asy_list_append(vm, ml, cm) == 0) &&
             (ASY_IS_NONE(cr) || asy_list_append(vm, rl, cr) == 0);
    }
    if (ok) {
        *match = subset(vm, exc, ml);
        ok = !ASY_IS_ERR(*match);
    }
    if (ok && want_rest) {
        asy_root_push(vm, *match);
        *rest = subset(vm, exc, rl);
        asy_root_pop(vm, 1);
        ok = !ASY_IS_ERR(*rest);
    }
    asy_root_pop(vm, 2);
    return ok;
}

static bool split(AsyVM *vm, AsyValue eg, Matcher *m, bool want_rest, AsyValue *match,
                  AsyValue *rest) {
    bool ok = split_rec(vm, eg, m, want_rest, 0, match, rest);
    free(m->ids);
    m->ids = NULL;
    return ok;
}

static bool check_self(AsyVM *vm, int argc, AsyValue *argv, const char *name) {
    if (argc >= 1 && is_group(vm, argv[0])) return true;
    asy_raise(vm, ASY_EXC_TypeError,
              "descriptor '%s' for 'BaseExceptionGroup' objects doesn't apply to a '%s' "
              "object",
              name, argc >= 1 ? asy_type_name(vm, argv[0]) : "nothing");
    return false;
}

static AsyValue eg_m_split(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_self(vm, argc, argv, "split") || !asy_check_nokw(vm, "split", kw) ||
        !asy_check_args(vm, "split", argc - 1, 1, 1))
        return ASY_ERR;
    Matcher m;
    AsyValue pair[2];
    if (!matcher_init(vm, &m, argv[1]) || !split(vm, argv[0], &m, true, &pair[0], &pair[1]))
        return ASY_ERR;
    return ASY_OBJ(asy_tuple_from_array(vm, pair, 2));
}

static AsyValue eg_m_subgroup(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_self(vm, argc, argv, "subgroup") || !asy_check_nokw(vm, "subgroup", kw) ||
        !asy_check_args(vm, "subgroup", argc - 1, 1, 1))
        return ASY_ERR;
    Matcher m;
    AsyValue match, rest;
    if (!matcher_init(vm, &m, argv[1]) || !split(vm, argv[0], &m, false, &match, &rest))
        return ASY_ERR;
    return match;
}

/* derive(excs): a group like this one (same message) of other exceptions. */
static AsyValue eg_m_derive(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_self(vm, argc, argv, "derive") || !asy_check_nokw(vm, "derive", kw) ||
        !asy_check_args(vm, "derive", argc - 1, 1, 1))
        return ASY_ERR;
    AsyValue args[2] = {exc_of(argv[0])->message, argv[1]};
    return asy_call(vm, ASY_OBJ(vm->exc_types[ASY_EXC_BaseExceptionGroup]), 2, args, NULL);
}

static const AsyMethodDef excgroup_methods[] = {
    {"split", eg_m_split, 0, "Split into the exceptions that match and those that do not."},
    {"subgroup", eg_m_subgroup, 0, "The group of the exceptions that match, or None."},
    {"derive", eg_m_derive, 0, "A group with this message around other exceptions."},
    {NULL, NULL, 0, NULL},
};

void asy_excgroup_add_methods(AsyVM *vm, AsyType *base_group) {
    asy_type_add_methods(vm, base_group, excgroup_methods);
}

/* ---- except* ---- */

/* CPython's check_except_star_type_valid. */
static bool star_type_valid(AsyVM *vm, AsyValue type) {
    if (asy_vm_exc_match(vm, ASY_NONE, type) < 0) return false; /* not exception classes */
    AsyType *eg = vm->exc_types[ASY_EXC_BaseExceptionGroup];
    bool group = false;
    if (asy_is_subtype(ASY_AS_OBJ(type)->type, ASY_TYPE(vm, type))) {
        group = asy_is_subtype((AsyType *)ASY_AS_OBJ(type), eg);
    } else {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(type);
        for (int64_t i = 0; i < t->len && !group; i++)
            group = asy_is_subtype((AsyType *)ASY_AS_OBJ(t->items[i]), eg);
    }
    if (!group) return true;
    asy_raise(vm, ASY_EXC_TypeError,
              "catching ExceptionGroup with except* is not allowed. Use except instead.");
    return false;
}

int asy_excgroup_match(AsyVM *vm, AsyValue exc, AsyValue type, AsyValue *match, AsyValue *rest) {
    *match = *rest = ASY_NONE;
    if (!star_type_valid(vm, type)) return -1;
    if (ASY_IS_NONE(exc)) return 0;
    int r = asy_vm_exc_match(vm, exc, type);
    if (r < 0) return -1;
    if (r && is_group(vm, exc)) {
        *match = exc;
    } else if (r) { /* a naked exception: wrapped, without a traceback of its own */
        AsyValue args[2] = {ASY_OBJ(vm->empty_str), ASY_OBJ(asy_tuple_from_array(vm, &exc, 1))};
        asy_root_push(vm, args[1]);
        *match = asy_call(vm, ASY_OBJ(vm->exc_types[ASY_EXC_BaseExceptionGroup]), 2, args, NULL);
        asy_root_pop(vm, 1);
        if (ASY_IS_ERR(*match)) return -1;
    } else if (is_group(vm, exc)) {
        AsyValue pair = asy_call_method(vm, exc, asy_str_intern_cstr(vm, "split"), 1, &type);
        if (ASY_IS_ERR(pair)) return -1;
        if (!ASY_IS_OBJ(pair) || ASY_AS_OBJ(pair)->type != ASY_TYPE(vm, tuple) ||
            ((AsyTuple *)ASY_AS_OBJ(pair))->len != 2) {
            asy_raise(vm, ASY_EXC_TypeError, "%T.split must return a 2-tuple, got %T", exc, pair);
            return -1;
        }
        *match = ((AsyTuple *)ASY_AS_OBJ(pair))->items[0];
        *rest = ((AsyTuple *)ASY_AS_OBJ(pair))->items[1];
    }
    return 0;
}

/* An exception re-raised from orig (bare `raise` of a clause's match) keeps orig's
 * traceback, cause and context; one raised anew does not. */
static bool same_metadata(AsyException *a, AsyException *b) {
    return a->traceback == b->traceback && asy_value_is(a->cause, b->cause) &&
           asy_value_is(a->context, b->context);
}

/* CPython's _PyExc_PrepReraiseStar: excs holds what each clause raised and, last, the
 * part no clause matched (None entries are skipped). Returns None when all was handled. */
AsyValue asy_excgroup_prep_reraise(AsyVM *vm, AsyValue orig, AsyList *excs) {
    int64_t n = excs->len;
    if (n == 0) return ASY_NONE;
    if (!is_group(vm, orig)) return excs->items[0]; /* a naked exception: one clause ran */
    AsyList *raised = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(raised));
    Matcher m = {.kind = MATCH_BY_IDS, .value = ASY_NONE};
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
        AsyValue e = excs->items[i];
        if (ASY_IS_NONE(e)) continue;
        if (same_metadata(exc_of(e), exc_of(orig)))
            ok = ids_add_leaves(vm, &m, e, 0);
        else
            ok = asy_list_append(vm, raised, e) == 0;
    }
    AsyValue reraised = ASY_NONE, unused;
    if (!ok || !split(vm, orig, &m, false, &reraised, &unused)) {
        free(m.ids);
        asy_root_pop(vm, 1);
        return ASY_ERR;
    }
    AsyValue result = reraised;
    if (raised->len > 0) {
        if (!ASY_IS_NONE(reraised) && asy_list_append(vm, raised, reraised) < 0) {
            asy_root_pop(vm, 1);
            return ASY_ERR;
        }
        if (raised->len == 1) {
            result = raised->items[0];
        } else {
            AsyValue args[2] = {ASY_OBJ(vm->empty_str), ASY_OBJ(raised)};
            result =
                asy_call(vm, ASY_OBJ(vm->exc_types[ASY_EXC_BaseExceptionGroup]), 2, args, NULL);
        }
    }
    asy_root_pop(vm, 1);
    return result;
}
