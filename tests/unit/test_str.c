/* Unit tests of str.c, strformat.c, bytes.c and unicode.c: UTF-8 indexing, hashing and
 * interning, repr quoting, the methods' edge cases, format-spec parsing and padding,
 * str.format and %-formatting, bytes and the codecs.
 *
 * Most checks are table rows {receiver, method, arguments, expected}: receiver and
 * arguments are Python literals (parsed by a small reader below), expected is CPython's
 * repr of the result or "ExcType: message". Every row was produced by running the same
 * call under python3 3.11, so the table is the oracle's answer, not ours. */
#include "common.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strformat.h"
#include "unicode.h"
#include "vm.h"

static AsyVM *vm;

static void setup(void) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
}

static void teardown(void) { asy_vm_free(vm); }

TestSuite(str, .init = setup, .fini = teardown);

/* ---- a reader for the Python literals of the tables ---- */

static AsyValue lit(const char **p);

static void skip_ws(const char **p) {
    while (**p == ' ') (*p)++;
}

static int hexn(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        v = v * 16 + (c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    return v;
}

static AsyValue lit_string(const char **p, bool bytes) {
    char q = *(*p)++;
    char buf[512];
    size_t n = 0;
    while (**p && **p != q) {
        char c = *(*p)++;
        if (c != '\\') {
            buf[n++] = c;
            continue;
        }
        c = *(*p)++;
        uint32_t cp;
        switch (c) {
        case 'n': buf[n++] = '\n'; continue;
        case 't': buf[n++] = '\t'; continue;
        case 'r': buf[n++] = '\r'; continue;
        case 'x': cp = (uint32_t)hexn(*p, 2), *p += 2; break;
        case 'u': cp = (uint32_t)hexn(*p, 4), *p += 4; break;
        case 'U': cp = (uint32_t)hexn(*p, 8), *p += 8; break;
        default: buf[n++] = c; continue;
        }
        if (bytes) buf[n++] = (char)cp;
        else n += asy_utf8_encode(cp, buf + n);
    }
    (*p)++;
    if (bytes) return ASY_OBJ(asy_bytes_new(vm, (const uint8_t *)buf, n));
    return ASY_OBJ(asy_str_new(vm, buf, n));
}

/* Comma-separated literals up to `close`, as an array; returns the count. */
static int lit_list(const char **p, char close, AsyValue *out) {
    int n = 0;
    skip_ws(p);
    while (**p && **p != close) {
        out[n++] = lit(p);
        skip_ws(p);
        if (**p == ',' || **p == ':') (*p)++; /* {k: v} reads as k, v */
        skip_ws(p);
    }
    if (**p == close) (*p)++;
    return n;
}

static AsyValue lit(const char **p) {
    skip_ws(p);
    const char *s = *p;
    if (*s == '\'' || *s == '"') return lit_string(p, false);
    if (*s == 'b' && (s[1] == '\'' || s[1] == '"')) {
        (*p)++;
        return lit_string(p, true);
    }
    if (strncmp(s, "None", 4) == 0) return *p += 4, ASY_NONE;
    if (strncmp(s, "True", 4) == 0) return *p += 4, ASY_TRUE;
    if (strncmp(s, "False", 5) == 0) return *p += 5, ASY_FALSE;
    if (*s == '(' || *s == '[' || *s == '{') {
        (*p)++;
        AsyValue items[32];
        int n = lit_list(p, *s == '(' ? ')' : *s == '[' ? ']' : '}', items);
        if (*s == '(') return ASY_OBJ(asy_tuple_from_array(vm, items, n));
        if (*s == '[') return ASY_OBJ(asy_list_from_array(vm, items, n));
        AsyDict *d = asy_dict_new(vm);
        for (int i = 0; i + 1 < n; i += 2) asy_dict_set(vm, d, items[i], items[i + 1]);
        return ASY_OBJ(d);
    }
    size_t n = 0;
    bool is_float = false;
    while (s[n] == '-' || (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == 'e') {
        is_float = is_float || s[n] == '.' || s[n] == 'e';
        n++;
    }
    *p = s + n;
    if (is_float) return ASY_FLOAT(strtod(s, NULL));
    return asy_int_from_str(vm, s, n, 10);
}

/* repr of a result, or "Type: message" for a pending exception (which is cleared). */
static char *show(AsyValue v) {
    static char out[2048];
    if (ASY_IS_ERR(v)) {
        AsyValue exc = ASY_OBJ(vm->exc);
        const char *tname = asy_type_name(vm, exc);
        asy_exc_clear(vm);
        AsyValue msg = asy_str(vm, exc);
        snprintf(out, sizeof out, "%s: %s", tname, ASY_IS_ERR(msg) ? "?" : ((AsyStr *)ASY_AS_OBJ(msg))->data);
        return out;
    }
    AsyValue r = asy_repr(vm, v);
    cr_assert(!ASY_IS_ERR(r), "repr failed");
    snprintf(out, sizeof out, "%s", ((AsyStr *)ASY_AS_OBJ(r))->data);
    return out;
}

typedef struct {
    const char *recv, *method, *args, *expect;
} Case;

/* Call recv.method(*args) (method "%" means recv % args[0], "[]" means recv[args[0]]). */
static AsyValue run_case(const Case *c) {
    const char *p = c->recv;
    AsyValue self = lit(&p);
    AsyValue args[16];
    p = c->args;
    int n = lit_list(&p, '\0', args);
    if (strcmp(c->method, "%") == 0) return asy_binop(vm, self, args[0], ASY_BIN_MOD);
    if (strcmp(c->method, "+") == 0) return asy_binop(vm, self, args[0], ASY_BIN_ADD);
    if (strcmp(c->method, "*") == 0) return asy_binop(vm, self, args[0], ASY_BIN_MUL);
    if (strcmp(c->method, "[]") == 0) return asy_getitem(vm, self, args[0]);
    if (strcmp(c->method, "in") == 0) {
        int r = asy_contains(vm, self, args[0]);
        return r < 0 ? ASY_ERR : ASY_BOOL(r);
    }
    if (strcmp(c->method, "format()") == 0) return asy_format(vm, self, (AsyStr *)ASY_AS_OBJ(args[0]));
    if (strcmp(c->method, "repr") == 0) return asy_repr(vm, self);
    if (strcmp(c->method, "str") == 0) return asy_str(vm, self);
    AsyValue m = asy_getattr(vm, self, asy_str_intern_cstr(vm, c->method));
    if (ASY_IS_ERR(m)) return m;
    return asy_call(vm, m, n, args, NULL);
}

static void run_cases(const Case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *got = show(run_case(&cases[i]));
        cr_expect_str_eq(got, cases[i].expect, "%s.%s(%s): got %s, want %s", cases[i].recv,
                         cases[i].method, cases[i].args, got, cases[i].expect);
    }
}

#define RUN(table) run_cases(table, sizeof table / sizeof table[0])

/* ---- str methods ---- */

static const Case str_methods[] = {
    {"'a,b,,c'", "split", "','", "['a', 'b', '', 'c']"},
    {"' a b  c\\t'", "split", "", "['a', 'b', 'c']"},
    {"'  a b  c  '", "split", "None, 1", "['a', 'b  c  ']"},
    {"'  a b  c  '", "rsplit", "None, 1", "['  a b', 'c']"},
    {"'a-b-c'", "rsplit", "'-', 1", "['a-b', 'c']"},
    {"'a\\x1cb\\x85c\\u2028d\\u3000e'", "split", "", "['a', 'b', 'c', 'd', 'e']"},
    {"'abc'", "split", "''", "ValueError: empty separator"},
    {"'abc'", "split", "1", "TypeError: must be str or None, not int"},
    {"''", "split", "", "[]"},
    {"''", "split", "','", "['']"},
    {"'a\\nb\\r\\nc\\rd\\x0be\\x85f\\u2028'", "splitlines", "", "['a', 'b', 'c', 'd', 'e', 'f']"},
    {"'a\\nb\\r\\n'", "splitlines", "True", "['a\\n', 'b\\r\\n']"},
    {"'  xx  '", "strip", "", "'xx'"},
    {"'xxhixx'", "strip", "'x'", "'hi'"},
    {"'\\u00e9\\u00e9h\\u00e9'", "lstrip", "'\\u00e9'", "'hé'"},
    {"'abc'", "strip", "1", "TypeError: strip arg must be None or str"},
    {"'\\u3000 a \\u3000'", "strip", "", "'a'"},
    {"'hello'", "find", "'l'", "2"},
    {"'hello'", "rfind", "'l'", "3"},
    {"'h\\u00e9llo w\\u00f6rld'", "find", "'w'", "6"},
    {"'h\\u00e9llo w\\u00f6rld'", "rfind", "'l', 0, 5", "3"},
    {"'hello'", "find", "'', 5", "5"},
    {"'hello'", "find", "'', 6", "-1"},
    {"'hello'", "find", "1", "TypeError: must be str, not int"},
    {"'hello'", "index", "'z'", "ValueError: substring not found"},
    {"'hello'", "count", "''", "6"},
    {"'hello'", "count", "'l', -3", "2"},
    {"'aaaa'", "count", "'aa'", "2"},
    {"'hello'", "startswith", "('x', 'he')", "True"},
    {"'hello'", "startswith", "1", "TypeError: startswith first arg must be str or a tuple of str, not int"},
    {"'hello'", "endswith", "'lo', 0, 4", "False"},
    {"'hello'", "endswith", "(1,)", "TypeError: tuple for endswith must only contain str, not int"},
    {"'aaa'", "replace", "'a', 'bb', 2", "'bbbba'"},
    {"'abc'", "replace", "'', '-'", "'-a-b-c-'"},
    {"'ab\\u00e9'", "replace", "'', '.', 2", "'.a.bé'"},
    {"'abc'", "replace", "1, 2", "TypeError: replace() argument 1 must be str, not int"},
    {"'Hello World'", "upper", "", "'HELLO WORLD'"},
    {"'stra\\u00dfe'", "upper", "", "'STRASSE'"},
    {"'\\u03a3\\u0391\\u03a3 \\u03a3'", "lower", "", "'σας σ'"},
    {"'\\u0130'", "lower", "", "'i̇'"},
    {"'Stra\\u00dfe'", "casefold", "", "'strasse'"},
    {"'hello wORLD'", "title", "", "'Hello World'"},
    {"'they\\'re bill\\'s'", "title", "", "\"They'Re Bill'S\""},
    {"'\\u01c6ungla'", "capitalize", "", "'ǅungla'"},
    {"'hELLO'", "capitalize", "", "'Hello'"},
    {"'HeLLo \\u00c9'", "swapcase", "", "'hEllO é'"},
    {"'abc'", "upper", "1", "TypeError: str.upper() takes no arguments (1 given)"},
    {"'42'", "isdigit", "", "True"},
    {"'\\u00b2'", "isdigit", "", "True"},
    {"'\\u00b2'", "isdecimal", "", "False"},
    {"'\\u00bd'", "isnumeric", "", "True"},
    {"'\\u0663'", "isdecimal", "", "True"},
    {"'caf\\u00e9'", "isalpha", "", "True"},
    {"''", "isalpha", "", "False"},
    {"'ab1'", "isalnum", "", "True"},
    {"' \\t\\x1f'", "isspace", "", "True"},
    {"'\\xa0'", "isprintable", "", "False"},
    {"''", "isprintable", "", "True"},
    {"'ABC1'", "isupper", "", "True"},
    {"'123'", "isupper", "", "False"},
    {"'abc\\u00e9'", "islower", "", "True"},
    {"'Hello World'", "istitle", "", "True"},
    {"'Hello world'", "istitle", "", "False"},
    {"'_a1'", "isidentifier", "", "True"},
    {"'1a'", "isidentifier", "", "False"},
    {"'\\u00e9t\\u00e9'", "isidentifier", "", "True"},
    {"'\\u00e9'", "isascii", "", "False"},
    {"'abc'", "center", "9, '*'", "'***abc***'"},
    {"'ab'", "center", "5", "'  ab '"},
    {"'a'", "center", "4", "' a  '"},
    {"'abc'", "ljust", "6, '\\u00e9'", "'abcééé'"},
    {"'abc'", "rjust", "2", "'abc'"},
    {"'abc'", "ljust", "5, 'ab'", "TypeError: The fill character must be exactly one character long"},
    {"'-7'", "zfill", "4", "'-007'"},
    {"'+7'", "zfill", "1", "'+7'"},
    {"'abc'", "zfill", "5", "'00abc'"},
    {"'a=b=c'", "partition", "'='", "('a', '=', 'b=c')"},
    {"'a=b=c'", "rpartition", "'='", "('a=b', '=', 'c')"},
    {"'abc'", "rpartition", "'='", "('', '', 'abc')"},
    {"'abc'", "partition", "''", "ValueError: empty separator"},
    {"'a\\tbc\\td\\n\\tx'", "expandtabs", "", "'a       bc      d\\n        x'"},
    {"'a\\tb'", "expandtabs", "4", "'a   b'"},
    {"'prefix.txt'", "removeprefix", "'prefix'", "'.txt'"},
    {"'prefix.txt'", "removesuffix", "'.txt'", "'prefix'"},
    {"'abc'", "removesuffix", "1", "TypeError: removesuffix() argument must be str, not int"},
    {"', '", "join", "['a', 'b', 'c']", "'a, b, c'"},
    {"', '", "join", "('\\u00e9', 'b')", "'é, b'"},
    {"''", "join", "[]", "''"},
    {"'-'", "join", "['a', 1]", "TypeError: sequence item 1: expected str instance, int found"},
    {"'-'", "join", "5", "TypeError: can only join an iterable"},
    {"'-'", "join", "'abc'", "'a-b-c'"},
    {"'h\\u00e9llo \\u20ac'", "encode", "", "b'h\\xc3\\xa9llo \\xe2\\x82\\xac'"},
    {"'h\\u00e9llo'", "encode", "'latin-1'", "b'h\\xe9llo'"},
    {"'caf\\u00e9'", "encode", "'ascii'", "UnicodeEncodeError: 'ascii' codec can't encode character '\\xe9' in position 3: ordinal not in range(128)"},
    {"'\\u00e9\\u20ac\\U0001f600x'", "encode", "'ascii'", "UnicodeEncodeError: 'ascii' codec can't encode characters in position 0-2: ordinal not in range(128)"},
    {"'a\\u20acb'", "encode", "'latin1', 'replace'", "b'a?b'"},
    {"'a\\u20acb'", "encode", "'ascii', 'ignore'", "b'ab'"},
    {"'a\\u20acb'", "encode", "'ascii', 'backslashreplace'", "b'a\\\\u20acb'"},
    {"'a'", "encode", "'klingon'", "LookupError: unknown encoding: klingon"},
    {"'\\u00e9'", "encode", "'ascii', 'bogus'", "LookupError: unknown error handler name 'bogus'"},
    {"'abc'", "translate", "{97: 'X', 98: None, 99: 100}", "'Xd'"},
    {"'abc'", "translate", "{97: 1.5}", "TypeError: character mapping must return integer, None or str"},
    {"'abc'", "maketrans", "'ab', 'xy', 'c'", "{97: 120, 98: 121, 99: None}"},
    {"'abc'", "maketrans", "'ab', 'x'", "ValueError: the first two maketrans arguments must have equal length"},
    {"'abc'", "maketrans", "1", "TypeError: if you give only one argument to maketrans it must be a dict"},
    {"'abc'", "maketrans", "{'ab': 1}", "ValueError: string keys in translate table must be of length 1"},
};

Test(str, methods) { RUN(str_methods); }

/* ---- indexing, slicing, operators, repr ---- */

static const Case str_ops[] = {
    {"'h\\u00e9llo'", "[]", "1", "'é'"},
    {"'h\\u00e9llo'", "[]", "-1", "'o'"},
    {"'h\\u00e9llo'", "[]", "5", "IndexError: string index out of range"},
    {"'h\\u00e9llo'", "[]", "-6", "IndexError: string index out of range"},
    {"'abc'", "[]", "'x'", "TypeError: string indices must be integers, not 'str'"},
    {"'abc'", "[]", "1.5", "TypeError: string indices must be integers, not 'float'"},
    {"'abc'", "[]", "True", "'b'"},
    {"'abc'", "+", "'\\u00e9'", "'abcé'"},
    {"'abc'", "+", "1", "TypeError: can only concatenate str (not \"int\") to str"},
    {"'ab'", "*", "3", "'ababab'"},
    {"'\\u00e9'", "*", "-1", "''"},
    {"'ab'", "*", "2.0", "TypeError: can't multiply sequence by non-int of type 'float'"},
    {"'hello'", "in", "'ell'", "True"},
    {"'hello'", "in", "''", "True"},
    {"'hello'", "in", "1", "TypeError: 'in <string>' requires string as left operand, not int"},
    {"'it\\'s'", "repr", "", "'\"it\\'s\"'"},
    {"'say \"hi\"'", "repr", "", "'\\'say \"hi\"\\''"},
    {"'both \\' and \"'", "repr", "", "'\\'both \\\\\\' and \"\\''"},
    {"'tab\\there\\n\\r\\x00\\x7f\\\\'", "repr", "", "\"'tab\\\\there\\\\n\\\\r\\\\x00\\\\x7f\\\\\\\\'\""},
    {"'\\u00e9\\xa0\\xad\\u2028\\U0001f600\\ud800\\U000e0001'", "repr", "", "\"'é\\\\xa0\\\\xad\\\\u2028😀\\\\ud800\\\\U000e0001'\""},
    {"'\\u00e9\\U0001f600'", "str", "", "'é😀'"},
};

Test(str, operators_and_repr) { RUN(str_ops); }

/* ---- __format__, str.format, % ---- */

static const Case formats[] = {
    {"'abc'", "format()", "'>6'", "'   abc'"},
    {"'abc'", "format()", "'*^8'", "'**abc***'"},
    {"'abc'", "format()", "'.2'", "'ab'"},
    {"'abc'", "format()", "'06'", "'abc000'"},
    {"'\\u00e9t\\u00e9'", "format()", "'\\u00e9<6.2'", "'étéééé'"},
    {"'abc'", "format()", "'+'", "ValueError: Sign not allowed in string format specifier"},
    {"'abc'", "format()", "' '", "ValueError: Space not allowed in string format specifier"},
    {"'abc'", "format()", "'='", "ValueError: '=' alignment not allowed in string format specifier"},
    {"'abc'", "format()", "'#'", "ValueError: Alternate form (#) not allowed in string format specifier"},
    {"'abc'", "format()", "'z'", "ValueError: Negative zero coercion (z) not allowed in string format specifier"},
    {"'abc'", "format()", "','", "ValueError: Cannot specify ',' with 's'."},
    {"'abc'", "format()", "'d'", "ValueError: Unknown format code 'd' for object of type 'str'"},
    {"'abc'", "format()", "'x<<5'", "ValueError: Invalid format specifier 'x<<5' for object of type 'str'"},
    {"'abc'", "format()", "'.'", "ValueError: Format specifier missing precision"},
    {"'abc'", "format()", "'99999999999999999999'", "ValueError: Too many decimal digits in format string"},
    {"'abc'", "format()", "',_'", "ValueError: Cannot specify both ',' and '_'."},
    {"'abc'", "format()", "'\\u00e9'", "ValueError: Unknown format code '\\xe9' for object of type 'str'"},
    {"'{} {}'", "format", "1, 'two'", "'1 two'"},
    {"'{1}{0}{1}'", "format", "'a', 'b'", "'bab'"},
    {"'{0[1]}-{0[0]}'", "format", "['x', 'y']", "'y-x'"},
    {"'{0[k]}'", "format", "{'k': 'v'}", "'v'"},
    {"'{!r:>6}|{!s}|{!a}'", "format", "'q', 'w', '\\u00e9'", "\"   'q'|w|'\\\\xe9'\""},
    {"'{:{}}|'", "format", "'a', 4", "'a   |'"},
    {"'{0:{1}.{2}}|'", "format", "'abcdef', 5, 2", "'ab   |'"},
    {"'{{}} {{{}}}'", "format", "7", "'{} {7}'"},
    {"'{'", "format", "", "ValueError: Single '{' encountered in format string"},
    {"'}'", "format", "", "ValueError: Single '}' encountered in format string"},
    {"'{0'", "format", "1", "ValueError: expected '}' before end of string"},
    {"'{0:'", "format", "1", "ValueError: unmatched '{' in format spec"},
    {"'{} {0}'", "format", "1", "ValueError: cannot switch from automatic field numbering to manual field specification"},
    {"'{0} {}'", "format", "1", "ValueError: cannot switch from manual field specification to automatic field numbering"},
    {"'{2}'", "format", "1", "IndexError: Replacement index 2 out of range for positional args tuple"},
    {"'{x}'", "format", "1", "KeyError: 'x'"},
    {"'{0!x}'", "format", "1", "ValueError: Unknown conversion specifier x"},
    {"'{0!rr}'", "format", "1", "ValueError: expected ':' after conversion specifier"},
    {"'{0[}'", "format", "1", "ValueError: expected '}' before end of string"},
    {"'{0.}'", "format", "1", "ValueError: Empty attribute in format string"},
    {"'{0[0]x}'", "format", "[1]", "ValueError: Only '.' or '[' may follow ']' in format field specifier"},
    {"'{:{:{}}}'", "format", "1, 2, 3", "ValueError: Max string recursion exceeded"},
    {"'{a}'", "format_map", "{'a': 5}", "'5'"},
    {"'{}'", "format_map", "{}", "ValueError: Format string contains positional fields"},
    {"'%s|%r|%a'", "%", "('\\u00e9', '\\u00e9', '\\u00e9')", "\"é|'é'|'\\\\xe9'\""},
    {"'%5s|%-5s|%.2s'", "%", "('ab', 'cd', 'efg')", "'   ab|cd   |ef'"},
    {"'%d %i %u'", "%", "(3.99, -2, True)", "'3 -2 1'"},
    {"'%x %X %o %#x %#o'", "%", "(255, 255, 8, 255, 8)", "'ff FF 10 0xff 0o10'"},
    {"'%05d|%-5d|%+d|% d|%.3d'", "%", "(-42, 7, 5, 5, 5)", "'-0042|7    |+5| 5|005'"},
    {"'%#08x|%-#8x|'", "%", "(255, 255)", "'0x0000ff|0xff    |'"},
    {"'%f %.2f %e %.3E %g %G'", "%", "(3.14159, 2.675, 12345.678, 0.00012, 1e-05, 1e20)", "'3.141590 2.67 1.234568e+04 1.200E-04 1e-05 1E+20'"},
    {"'%010.3f|%-10.2f|%+.1f'", "%", "(-3.14159, 2.5, 0.05)", "'-00003.142|2.50      |+0.1'"},
    {"'%c%c'", "%", "(72, 'i')", "'Hi'"},
    {"'%c'", "%", "'ab'", "TypeError: %c requires int or char"},
    {"'%c'", "%", "1114112", "OverflowError: %c arg not in range(0x110000)"},
    {"'%(a)s-%(b)d'", "%", "{'a': 'x', 'b': 3}", "'x-3'"},
    {"'%(a)s %s'", "%", "{'a': 1}", "TypeError: not enough arguments for format string"},
    {"'%s'", "%", "[1, 2]", "'[1, 2]'"},
    {"'hello'", "%", "[1]", "'hello'"},
    {"'hello'", "%", "5", "TypeError: not all arguments converted during string formatting"},
    {"'%s %s'", "%", "(1,)", "TypeError: not enough arguments for format string"},
    {"'%s'", "%", "(1, 2)", "TypeError: not all arguments converted during string formatting"},
    {"'%d'", "%", "'x'", "TypeError: %d format: a real number is required, not str"},
    {"'%x'", "%", "1.5", "TypeError: %x format: an integer is required, not float"},
    {"'%f'", "%", "'x'", "TypeError: must be real number, not str"},
    {"'%z'", "%", "1", "ValueError: unsupported format character 'z' (0x7a) at index 1"},
    {"'ab %'", "%", "()", "ValueError: incomplete format"},
    {"'%(a'", "%", "{}", "ValueError: incomplete format key"},
    {"'%(a)s'", "%", "5", "TypeError: format requires a mapping"},
    {"'%*d|%-*d|%.*f'", "%", "(4, 1, 4, 2, 2, 3.14159)", "'   1|2   |3.14'"},
    {"'%%|%5.1f%%'", "%", "99.5", "'%| 99.5%'"},
    {"'%s'", "%", "((1, 2),)", "'(1, 2)'"},
    {"'%d'", "%", "12345678901234567890123", "'12345678901234567890123'"},
    {"'%x'", "%", "-12345678901234567890123", "'-29d42b64e76714244cb'"},
};

Test(str, formatting) { RUN(formats); }

/* ---- bytes ---- */

static const Case bytes_cases[] = {
    {"b'hello'", "[]", "0", "104"},
    {"b'hello'", "[]", "-1", "111"},
    {"b'hello'", "[]", "5", "IndexError: index out of range"},
    {"b'hello'", "[]", "'x'", "TypeError: byte indices must be integers or slices, not str"},
    {"b'ab'", "+", "b'cd'", "b'abcd'"},
    {"b'ab'", "+", "'cd'", "TypeError: can't concat str to bytes"},
    {"b'ab'", "*", "3", "b'ababab'"},
    {"b'hello'", "in", "b'ell'", "True"},
    {"b'hello'", "in", "104", "True"},
    {"b'hello'", "in", "300", "ValueError: byte must be in range(0, 256)"},
    {"b'hello'", "in", "'h'", "TypeError: a bytes-like object is required, not 'str'"},
    {"b'\\x00\\xff\\n\\t\\\\\\''", "repr", "", "'b\"\\\\x00\\\\xff\\\\n\\\\t\\\\\\\\\\'\"'"},
    {"b'say \"x\"'", "repr", "", "'b\\'say \"x\"\\''"},
    {"b'caf\\xc3\\xa9'", "decode", "", "'café'"},
    {"b'\\xff\\xfe'", "decode", "", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
    {"b'\\xe2\\x82'", "decode", "", "UnicodeDecodeError: 'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"},
    {"b'\\xe2\\x28'", "decode", "", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte"},
    {"b'\\xe2\\x82\\xac\\xe2'", "decode", "", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe2 in position 3: unexpected end of data"},
    {"b'a\\xffb\\xe2\\x82'", "decode", "'utf-8', 'replace'", "'a�b�'"},
    {"b'a\\xffb'", "decode", "'utf-8', 'ignore'", "'ab'"},
    {"b'a\\xffb'", "decode", "'ascii'", "UnicodeDecodeError: 'ascii' codec can't decode byte 0xff in position 1: ordinal not in range(128)"},
    {"b'a\\xffb'", "decode", "'latin-1'", "'aÿb'"},
    {"b'\\xed\\xa0\\x80'", "decode", "", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
    {"b'\\xf0\\x9f\\x98\\x80'", "decode", "", "'😀'"},
    {"b'ab'", "decode", "'nope'", "LookupError: unknown encoding: nope"},
    {"b'\\x00\\x01\\xfe'", "hex", "", "'0001fe'"},
    {"b'abc'", "hex", "':'", "'61:62:63'"},
    {"b'x'", "fromhex", "'de ad BE'", "b'\\xde\\xad\\xbe'"},
    {"b'x'", "fromhex", "'dx'", "ValueError: non-hexadecimal number found in fromhex() arg at position 1"},
    {"b'x'", "fromhex", "'d'", "ValueError: non-hexadecimal number found in fromhex() arg at position 1"},
    {"b'hello'", "find", "b'l'", "2"},
    {"b'hello'", "find", "108", "2"},
    {"b'hello'", "rfind", "b'l'", "3"},
    {"b'hello'", "find", "'l'", "TypeError: argument should be integer or bytes-like object, not 'str'"},
    {"b'hello'", "index", "b'z'", "ValueError: subsection not found"},
    {"b'hello'", "count", "b''", "6"},
    {"b'hello'", "startswith", "b'he'", "True"},
    {"b'hello'", "startswith", "'he'", "TypeError: startswith first arg must be bytes or a tuple of bytes, not str"},
    {"b'hello'", "endswith", "(b'x', b'lo')", "True"},
    {"b'a b  c '", "split", "", "[b'a', b'b', b'c']"},
    {"b'a,b,,c'", "split", "b','", "[b'a', b'b', b'', b'c']"},
    {"b'a,b,c'", "rsplit", "b',', 1", "[b'a,b', b'c']"},
    {"b'-'", "join", "[b'a', b'b']", "b'a-b'"},
    {"b'-'", "join", "[b'a', 'b']", "TypeError: sequence item 1: expected a bytes-like object, str found"},
    {"b'  ab  '", "strip", "", "b'ab'"},
    {"b'xxabxx'", "strip", "b'x'", "b'ab'"},
    {"b'ab'", "strip", "'a'", "TypeError: a bytes-like object is required, not 'str'"},
    {"b'Hello'", "upper", "", "b'HELLO'"},
    {"b'Hello'", "lower", "", "b'hello'"},
    {"b'hello'", "replace", "b'l', b'L'", "b'heLLo'"},
    {"b'abc'", "replace", "b'', b'-'", "b'-a-b-c-'"},
    {"b'a=b'", "partition", "b'='", "(b'a', b'=', b'b')"},
    {"b'123'", "isdigit", "", "True"},
    {"b''", "isalpha", "", "False"},
    {"b'a\\nb\\r\\nc'", "splitlines", "", "[b'a', b'b', b'c']"},
};

Test(str, bytes) { RUN(bytes_cases); }

/* ---- the Unicode tables against CPython (flags: alpha decimal digit numeric space
 * printable upper lower; mappings as hex code points) ---- */

static const struct {
    uint32_t cp;
    const char *flags, *upper, *lower, *fold;
} uc_rows[] = {
    {0x41, "10000110", "41", "61", "61"},
    {0xdf, "10000101", "53 53", "df", "73 73"},
    {0x130, "10000110", "130", "69 307", "69 307"},
    {0x3a3, "10000110", "3a3", "3c3", "3c3"},
    {0x1c5, "10000100", "1c4", "1c6", "1c6"},
    {0x2160, "00010110", "2160", "2170", "2170"},
    {0xff21, "10000110", "ff21", "ff41", "ff41"},
    {0x10400, "10000110", "10400", "10428", "10428"},
    {0x1f600, "00000100", "1f600", "1f600", "1f600"},
    {0x663, "01110100", "663", "663", "663"},
    {0xb2, "00110100", "b2", "b2", "b2"},
    {0xbd, "00010100", "bd", "bd", "bd"},
    {0x3000, "00001000", "3000", "3000", "3000"},
    {0x85, "00001000", "85", "85", "85"},
    {0xa0, "00001000", "a0", "a0", "a0"},
    {0xad, "00000000", "ad", "ad", "ad"},
    {0x345, "00000101", "399", "345", "3b9"},
    {0xfb00, "10000101", "46 46", "fb00", "66 66"},
    {0x1e9e, "10000110", "1e9e", "df", "73 73"},
    {0x14c1a, "00000000", "14c1a", "14c1a", "14c1a"},
    {0x9af8, "10000100", "9af8", "9af8", "9af8"},
    {0x194cc, "00000000", "194cc", "194cc", "194cc"},
    {0x29b0e, "10000100", "29b0e", "29b0e", "29b0e"},
    {0x31f1, "10000100", "31f1", "31f1", "31f1"},
    {0x4aac, "10000100", "4aac", "4aac", "4aac"},
    {0x2253e, "10000100", "2253e", "2253e", "2253e"},
    {0x60e3, "10000100", "60e3", "60e3", "60e3"},
    {0x176f7, "10000100", "176f7", "176f7", "176f7"},
    {0x25546, "10000100", "25546", "25546", "25546"},
    {0x3be4, "10000100", "3be4", "3be4", "3be4"},
    {0x2081d, "10000100", "2081d", "2081d", "2081d"},
    {0xdc59, "00000000", "dc59", "dc59", "dc59"},
    {0x26e5, "00000100", "26e5", "26e5", "26e5"},
    {0x5882, "10000100", "5882", "5882", "5882"},
    {0x1bc8d, "00000000", "1bc8d", "1bc8d", "1bc8d"},
    {0x1acb5, "00000000", "1acb5", "1acb5", "1acb5"},
    {0x4808, "10000100", "4808", "4808", "4808"},
    {0xf6f0, "00000000", "f6f0", "f6f0", "f6f0"},
    {0x5d63, "10000100", "5d63", "5d63", "5d63"},
    {0x234c5, "10000100", "234c5", "234c5", "234c5"},
    {0x1b335, "00000000", "1b335", "1b335", "1b335"},
    {0x3d07, "10000100", "3d07", "3d07", "3d07"},
    {0x24386, "10000100", "24386", "24386", "24386"},
    {0x7f45, "10000100", "7f45", "7f45", "7f45"},
    {0xe518, "00000000", "e518", "e518", "e518"},
    {0x28642, "10000100", "28642", "28642", "28642"},
    {0x282fd, "10000100", "282fd", "282fd", "282fd"},
    {0x2557d, "10000100", "2557d", "2557d", "2557d"},
    {0x3fd8, "10000100", "3fd8", "3fd8", "3fd8"},
    {0x24f74, "10000100", "24f74", "24f74", "24f74"},
    {0x25818, "10000100", "25818", "25818", "25818"},
    {0x196b3, "00000000", "196b3", "196b3", "196b3"},
    {0x3347, "00000100", "3347", "3347", "3347"},
    {0xe2e3, "00000000", "e2e3", "e2e3", "e2e3"},
    {0x3033, "10000100", "3033", "3033", "3033"},
    {0x23a86, "10000100", "23a86", "23a86", "23a86"},
    {0x88de, "10000100", "88de", "88de", "88de"},
    {0x1290f, "00000000", "1290f", "1290f", "1290f"},
    {0x1adb2, "00000000", "1adb2", "1adb2", "1adb2"},
};

static void hexcps(char *out, const uint32_t *cps, int n) {
    out[0] = '\0';
    for (int i = 0; i < n; i++) sprintf(out + strlen(out), i ? " %x" : "%x", cps[i]);
}

Test(str, unicode_tables) {
    for (size_t i = 0; i < sizeof uc_rows / sizeof uc_rows[0]; i++) {
        uint32_t c = uc_rows[i].cp, m[3];
        char flags[9] = {0}, buf[64];
        bool f[8] = {asy_uc_isalpha(c), asy_uc_isdecimal(c), asy_uc_isdigit(c), asy_uc_isnumeric(c),
                     asy_uc_isspace(c), asy_uc_isprintable(c), asy_uc_isupper(c), asy_uc_islower(c)};
        for (int k = 0; k < 8; k++) flags[k] = f[k] ? '1' : '0';
        cr_expect_str_eq(flags, uc_rows[i].flags, "flags of U+%04X", c);
        hexcps(buf, m, asy_uc_upper(c, m));
        cr_expect_str_eq(buf, uc_rows[i].upper, "upper of U+%04X", c);
        hexcps(buf, m, asy_uc_lower(c, m));
        cr_expect_str_eq(buf, uc_rows[i].lower, "lower of U+%04X", c);
        hexcps(buf, m, asy_uc_fold(c, m));
        cr_expect_str_eq(buf, uc_rows[i].fold, "casefold of U+%04X", c);
    }
}

/* ---- UTF-8 helpers, construction, hashing, interning ---- */

Test(str, utf8_and_counts) {
    AsyStr *s = asy_str_from_cstr(vm, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    cr_assert_eq(s->nchars, 9);
    cr_assert(!s->ascii);
    cr_assert_eq(asy_utf8_offset(s->data, s->len, 2), 3);
    size_t pos = 0;
    cr_assert_eq(asy_utf8_next(s->data, &pos), 'h');
    cr_assert_eq(asy_utf8_next(s->data, &pos), 0xE9);
    AsyStr *a = asy_str_from_cstr(vm, "plain ascii");
    cr_assert(a->ascii);
    cr_assert_eq(a->nchars, a->len);
    size_t bs, be;
    const char *why;
    cr_assert(!asy_utf8_check((const uint8_t *)"a\xe2\x82", 3, &bs, &be, &why));
    cr_assert_eq(bs, 1);
    cr_assert_eq(be, 3);
    cr_assert_str_eq(why, "unexpected end of data");
}

Test(str, hash_equality_interning) {
    AsyStr *a = asy_str_from_cstr(vm, "key"), *b = asy_str_new(vm, "keys", 3);
    cr_assert_neq(a, b);
    cr_assert(asy_str_equal(a, b));
    cr_assert_eq(asy_str_hash(a), asy_str_hash(b));
    cr_assert_neq(asy_str_hash(a), -1);
    AsyStr *i1 = asy_str_intern_cstr(vm, "key"), *i2 = asy_str_intern(vm, "key!", 3);
    cr_assert_eq(i1, i2);
    cr_assert(i1->hdr.flags & ASY_STR_INTERNED);
    cr_assert_eq(asy_str_intern_obj(vm, a), i1);
    /* Many interned names force the table to grow; every one must still be found. */
    char name[32];
    for (int k = 0; k < 5000; k++) {
        snprintf(name, sizeof name, "name%d", k);
        asy_str_intern_cstr(vm, name);
    }
    for (int k = 0; k < 5000; k += 97) {
        snprintf(name, sizeof name, "name%d", k);
        AsyStr *x = asy_str_intern_cstr(vm, name);
        cr_assert_str_eq(x->data, name);
        cr_assert_eq(x, asy_str_intern_cstr(vm, name));
    }
    cr_assert_eq(asy_str_new(vm, "", 0), vm->empty_str);
    cr_assert_eq(asy_str_new(vm, "x", 1), vm->char_cache['x']);
}

Test(str, builder_and_join) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    for (int i = 0; i < 1000; i++) asy_strbuf_printf(vm, &b, "%d,", i % 10);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    cr_assert_eq(s->len, 2000);
    cr_assert_eq(s->nchars, 2000);
    AsyStr *parts[3] = {asy_str_from_cstr(vm, "a"), asy_str_from_cstr(vm, "\xc3\xa9"),
                        asy_str_from_cstr(vm, "c")};
    AsyStr *j = asy_str_join_array(vm, asy_str_from_cstr(vm, "--"), parts, 3);
    cr_assert_str_eq(j->data, "a--\xc3\xa9--c");
    cr_assert_eq(j->nchars, 7);
    cr_assert(!j->ascii);
    AsyStr *c = asy_str_concat(vm, parts[0], parts[2]);
    cr_assert_str_eq(c->data, "ac");
    cr_assert(c->ascii);
}

/* ---- format-spec parsing, padding and grouping ---- */

Test(str, format_spec_parse) {
    AsyFormatSpec fs;
    AsyValue obj = ASY_INT(1);
    cr_assert(asy_format_spec_parse(vm, asy_str_from_cstr(vm, "*^+#012,.3f"), obj, &fs));
    cr_assert_eq(fs.fill, '*');
    cr_assert_eq(fs.align, '^');
    cr_assert_eq(fs.sign, '+');
    cr_assert(fs.alternate);
    cr_assert(!fs.zero); /* a fill was given, so '0' starts the width */
    cr_assert_eq(fs.width, 12);
    cr_assert_eq(fs.grouping, ',');
    cr_assert_eq(fs.precision, 3);
    cr_assert_eq(fs.type, 'f');
    cr_assert(asy_format_spec_parse(vm, asy_str_from_cstr(vm, "010"), obj, &fs));
    cr_assert(fs.zero);
    cr_assert_eq(fs.width, 10);
    cr_assert_eq(asy_format_align(&fs, '>'), '=');
    cr_assert_eq(asy_format_align(&fs, '<'), '<');
    cr_assert_eq(asy_format_fill(&fs), '0');
    cr_assert(asy_format_spec_parse(vm, asy_str_from_cstr(vm, "\xc3\xa9<5"), obj, &fs));
    cr_assert_eq(fs.fill, 0xE9);
    cr_assert_eq(fs.fill_len, 2);
    cr_assert(asy_format_spec_parse(vm, NULL, obj, &fs));
    cr_assert_eq(fs.width, -1);
    cr_assert_eq(fs.precision, -1);
    cr_assert(!asy_format_spec_parse(vm, asy_str_from_cstr(vm, "5."), obj, &fs));
    cr_assert_str_eq(show(ASY_ERR), "ValueError: Format specifier missing precision");
    cr_assert(!asy_format_spec_parse(vm, asy_str_from_cstr(vm, "xx"), obj, &fs));
    cr_assert_str_eq(show(ASY_ERR), "ValueError: Invalid format specifier 'xx' for object of type 'int'");
    cr_assert(!asy_format_spec_parse(vm, asy_str_from_cstr(vm, ",x"), obj, &fs));
    cr_assert_str_eq(show(ASY_ERR), "ValueError: Cannot specify ',' with 'x'.");
    cr_assert(!asy_format_spec_parse(vm, asy_str_from_cstr(vm, "_,"), obj, &fs));
    cr_assert_str_eq(show(ASY_ERR), "ValueError: Cannot specify both ',' and '_'.");
}

Test(str, format_pad_and_group) {
    AsyFormatSpec fs;
    AsyValue obj = ASY_INT(1);
    asy_format_spec_parse(vm, asy_str_from_cstr(vm, "010"), obj, &fs);
    cr_assert_str_eq(asy_format_pad(vm, "-0x1f", 5, 5, &fs, '>')->data, "-000000x1f");
    fs.alternate = true;
    cr_assert_str_eq(asy_format_pad(vm, "-0x1f", 5, 5, &fs, '>')->data, "-0x000001f");
    asy_format_spec_parse(vm, asy_str_from_cstr(vm, "*^7"), obj, &fs);
    cr_assert_str_eq(asy_format_pad(vm, "ab", 2, 2, &fs, '>')->data, "**ab***");
    asy_format_spec_parse(vm, asy_str_from_cstr(vm, "\xc3\xa9>4"), obj, &fs);
    cr_assert_str_eq(asy_format_pad(vm, "ab", 2, 2, &fs, '<')->data, "\xc3\xa9\xc3\xa9" "ab");
    const char *want[][2] = {{"10", "00,001,234"}, {"9", "0,001,234"}, {"8", "0,001,234"},
                             {"7", "001,234"}, {"0", "1,234"}};
    for (int i = 0; i < 5; i++) {
        AsyStrBuf b;
        asy_strbuf_init(&b);
        asy_format_group_digits(vm, &b, "1234", 4, ',', 3, atoi(want[i][0]));
        AsyStr *s = asy_strbuf_finish(vm, &b);
        cr_expect_str_eq(s->data, want[i][1], "min width %s", want[i][0]);
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_format_group_digits(vm, &b, "11111111", 8, '_', 4, 0);
    cr_assert_str_eq(asy_strbuf_finish(vm, &b)->data, "1111_1111");
}
