/* re_translate.h - Python regular expression syntax translated to PCRE2 syntax, and
 * Python replacement templates (re.sub's "\1 \g<name>") parsed.
 *
 * The translator is a port of CPython 3.11's re/_parser.py: it accepts exactly the patterns
 * CPython accepts, refuses the others with CPython's message and position, and emits a
 * PCRE2 pattern with the same meaning (every literal escaped, \Z as \z, named groups as
 * plain numbered groups, verbose mode and comments stripped, scoped ASCII/Unicode classes
 * spelled out). It knows nothing of the VM, so it is unit-tested on its own
 * (tests/unit/test_re_translate.c); mod_re.c turns its errors into exceptions.
 */
#ifndef ASY_RE_TRANSLATE_H
#define ASY_RE_TRANSLATE_H

#include "common.h"

/* Python's flag values (re.RegexFlag). */
#define RE_FLAG_TEMPLATE 1u
#define RE_FLAG_IGNORECASE 2u
#define RE_FLAG_LOCALE 4u
#define RE_FLAG_MULTILINE 8u
#define RE_FLAG_DOTALL 16u
#define RE_FLAG_UNICODE 32u
#define RE_FLAG_VERBOSE 64u
#define RE_FLAG_DEBUG 128u
#define RE_FLAG_ASCII 256u

typedef enum {
    RE_ERR_NONE,
    RE_ERR_ERROR,     /* re.error(msg, pattern, pos); pos -1: no position            */
    RE_ERR_VALUE,     /* ValueError(msg): incompatible flags                          */
    RE_ERR_OVERFLOW,  /* OverflowError(msg): repeat count too large                  */
    RE_ERR_INDEX,     /* IndexError(msg): unknown group name in a template           */
    RE_ERR_MEMORY,    /* out of memory                                                */
    RE_ERR_RECURSION, /* RecursionError(msg): groups nested too deeply                */
} ReErrKind;

typedef struct {
    ReErrKind kind;
    long pos; /* in code points of the pattern (bytes for bytes); -1: none  */
    char msg[320];
} ReError;

typedef struct {
    char *name; /* UTF-8 (or the raw bytes of a bytes pattern), NUL-terminated */
    size_t len;
    int gid;
} ReGroupName;

typedef struct {
    char *pcre; /* the PCRE2 pattern, NUL-terminated (malloc'd)                 */
    size_t pcre_len;
    uint32_t flags;     /* final flags: argument, inline global flags, UNICODE added   */
    int ngroups;        /* capturing groups                                             */
    int *parent;        /* parent[g] (1 <= g <= ngroups): innermost enclosing group, 0  */
    ReGroupName *names; /* in order of definition                                      */
    int nnames;
    bool ucp; /* compile with PCRE2_UCP (str pattern, not ASCII)             */
} ReTranslation;

/* Translate pattern (UTF-8 text, or bytes when is_bytes) compiled with `flags`. On failure
 * returns false with *err filled (out holds nothing to free). */
bool re_translate(const char *pat, size_t len, bool is_bytes, uint32_t flags, ReTranslation *out,
                  ReError *err);
void re_translation_free(ReTranslation *t);

/* ---- replacement templates ---- */
typedef struct {
    int group; /* -1: literal lits[off, off+len); else a group number          */
    size_t off, len;
} ReTemplateItem;

typedef struct {
    char *lits; /* the literal text, UTF-8 (bytes for a bytes template)         */
    size_t lits_len;
    ReTemplateItem *items;
    int nitems;
    bool literal; /* no group references: the result is lits itself              */
} ReTemplate;

/* Parse a template for a pattern with ngroups groups and the given names. */
bool re_template_parse(const char *s, size_t len, bool is_bytes, int ngroups,
                       const ReGroupName *names, int nnames, ReTemplate *out, ReError *err);
void re_template_free(ReTemplate *t);

#endif
