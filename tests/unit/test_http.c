/* Unit tests of the http module's shared C helpers (mod_http.c): multidicts (case-
 * insensitive lookups, repeated keys, CPython-style errors), query-string parsing and
 * urlencoding as urllib.parse does them, one-pass keyword arguments, reason phrases, and
 * the module and its exception hierarchy as C sees them. */
#include "common.h"

#include <criterion/criterion.h>
#include <string.h>

#include "http.h"

static AsyVM *vm;
static AsyHttpState *st;

static void setup(void) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
    st = asy_http_state(vm);
    cr_assert_not_null(st, "the http module could not be set up");
}

static void teardown(void) { asy_vm_free(vm); }

TestSuite(http, .init = setup, .fini = teardown);

static const char *cstr(AsyValue v) {
    cr_assert(ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str)));
    return ((AsyStr *)ASY_AS_OBJ(v))->data;
}

static const char *repr_of(AsyValue v) { return cstr(asy_repr(vm, v)); }

static const char *error_text(void) {
    cr_assert_not_null(vm->exc);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    AsyStr *s = asy_str_printf(vm, "%s: %s", asy_type_name(vm, e), cstr(asy_str(vm, e)));
    return s->data;
}

static AsyValue str(const char *s) { return ASY_OBJ(asy_str_from_cstr(vm, s)); }

Test(http, headers_are_case_insensitive_and_keep_repeats) {
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, st->cimultidict);
    cr_assert(asy_http_multidict_add(vm, md, "Content-Type", 12, "text/plain", 10));
    cr_assert(asy_http_multidict_add(vm, md, "Set-Cookie", 10, "a=1", 3));
    cr_assert(asy_http_multidict_add(vm, md, "set-cookie", 10, "b=2", 3));
    cr_assert_str_eq(cstr(asy_http_multidict_get(md, "content-type")), "text/plain");
    cr_assert_str_eq(cstr(asy_getitem(vm, ASY_OBJ(md), str("CONTENT-TYPE"))), "text/plain");
    cr_assert_eq(asy_len(vm, ASY_OBJ(md)), 3);
    cr_assert_eq(asy_contains(vm, ASY_OBJ(md), str("SET-COOKIE")), 1);
    AsyValue all = asy_call_method(vm, ASY_OBJ(md), asy_str_intern_cstr(vm, "getall"), 1,
                                   (AsyValue[]){str("Set-Cookie")});
    cr_assert_str_eq(repr_of(all), "['a=1', 'b=2']");
    cr_assert_str_eq(repr_of(ASY_OBJ(md)), "<CIMultiDictProxy('Content-Type': 'text/plain', "
                                           "'Set-Cookie': 'a=1', 'set-cookie': 'b=2')>");
}

Test(http, multidict_errors_are_cpythons) {
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, st->cimultidict);
    cr_assert(ASY_IS_ERR(asy_getitem(vm, ASY_OBJ(md), str("X-Missing"))));
    cr_assert_str_eq(error_text(), "KeyError: 'X-Missing'");
    cr_assert_eq(asy_setitem(vm, ASY_OBJ(md), str("a"), str("b")), -1);
    cr_assert_str_eq(error_text(),
                     "TypeError: 'CIMultiDictProxy' object does not support item assignment");
    AsyHttpMultiDict *mut = asy_http_multidict_new(vm, st->cimultidict_mut);
    cr_assert_eq(asy_setitem(vm, ASY_OBJ(mut), str("X-A"), str("1")), 0);
    cr_assert_eq(asy_setitem(vm, ASY_OBJ(mut), str("x-a"), str("2")), 0);
    cr_assert_str_eq(repr_of(ASY_OBJ(mut)), "<CIMultiDict('X-A': '2')>");
}

Test(http, query_strings_parse_as_urllib_does) {
    AsyHttpMultiDict *q = asy_http_parse_query(vm, "a=1&b=two+words&a=%C3%A9&flag&=x&c=%zz");
    cr_assert_not_null(q);
    cr_assert_str_eq(repr_of(ASY_OBJ(q)), "<MultiDictProxy('a': '1', 'b': 'two words', "
                                          "'a': 'é', 'flag': '', '': 'x', 'c': '%zz')>");
    /* a MultiDictProxy is case-sensitive */
    cr_assert(ASY_IS_UNDEF(asy_http_multidict_get(q, "A")));
}

Test(http, urlencode_matches_urllib) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    AsyDict *d = asy_dict_new(vm);
    asy_dict_set_cstr(vm, d, "q", str("a b&c=d/é"));
    asy_dict_set_cstr(vm, d, "n", ASY_INT(42));
    cr_assert(asy_http_urlencode_mapping(vm, &b, ASY_OBJ(d)));
    AsyStr *s = asy_strbuf_finish(vm, &b);
    cr_assert_str_eq(s->data, "q=a+b%26c%3Dd%2F%C3%A9&n=42");
}

Test(http, keyword_arguments_in_one_pass) {
    static const char *const names[] = {"text", "status", NULL};
    static const char *const ignored[] = {"zlib_executor", NULL};
    AsyDict *kw = asy_dict_new(vm);
    asy_dict_set_cstr(vm, kw, "status", ASY_INT(201));
    asy_dict_set_cstr(vm, kw, "zlib_executor", ASY_NONE);
    AsyValue out[2];
    cr_assert(asy_http_kwargs(vm, "Response.__init__", kw, names, out, ignored));
    cr_assert(ASY_IS_UNDEF(out[0]));
    cr_assert_eq(ASY_AS_INT(out[1]), 201);
    asy_dict_set_cstr(vm, kw, "colour", ASY_NONE);
    cr_assert_not(asy_http_kwargs(vm, "Response.__init__", kw, names, out, ignored));
    cr_assert_str_eq(error_text(),
                     "TypeError: Response.__init__() got an unexpected keyword argument 'colour'");
}

Test(http, reason_phrases) {
    cr_assert_str_eq(asy_http_reason(200), "OK");
    cr_assert_str_eq(asy_http_reason(404), "Not Found");
    cr_assert_str_eq(asy_http_reason(418), "I'm a Teapot");
    cr_assert_str_eq(asy_http_reason(799), "");
}

Test(http, exception_hierarchy) {
    cr_assert(asy_is_subtype(st->e_connector, st->e_connection));
    cr_assert(asy_is_subtype(st->e_connector, vm->exc_types[ASY_EXC_OSError]));
    cr_assert(asy_is_subtype(st->e_cert, st->e_connector));
    cr_assert(asy_is_subtype(st->e_disconnected, st->e_connection));
    cr_assert(asy_is_subtype(st->e_redirects, st->e_response));
    cr_assert(asy_is_subtype(st->e_payload, st->e_client));
    /* aiohttp.web's part written in asy is made on first use */
    cr_assert_null(st->e_http_exception);
    cr_assert_eq(asy_module_make_all(vm, st->web), 0);
    cr_assert(asy_is_subtype(st->e_http_exception, vm->exc_types[ASY_EXC_Exception]));
    /* http and aiohttp are one module; aiohttp.web is its web attribute */
    AsyValue a = asy_import(vm, asy_str_intern_cstr(vm, "aiohttp"));
    AsyValue h = asy_import(vm, asy_str_intern_cstr(vm, "http"));
    AsyValue w = asy_import(vm, asy_str_intern_cstr(vm, "aiohttp.web"));
    cr_assert(asy_value_is(a, h));
    cr_assert(asy_value_is(w, ASY_OBJ(st->web)));
}

Test(http, urls_answer_yarls_questions) {
    AsyValue u = asy_http_url_new(
        vm, asy_str_from_cstr(vm, "https://u:p@example.com/a/b%20c?x=1&y=%20#frag"));
    AsyValue host = asy_getattr(vm, u, asy_str_intern_cstr(vm, "host"));
    AsyValue port = asy_getattr(vm, u, asy_str_intern_cstr(vm, "port"));
    AsyValue path = asy_getattr(vm, u, asy_str_intern_cstr(vm, "path"));
    AsyValue qs = asy_getattr(vm, u, asy_str_intern_cstr(vm, "query_string"));
    cr_assert_str_eq(cstr(host), "example.com");
    cr_assert_eq(ASY_AS_INT(port), 443);
    cr_assert_str_eq(cstr(path), "/a/b c");
    cr_assert_str_eq(cstr(qs), "x=1&y= ");
    cr_assert_str_eq(repr_of(u), "URL('https://u:p@example.com/a/b%20c?x=1&y=%20#frag')");
}
