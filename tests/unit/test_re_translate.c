/* Unit tests of re_translate.c, the layer that turns Python regular expressions into PCRE2
 * patterns and parses re.sub templates.
 *
 * - err_rows: patterns CPython refuses, with its exception kind, message and position;
 * - match_rows: patterns whose translation, compiled by PCRE2 as mod_re.c compiles it,
 *   must find exactly the spans CPython's finditer finds in each subject (Unicode classes,
 *   ASCII mode, anchors, verbose mode, backreferences, conditionals, scoped flags...);
 * - translation checks that pin down the choices of the output syntax;
 * - tmpl_rows: templates expanded against re.match(r'(?P<first>a)(b)?(c)', 'ac').
 * Every expectation in the tables was printed by CPython 3.11 (re.compile, finditer,
 * Match.expand), so they are the oracle's answers. */
#include "common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <criterion/criterion.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "re_translate.h"
#include "unicode.h"

typedef struct {
    const char *pattern;
    unsigned flags;
    ReErrKind kind;
    long pos;
    const char *msg;
} ErrRow;

typedef struct {
    const char *pattern;
    unsigned flags;
    const char *subject;
    const char *spans; /* "start-end start-end ...", code points */
} MatchRow;

typedef struct {
    const char *tmpl;
    ReErrKind kind;
    long pos;
    const char *expected;
} TmplRow;

/* ---- tables generated with CPython 3.11 ---- */
static const ErrRow err_rows[] = {
    {"(", 0, RE_ERR_ERROR, 0, "missing ), unterminated subpattern"},
    {"a)", 0, RE_ERR_ERROR, 1, "unbalanced parenthesis"},
    {"*", 0, RE_ERR_ERROR, 0, "nothing to repeat"},
    {"a**", 0, RE_ERR_ERROR, 2, "multiple repeat"},
    {"\\q", 0, RE_ERR_ERROR, 0, "bad escape \\q"},
    {"[a", 0, RE_ERR_ERROR, 0, "unterminated character set"},
    {"(?P<bad", 0, RE_ERR_ERROR, 4, "missing >, unterminated name"},
    {"(?P=x)", 0, RE_ERR_ERROR, 4, "unknown group name 'x'"},
    {"a{2,1}", 0, RE_ERR_ERROR, 2, "min repeat greater than max repeat"},
    {"[b-a]", 0, RE_ERR_ERROR, 1, "bad character range b-a"},
    {"(?<=a+)b", 0, RE_ERR_ERROR, -1, "look-behind requires fixed-width pattern"},
    {"\\1", 0, RE_ERR_ERROR, 1, "invalid group reference 1"},
    {"(?Px)", 0, RE_ERR_ERROR, 1, "unknown extension ?Px"},
    {"a\x0a"
     "(",
     0, RE_ERR_ERROR, 2, "missing ), unterminated subpattern"},
    {"(?z)", 0, RE_ERR_ERROR, 1, "unknown extension ?z"},
    {"\\", 0, RE_ERR_ERROR, 0, "bad escape (end of pattern)"},
    {"[", 0, RE_ERR_ERROR, 0, "unterminated character set"},
    {"(?P<1a>x)", 0, RE_ERR_ERROR, 4, "bad character in group name '1a'"},
    {"x(?i)", 0, RE_ERR_ERROR, 1, "global flags not at the start of the expression"},
    {"[\\x41-\\x40]", 0, RE_ERR_ERROR, 5, "bad character range \\x-\\x"},
    {"[\\d-z]", 0, RE_ERR_ERROR, 1, "bad character range \\d-z"},
    {"(?(2)a|b)(x)", 0, RE_ERR_ERROR, 3, "invalid group reference 2"},
    {"x{4294967295}", 0, RE_ERR_OVERFLOW, -1, "the repetition number is too large"},
    {"[\\8]", 0, RE_ERR_ERROR, 1, "bad escape \\8"},
    {"a{1,2}{3}", 0, RE_ERR_ERROR, 6, "multiple repeat"},
    {"(?P<n>a)|(?P<n>b)", 0, RE_ERR_ERROR, 13,
     "redefinition of group name 'n' as group 2; was group 1"},
    {"(?i", 0, RE_ERR_ERROR, 3, "missing -, : or )"},
    {"(?", 0, RE_ERR_ERROR, 2, "unexpected end of pattern"},
    {"(?P", 0, RE_ERR_ERROR, 3, "unexpected end of pattern"},
    {"(?<", 0, RE_ERR_ERROR, 3, "unexpected end of pattern"},
    {"(?<x", 0, RE_ERR_ERROR, 1, "unknown extension ?<x"},
    {"(?(1", 0, RE_ERR_ERROR, 3, "missing ), unterminated name"},
    {"(?-:a)", 0, RE_ERR_ERROR, 3, "missing flag"},
    {"(?t:a)", 0, RE_ERR_ERROR, 3, "bad inline flags: cannot turn on global flag"},
    {"(?au)x", 0, RE_ERR_ERROR, 4, "bad inline flags: flags 'a', 'u' and 'L' are incompatible"},
    {"\\x4", 0, RE_ERR_ERROR, 0, "incomplete escape \\x4"},
    {"\\u12", 0, RE_ERR_ERROR, 0, "incomplete escape \\u12"},
    {"\\U0011ffff", 0, RE_ERR_ERROR, 0, "bad escape \\U0011ffff"},
    {"(?(0)a)", 0, RE_ERR_ERROR, 3, "bad group number"},
    {"(?(-1)a)", 0, RE_ERR_ERROR, 3, "bad character in group name '-1'"},
    {"(?(1)a|b|c)", 0, RE_ERR_ERROR, 8, "conditional backref with more than two branches"},
    {"\\777", 0, RE_ERR_ERROR, 0, "octal escape value \\777 outside of range 0-0o377"},
    {"^*", 0, RE_ERR_ERROR, 1, "nothing to repeat"},
    {"\\b+", 0, RE_ERR_ERROR, 2, "nothing to repeat"},
    {"(?#x", 0, RE_ERR_ERROR, 0, "missing ), unterminated comment"},
    {"(?L)a", 0, RE_ERR_ERROR, 3, "bad inline flags: cannot use 'L' flag with a str pattern"},
    {"(?<=a|bc)d", 0, RE_ERR_ERROR, -1, "look-behind requires fixed-width pattern"},
    {"\xc3"
     "\xa9"
     "[\xc3"
     "\xbc"
     "-a]",
     0, RE_ERR_ERROR, 2,
     "bad character range \xc3"
     "\xbc"
     "-a"},
    {"(?x)a #\x0a"
     ")",
     0, RE_ERR_ERROR, 8, "unbalanced parenthesis"},
    {"(a\\1)", 0, RE_ERR_ERROR, 2, "cannot refer to an open group"},
    {"(?<=(a)\\1)", 0, RE_ERR_ERROR, 9,
     "cannot refer to group defined in the same lookbehind subpattern"},
    {"(?P<a>x)(?P=b)", 0, RE_ERR_ERROR, 12, "unknown group name 'b'"},
    {"(?(a)x)", 0, RE_ERR_ERROR, 3, "unknown group name 'a'"},
    {"(?P<a-b>x)", 0, RE_ERR_ERROR, 4, "bad character in group name 'a-b'"},
    {"\\N{DASH}", 0, RE_ERR_ERROR, 0, "undefined character name 'DASH'"},
    {NULL, 0, RE_ERR_NONE, 0, NULL},
};
static const MatchRow match_rows[] = {
    {"\\w+", 0, "", ""},
    {"\\w+", 0, "abc", "0-3"},
    {"\\w+", 0, "aAbB", "0-4"},
    {"\\w+", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"\\w+", 0, "Hello World 123", "0-5 6-11 12-15"},
    {"\\w+", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1 2-3 4-5 6-7 8-10"},
    {"\\w+", 0, "foo.bar(baz)", "0-3 4-7 8-11"},
    {"\\w+", 0, "a1b2c3", "0-6"},
    {"\\w+", 0, "x_y-z 42.5", "0-3 4-5 6-8 9-10"},
    {"\\w+", 256, "", ""},
    {"\\w+", 256, "abc", "0-3"},
    {"\\w+", 256, "aAbB", "0-4"},
    {"\\w+", 256,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"\\w+", 256, "Hello World 123", "0-5 6-11 12-15"},
    {"\\w+", 256,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "8-9"},
    {"\\w+", 256, "foo.bar(baz)", "0-3 4-7 8-11"},
    {"\\w+", 256, "a1b2c3", "0-6"},
    {"\\w+", 256, "x_y-z 42.5", "0-3 4-5 6-8 9-10"},
    {"\\d", 0, "", ""},
    {"\\d", 0, "abc", ""},
    {"\\d", 0, "aAbB", ""},
    {"\\d", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"\\d", 0, "Hello World 123", "12-13 13-14 14-15"},
    {"\\d", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "8-9 9-10"},
    {"\\d", 0, "foo.bar(baz)", ""},
    {"\\d", 0, "a1b2c3", "1-2 3-4 5-6"},
    {"\\d", 0, "x_y-z 42.5", "6-7 7-8 9-10"},
    {"\\d", 256, "", ""},
    {"\\d", 256, "abc", ""},
    {"\\d", 256, "aAbB", ""},
    {"\\d", 256,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"\\d", 256, "Hello World 123", "12-13 13-14 14-15"},
    {"\\d", 256,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "8-9"},
    {"\\d", 256, "foo.bar(baz)", ""},
    {"\\d", 256, "a1b2c3", "1-2 3-4 5-6"},
    {"\\d", 256, "x_y-z 42.5", "6-7 7-8 9-10"},
    {"\\s+", 0, "", ""},
    {"\\s+", 0, "abc", ""},
    {"\\s+", 0, "aAbB", ""},
    {"\\s+", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "2-3 5-6"},
    {"\\s+", 0, "Hello World 123", "5-6 11-12"},
    {"\\s+", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "1-2 3-4 5-6 7-8"},
    {"\\s+", 0, "foo.bar(baz)", ""},
    {"\\s+", 0, "a1b2c3", ""},
    {"\\s+", 0, "x_y-z 42.5", "5-6"},
    {"^\\w", 8, "", ""},
    {"^\\w", 8, "abc", "0-1"},
    {"^\\w", 8, "aAbB", "0-1"},
    {"^\\w", 8,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 3-4"},
    {"^\\w", 8, "Hello World 123", "0-1"},
    {"^\\w", 8,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1"},
    {"^\\w", 8, "foo.bar(baz)", "0-1"},
    {"^\\w", 8, "a1b2c3", "0-1"},
    {"^\\w", 8, "x_y-z 42.5", "0-1"},
    {"\\w$", 8, "", ""},
    {"\\w$", 8, "abc", "2-3"},
    {"\\w$", 8, "aAbB", "3-4"},
    {"\\w$", 8,
     "ab\x0a"
     "ab\x0a"
     "",
     "1-2 4-5"},
    {"\\w$", 8, "Hello World 123", "14-15"},
    {"\\w$", 8,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "9-10"},
    {"\\w$", 8, "foo.bar(baz)", ""},
    {"\\w$", 8, "a1b2c3", "5-6"},
    {"\\w$", 8, "x_y-z 42.5", "9-10"},
    {"$", 0, "", "0-0"},
    {"$", 0, "abc", "3-3"},
    {"$", 0, "aAbB", "4-4"},
    {"$", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "5-5 6-6"},
    {"$", 0, "Hello World 123", "15-15"},
    {"$", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "10-10"},
    {"$", 0, "foo.bar(baz)", "12-12"},
    {"$", 0, "a1b2c3", "6-6"},
    {"$", 0, "x_y-z 42.5", "10-10"},
    {"^", 8, "", "0-0"},
    {"^", 8, "abc", "0-0"},
    {"^", 8, "aAbB", "0-0"},
    {"^", 8,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-0 3-3 6-6"},
    {"^", 8, "Hello World 123", "0-0"},
    {"^", 8,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-0"},
    {"^", 8, "foo.bar(baz)", "0-0"},
    {"^", 8, "a1b2c3", "0-0"},
    {"^", 8, "x_y-z 42.5", "0-0"},
    {"\\Z", 0, "", "0-0"},
    {"\\Z", 0, "abc", "3-3"},
    {"\\Z", 0, "aAbB", "4-4"},
    {"\\Z", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "6-6"},
    {"\\Z", 0, "Hello World 123", "15-15"},
    {"\\Z", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "10-10"},
    {"\\Z", 0, "foo.bar(baz)", "12-12"},
    {"\\Z", 0, "a1b2c3", "6-6"},
    {"\\Z", 0, "x_y-z 42.5", "10-10"},
    {"\\bb", 0, "", ""},
    {"\\bb", 0, "abc", ""},
    {"\\bb", 0, "aAbB", ""},
    {"\\bb", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"\\bb", 0, "Hello World 123", ""},
    {"\\bb", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"\\bb", 0, "foo.bar(baz)", "4-5 8-9"},
    {"\\bb", 0, "a1b2c3", ""},
    {"\\bb", 0, "x_y-z 42.5", ""},
    {"\\B", 0, "", ""},
    {"\\B", 0, "abc", "1-1 2-2"},
    {"\\B", 0, "aAbB", "1-1 2-2 3-3"},
    {"\\B", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "1-1 4-4 6-6"},
    {"\\B", 0, "Hello World 123", "1-1 2-2 3-3 4-4 7-7 8-8 9-9 10-10 13-13 14-14"},
    {"\\B", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "9-9"},
    {"\\B", 0, "foo.bar(baz)", "1-1 2-2 5-5 6-6 9-9 10-10 12-12"},
    {"\\B", 0, "a1b2c3", "1-1 2-2 3-3 4-4 5-5"},
    {"\\B", 0, "x_y-z 42.5", "1-1 2-2 7-7"},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "abc", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "aAbB", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "Hello World 123", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "6-7"},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "foo.bar(baz)", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "a1b2c3", ""},
    {"(?i)\xc3"
     "\xa4"
     "",
     0, "x_y-z 42.5", ""},
    {"A|b|[cd]", 2, "", ""},
    {"A|b|[cd]", 2, "abc", "0-1 1-2 2-3"},
    {"A|b|[cd]", 2, "aAbB", "0-1 1-2 2-3 3-4"},
    {"A|b|[cd]", 2,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-2 3-4 4-5"},
    {"A|b|[cd]", 2, "Hello World 123", "10-11"},
    {"A|b|[cd]", 2,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"A|b|[cd]", 2, "foo.bar(baz)", "4-5 5-6 8-9 9-10"},
    {"A|b|[cd]", 2, "a1b2c3", "0-1 2-3 4-5"},
    {"A|b|[cd]", 2, "x_y-z 42.5", ""},
    {"[^\\W\\d]+", 0, "", ""},
    {"[^\\W\\d]+", 0, "abc", "0-3"},
    {"[^\\W\\d]+", 0, "aAbB", "0-4"},
    {"[^\\W\\d]+", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"[^\\W\\d]+", 0, "Hello World 123", "0-5 6-11"},
    {"[^\\W\\d]+", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1 2-3 4-5 6-7"},
    {"[^\\W\\d]+", 0, "foo.bar(baz)", "0-3 4-7 8-11"},
    {"[^\\W\\d]+", 0, "a1b2c3", "0-1 2-3 4-5"},
    {"[^\\W\\d]+", 0, "x_y-z 42.5", "0-3 4-5"},
    {"(?a:\\w)+", 0, "", ""},
    {"(?a:\\w)+", 0, "abc", "0-3"},
    {"(?a:\\w)+", 0, "aAbB", "0-4"},
    {"(?a:\\w)+", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"(?a:\\w)+", 0, "Hello World 123", "0-5 6-11 12-15"},
    {"(?a:\\w)+", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "8-9"},
    {"(?a:\\w)+", 0, "foo.bar(baz)", "0-3 4-7 8-11"},
    {"(?a:\\w)+", 0, "a1b2c3", "0-6"},
    {"(?a:\\w)+", 0, "x_y-z 42.5", "0-3 4-5 6-8 9-10"},
    {"(?u:\\w)+", 256, "", ""},
    {"(?u:\\w)+", 256, "abc", "0-3"},
    {"(?u:\\w)+", 256, "aAbB", "0-4"},
    {"(?u:\\w)+", 256,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"(?u:\\w)+", 256, "Hello World 123", "0-5 6-11 12-15"},
    {"(?u:\\w)+", 256,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1 2-3 4-5 6-7 8-10"},
    {"(?u:\\w)+", 256, "foo.bar(baz)", "0-3 4-7 8-11"},
    {"(?u:\\w)+", 256, "a1b2c3", "0-6"},
    {"(?u:\\w)+", 256, "x_y-z 42.5", "0-3 4-5 6-8 9-10"},
    {"(?a:\\b)\\w", 0, "", ""},
    {"(?a:\\b)\\w", 0, "abc", "0-1"},
    {"(?a:\\b)\\w", 0, "aAbB", "0-1"},
    {"(?a:\\b)\\w", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 3-4"},
    {"(?a:\\b)\\w", 0, "Hello World 123", "0-1 6-7 12-13"},
    {"(?a:\\b)\\w", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "8-9 9-10"},
    {"(?a:\\b)\\w", 0, "foo.bar(baz)", "0-1 4-5 8-9"},
    {"(?a:\\b)\\w", 0, "a1b2c3", "0-1"},
    {"(?a:\\b)\\w", 0, "x_y-z 42.5", "0-1 4-5 6-7 9-10"},
    {".", 0, "", ""},
    {".", 0, "abc", "0-1 1-2 2-3"},
    {".", 0, "aAbB", "0-1 1-2 2-3 3-4"},
    {".", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-2 3-4 4-5"},
    {".", 0, "Hello World 123",
     "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10 10-11 11-12 12-13 13-14 14-15"},
    {".", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10"},
    {".", 0, "foo.bar(baz)", "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10 10-11 11-12"},
    {".", 0, "a1b2c3", "0-1 1-2 2-3 3-4 4-5 5-6"},
    {".", 0, "x_y-z 42.5", "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10"},
    {".", 16, "", ""},
    {".", 16, "abc", "0-1 1-2 2-3"},
    {".", 16, "aAbB", "0-1 1-2 2-3 3-4"},
    {".", 16,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-2 2-3 3-4 4-5 5-6"},
    {".", 16, "Hello World 123",
     "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10 10-11 11-12 12-13 13-14 14-15"},
    {".", 16,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10"},
    {".", 16, "foo.bar(baz)", "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10 10-11 11-12"},
    {".", 16, "a1b2c3", "0-1 1-2 2-3 3-4 4-5 5-6"},
    {".", 16, "x_y-z 42.5", "0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10"},
    {"[[:alpha:]]", 0, "", ""},
    {"[[:alpha:]]", 0, "abc", ""},
    {"[[:alpha:]]", 0, "aAbB", ""},
    {"[[:alpha:]]", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"[[:alpha:]]", 0, "Hello World 123", ""},
    {"[[:alpha:]]", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"[[:alpha:]]", 0, "foo.bar(baz)", ""},
    {"[[:alpha:]]", 0, "a1b2c3", ""},
    {"[[:alpha:]]", 0, "x_y-z 42.5", ""},
    {"a{,2}", 0, "", "0-0"},
    {"a{,2}", 0, "abc", "0-1 1-1 2-2 3-3"},
    {"a{,2}", 0, "aAbB", "0-1 1-1 2-2 3-3 4-4"},
    {"a{,2}", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-1 2-2 3-4 4-4 5-5 6-6"},
    {"a{,2}", 0, "Hello World 123",
     "0-0 1-1 2-2 3-3 4-4 5-5 6-6 7-7 8-8 9-9 10-10 11-11 12-12 13-13 14-14 15-15"},
    {"a{,2}", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-0 1-1 2-2 3-3 4-4 5-5 6-6 7-7 8-8 9-9 10-10"},
    {"a{,2}", 0, "foo.bar(baz)", "0-0 1-1 2-2 3-3 4-4 5-6 6-6 7-7 8-8 9-10 10-10 11-11 12-12"},
    {"a{,2}", 0, "a1b2c3", "0-1 1-1 2-2 3-3 4-4 5-5 6-6"},
    {"a{,2}", 0, "x_y-z 42.5", "0-0 1-1 2-2 3-3 4-4 5-5 6-6 7-7 8-8 9-9 10-10"},
    {"x{", 0, "", ""},
    {"x{", 0, "abc", ""},
    {"x{", 0, "aAbB", ""},
    {"x{", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"x{", 0, "Hello World 123", ""},
    {"x{", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"x{", 0, "foo.bar(baz)", ""},
    {"x{", 0, "a1b2c3", ""},
    {"x{", 0, "x_y-z 42.5", ""},
    {"(?x) a | b # c", 0, "", ""},
    {"(?x) a | b # c", 0, "abc", "0-1 1-2"},
    {"(?x) a | b # c", 0, "aAbB", "0-1 2-3"},
    {"(?x) a | b # c", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-2 3-4 4-5"},
    {"(?x) a | b # c", 0, "Hello World 123", ""},
    {"(?x) a | b # c", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"(?x) a | b # c", 0, "foo.bar(baz)", "4-5 5-6 8-9 9-10"},
    {"(?x) a | b # c", 0, "a1b2c3", "0-1 2-3"},
    {"(?x) a | b # c", 0, "x_y-z 42.5", ""},
    {"(?<=\\d)\\w", 0, "", ""},
    {"(?<=\\d)\\w", 0, "abc", ""},
    {"(?<=\\d)\\w", 0, "aAbB", ""},
    {"(?<=\\d)\\w", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     ""},
    {"(?<=\\d)\\w", 0, "Hello World 123", "13-14 14-15"},
    {"(?<=\\d)\\w", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "9-10"},
    {"(?<=\\d)\\w", 0, "foo.bar(baz)", ""},
    {"(?<=\\d)\\w", 0, "a1b2c3", "2-3 4-5"},
    {"(?<=\\d)\\w", 0, "x_y-z 42.5", "7-8"},
    {"(?P<n>[a-z])(?P=n)?", 0, "", ""},
    {"(?P<n>[a-z])(?P=n)?", 0, "abc", "0-1 1-2 2-3"},
    {"(?P<n>[a-z])(?P=n)?", 0, "aAbB", "0-1 2-3"},
    {"(?P<n>[a-z])(?P=n)?", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 1-2 3-4 4-5"},
    {"(?P<n>[a-z])(?P=n)?", 0, "Hello World 123", "1-2 2-4 4-5 7-8 8-9 9-10 10-11"},
    {"(?P<n>[a-z])(?P=n)?", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"(?P<n>[a-z])(?P=n)?", 0, "foo.bar(baz)", "0-1 1-3 4-5 5-6 6-7 8-9 9-10 10-11"},
    {"(?P<n>[a-z])(?P=n)?", 0, "a1b2c3", "0-1 2-3 4-5"},
    {"(?P<n>[a-z])(?P=n)?", 0, "x_y-z 42.5", "0-1 2-3 4-5"},
    {"(a)?(?(1)b|c)", 0, "", ""},
    {"(a)?(?(1)b|c)", 0, "abc", "0-2 2-3"},
    {"(a)?(?(1)b|c)", 0, "aAbB", ""},
    {"(a)?(?(1)b|c)", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"(a)?(?(1)b|c)", 0, "Hello World 123", ""},
    {"(a)?(?(1)b|c)", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"(a)?(?(1)b|c)", 0, "foo.bar(baz)", ""},
    {"(a)?(?(1)b|c)", 0, "a1b2c3", "4-5"},
    {"(a)?(?(1)b|c)", 0, "x_y-z 42.5", ""},
    {"(?>a+)b", 0, "", ""},
    {"(?>a+)b", 0, "abc", "0-2"},
    {"(?>a+)b", 0, "aAbB", ""},
    {"(?>a+)b", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-2 3-5"},
    {"(?>a+)b", 0, "Hello World 123", ""},
    {"(?>a+)b", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"(?>a+)b", 0, "foo.bar(baz)", ""},
    {"(?>a+)b", 0, "a1b2c3", ""},
    {"(?>a+)b", 0, "x_y-z 42.5", ""},
    {"a++", 0, "", ""},
    {"a++", 0, "abc", "0-1"},
    {"a++", 0, "aAbB", "0-1"},
    {"a++", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 3-4"},
    {"a++", 0, "Hello World 123", ""},
    {"a++", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"a++", 0, "foo.bar(baz)", "5-6 9-10"},
    {"a++", 0, "a1b2c3", "0-1"},
    {"a++", 0, "x_y-z 42.5", ""},
    {"\\x41|\\u00e9|\\101", 2, "", ""},
    {"\\x41|\\u00e9|\\101", 2, "abc", "0-1"},
    {"\\x41|\\u00e9|\\101", 2, "aAbB", "0-1 1-2"},
    {"\\x41|\\u00e9|\\101", 2,
     "ab\x0a"
     "ab\x0a"
     "",
     "0-1 3-4"},
    {"\\x41|\\u00e9|\\101", 2, "Hello World 123", ""},
    {"\\x41|\\u00e9|\\101", 2,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     "0-1"},
    {"\\x41|\\u00e9|\\101", 2, "foo.bar(baz)", "5-6 9-10"},
    {"\\x41|\\u00e9|\\101", 2, "a1b2c3", "0-1"},
    {"\\x41|\\u00e9|\\101", 2, "x_y-z 42.5", ""},
    {"(?#c)b", 0, "", ""},
    {"(?#c)b", 0, "abc", "1-2"},
    {"(?#c)b", 0, "aAbB", "2-3"},
    {"(?#c)b", 0,
     "ab\x0a"
     "ab\x0a"
     "",
     "1-2 4-5"},
    {"(?#c)b", 0, "Hello World 123", ""},
    {"(?#c)b", 0,
     "\xc3"
     "\xa9"
     " \xc3"
     "\xbc"
     " \xc3"
     "\x9f"
     " \xc3"
     "\x84"
     " 5\xd9"
     "\xa3"
     "",
     ""},
    {"(?#c)b", 0, "foo.bar(baz)", "4-5 8-9"},
    {"(?#c)b", 0, "a1b2c3", "2-3"},
    {"(?#c)b", 0, "x_y-z 42.5", ""},
    {NULL, 0, NULL, NULL},
};
static const TmplRow tmpl_rows[] = {
    {"\\1", RE_ERR_NONE, 0, "a"},
    {"[\\2]", RE_ERR_NONE, 0, "[]"},
    {"\\g<first>-\\g<3>", RE_ERR_NONE, 0, "a-c"},
    {"\\g<0>", RE_ERR_NONE, 0, "ac"},
    {"\\n\\t\\\\", RE_ERR_NONE, 0,
     "\x0a"
     "\x09"
     "\\"},
    {"\\.", RE_ERR_NONE, 0, "\\."},
    {"\\012", RE_ERR_NONE, 0,
     "\x0a"
     ""},
    {"\\101x", RE_ERR_NONE, 0, "Ax"},
    {"\\18", RE_ERR_ERROR, 1, "invalid group reference 18"},
    {"plain", RE_ERR_NONE, 0, "plain"},
    {"\xc3"
     "\xa9"
     "\\1\xc3"
     "\xbc"
     "",
     RE_ERR_NONE, 0,
     "\xc3"
     "\xa9"
     "a\xc3"
     "\xbc"
     ""},
    {"\\4", RE_ERR_ERROR, 1, "invalid group reference 4"},
    {"\\g<x>", RE_ERR_INDEX, -1, "unknown group name 'x'"},
    {"\\g<1", RE_ERR_ERROR, 3, "missing >, unterminated name"},
    {"\\q", RE_ERR_ERROR, 0, "bad escape \\q"},
    {"\\g", RE_ERR_ERROR, 2, "missing <"},
    {"\\g<>", RE_ERR_ERROR, 3, "missing group name"},
    {"\\g<-1>", RE_ERR_ERROR, 3, "bad character in group name '-1'"},
    {"\\g<1x>", RE_ERR_ERROR, 3, "bad character in group name '1x'"},
    {"\\", RE_ERR_ERROR, 0, "bad escape (end of pattern)"},
    {"\\400", RE_ERR_ERROR, 0, "octal escape value \\400 outside of range 0-0o377"},
    {"\\g<9999999999>", RE_ERR_ERROR, 3, "invalid group reference 9999999999"},
    {"\\g< 1 >", RE_ERR_NONE, 0, "a"},
    {NULL, RE_ERR_NONE, 0, NULL},
};

/* ---- helpers ---- */

static bool translate(const char *pat, unsigned flags, ReTranslation *tr, ReError *err) {
    return re_translate(pat, strlen(pat), false, flags, tr, err);
}

/* Compile a translation as mod_re.c does. */
static pcre2_code *compile(const ReTranslation *tr) {
    uint32_t opts = PCRE2_UTF | PCRE2_ALT_CIRCUMFLEX | (tr->ucp ? PCRE2_UCP : 0);
    if (tr->flags & RE_FLAG_IGNORECASE) opts |= PCRE2_CASELESS;
    if (tr->flags & RE_FLAG_MULTILINE) opts |= PCRE2_MULTILINE;
    if (tr->flags & RE_FLAG_DOTALL) opts |= PCRE2_DOTALL;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)tr->pcre, tr->pcre_len, opts, &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    return code;
}

/* finditer's spans, in code points, as "s-e s-e ..." (sre's rules for empty matches). */
static void spans(pcre2_code *code, const char *subject, char *out, size_t cap) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    size_t len = strlen(subject), pos = 0, n = 0;
    uint32_t opts = 0;
    out[0] = '\0';
    while (pos <= len && pcre2_match(code, (PCRE2_SPTR)subject, len, pos, opts, md, NULL) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        n += (size_t)snprintf(out + n, cap - n, "%s%zu-%zu", n ? " " : "",
                              asy_utf8_nchars(subject, ov[0]), asy_utf8_nchars(subject, ov[1]));
        opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART : 0;
        pos = ov[1];
    }
    pcre2_match_data_free(md);
}

/* The PCRE2 text of a pattern that must translate. */
static void expect_pcre(const char *pat, unsigned flags, const char *pcre) {
    ReTranslation tr;
    ReError err;
    cr_assert(translate(pat, flags, &tr, &err), "%s: %s", pat, err.msg);
    cr_expect_str_eq(tr.pcre, pcre, "%s", pat);
    re_translation_free(&tr);
}

/* ---- tests ---- */

Test(re_translate, errors_match_cpython) {
    for (const ErrRow *r = err_rows; r->pattern; r++) {
        ReTranslation tr;
        ReError err;
        cr_assert_not(translate(r->pattern, r->flags, &tr, &err), "%s compiled", r->pattern);
        cr_expect_eq(err.kind, r->kind, "%s: kind %d", r->pattern, err.kind);
        cr_expect_eq(err.pos, r->pos, "%s: pos %ld, not %ld", r->pattern, err.pos, r->pos);
        cr_expect_str_eq(err.msg, r->msg, "%s", r->pattern);
    }
}

Test(re_translate, matches_like_cpython) {
    for (const MatchRow *r = match_rows; r->pattern; r++) {
        ReTranslation tr;
        ReError err;
        cr_assert(translate(r->pattern, r->flags, &tr, &err), "%s: %s", r->pattern, err.msg);
        pcre2_code *code = compile(&tr);
        cr_assert_not_null(code, "PCRE2 refused %s (from %s)", tr.pcre, r->pattern);
        char got[1024];
        spans(code, r->subject, got, sizeof got);
        cr_expect_str_eq(got, r->spans, "%s (as %s) on '%s'", r->pattern, tr.pcre, r->subject);
        pcre2_code_free(code);
        re_translation_free(&tr);
    }
}

Test(re_translate, output_syntax) {
    expect_pcre("a+b", 0, "a+b");
    expect_pcre("\\Z", 0, "\\z");      /* Python's \Z is PCRE2's \z */
    expect_pcre("a{,3}", 0, "a{0,3}"); /* PCRE2 reads {,3} literally */
    expect_pcre("x{", 0, "x\\{");
    expect_pcre("[[:alpha:]]", 0, "[\\[\\:alpha\\:]\\]"); /* no POSIX classes in Python */
    expect_pcre("(?P<n>a)(?P=n)", 0, "(a)\\g{1}");        /* names stay on our side */
    expect_pcre("(?x) a b  # comment", 0, "ab");          /* verbose mode is stripped */
    expect_pcre("a(?#note)b", 0, "ab");
    expect_pcre("a|b|[cd]|\\d", 0, "[abcd\\d]"); /* sre's branch-to-set */
    expect_pcre("\\v\\u00e9", 0, "\\x{b}\\x{e9}");
    expect_pcre("(?i:a)(?-i:b)", 0, "(?i:a)(?-i:b)");
    expect_pcre("(?a:\\w)", 0, "(?:[0-9A-Z_a-z])"); /* ASCII inside a Unicode pattern */
    expect_pcre("\\w", RE_FLAG_ASCII, "\\w");
    /* sre's ASCII mode folds only ASCII letters */
    static const char e_acute_a[] = {(char)0xc3, (char)0xa9, 'a', '\0'};
    expect_pcre(e_acute_a, RE_FLAG_ASCII | RE_FLAG_IGNORECASE, "(?-i:\\x{e9})a");
    /* ... so k and s, which PCRE2 folds with U+212A and U+017F, and classes match
     * case-sensitively what sre folds */
    expect_pcre("ks", RE_FLAG_ASCII | RE_FLAG_IGNORECASE, "(?-i:[kK])(?-i:[sS])");
    expect_pcre("[k]", RE_FLAG_ASCII | RE_FLAG_IGNORECASE, "(?-i:[kK])");
    expect_pcre("[^X-b1]", RE_FLAG_ASCII | RE_FLAG_IGNORECASE, "(?-i:[^X-bx-zA-B1])");
    expect_pcre("[k]", RE_FLAG_IGNORECASE, "[k]");
    /* counts past PCRE2's 65535, from nested repeats */
    expect_pcre("a{65535}", 0, "a{65535,65535}");
    expect_pcre("a{70000}", 0, "(?:a{65535})a{4465}");
    expect_pcre("a{131071,}?", 0, "(?:a{65535}){2}aa*?");
    expect_pcre("a{0,70000}", 0, "(?:a{65535}a{0,4465}|a{0,65534})");
    expect_pcre("a{0,70000}?", 0, "(?:a{0,65534}?|a{65535}a{0,4465}?)");
    expect_pcre("a{65536}+", 0, "(?>(?:a{65535})a)");
    expect_pcre("\\B", 0, "(?!\\A\\z)\\B"); /* sre: \B never matches in "" */
}

Test(re_translate, flags_and_groups) {
    ReTranslation tr;
    ReError err;
    cr_assert(translate("(?im)(a)(?P<x>b(c))", 0, &tr, &err));
    cr_expect_eq(tr.flags, RE_FLAG_IGNORECASE | RE_FLAG_MULTILINE | RE_FLAG_UNICODE);
    cr_expect(tr.ucp);
    cr_expect_eq(tr.ngroups, 3);
    cr_expect_eq(tr.nnames, 1);
    cr_expect_str_eq(tr.names[0].name, "x");
    cr_expect_eq(tr.names[0].gid, 2);
    cr_expect_eq(tr.parent[1], 0);
    cr_expect_eq(tr.parent[3], 2); /* group 3 lies inside group 2 */
    re_translation_free(&tr);
    cr_assert(translate("a", RE_FLAG_ASCII, &tr, &err));
    cr_expect_not(tr.ucp);
    cr_expect_eq(tr.flags, RE_FLAG_ASCII);
    re_translation_free(&tr);
    cr_assert_not(translate("a", RE_FLAG_LOCALE, &tr, &err));
    cr_expect_eq(err.kind, RE_ERR_VALUE);
    cr_expect_str_eq(err.msg, "cannot use LOCALE flag with a str pattern");
    cr_assert_not(translate("a", RE_FLAG_ASCII | RE_FLAG_UNICODE, &tr, &err));
    cr_expect_str_eq(err.msg, "ASCII and UNICODE flags are incompatible");
}

Test(re_translate, bytes_patterns) {
    ReTranslation tr;
    ReError err;
    cr_assert(re_translate("\xe9+", 2, true, 0, &tr, &err));
    cr_expect_str_eq(tr.pcre, "\\x{e9}+");
    cr_expect_not(tr.ucp);
    cr_expect_eq(tr.flags, 0);
    re_translation_free(&tr);
    cr_assert_not(re_translate("a", 1, true, RE_FLAG_UNICODE, &tr, &err));
    cr_expect_str_eq(err.msg, "cannot use UNICODE flag with a bytes pattern");
    cr_assert_not(re_translate("\\u00e9", 6, true, 0, &tr, &err));
    cr_expect_str_eq(err.msg, "bad escape \\u");
    cr_assert_not(re_translate("[\xe9-a]", 5, true, 0, &tr, &err)); /* messages are ASCII */
    cr_expect_str_eq(err.msg, "bad character range \\xe9-a");
}

Test(re_translate, deep_nesting_is_bounded) {
    char pat[2001];
    memset(pat, '(', 1000);
    memset(pat + 1000, ')', 1000);
    pat[2000] = '\0';
    ReTranslation tr;
    ReError err;
    cr_assert_not(translate(pat, 0, &tr, &err));
    cr_expect_eq(err.kind, RE_ERR_RECURSION);
}

/* Expand a parsed template against the match of (?P<first>a)(b)?(c) on "ac". */
static void expand(const ReTemplate *t, char *out) {
    static const char subject[] = "ac";
    static const long ov[] = {0, 2, 0, 1, -1, -1, 1, 2};
    size_t n = 0;
    for (int i = 0; i < t->nitems; i++) {
        const ReTemplateItem *it = &t->items[i];
        if (it->group < 0) {
            memcpy(out + n, t->lits + it->off, it->len);
            n += it->len;
        } else if (ov[2 * it->group] >= 0) {
            size_t len = (size_t)(ov[2 * it->group + 1] - ov[2 * it->group]);
            memcpy(out + n, subject + ov[2 * it->group], len);
            n += len;
        }
    }
    out[n] = '\0';
}

Test(re_translate, templates) {
    ReGroupName names[] = {{"first", 5, 1}};
    for (const TmplRow *r = tmpl_rows; r->tmpl; r++) {
        ReTemplate t;
        ReError err;
        bool ok = re_template_parse(r->tmpl, strlen(r->tmpl), false, 3, names, 1, &t, &err);
        if (r->kind == RE_ERR_NONE) {
            cr_assert(ok, "%s: %s", r->tmpl, err.msg);
            char got[256];
            expand(&t, got);
            cr_expect_str_eq(got, r->expected, "%s", r->tmpl);
            re_template_free(&t);
        } else {
            cr_assert_not(ok, "%s parsed", r->tmpl);
            cr_expect_eq(err.kind, r->kind, "%s", r->tmpl);
            cr_expect_eq(err.pos, r->pos, "%s: pos %ld", r->tmpl, err.pos);
            cr_expect_str_eq(err.msg, r->expected, "%s", r->tmpl);
        }
    }
}

Test(re_translate, literal_templates) {
    ReTemplate t;
    ReError err;
    cr_assert(re_template_parse("x-y", 3, false, 0, NULL, 0, &t, &err));
    cr_expect(t.literal);
    re_template_free(&t);
    cr_assert(re_template_parse("\\0", 2, false, 0, NULL, 0, &t, &err));
    cr_expect(t.literal);
    cr_expect_eq(t.lits_len, 1); /* one NUL character */
    re_template_free(&t);
}
