/* fuzz_common.h - what every libFuzzer harness of asy shares: one interpreter per process,
 * sandboxed so that fuzzed programs cannot touch files, sleep or start processes (those
 * modules and open() are removed), with output thrown away, and collected now and then. */
#ifndef ASY_FUZZ_COMMON_H
#define ASY_FUZZ_COMMON_H

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "vm.h"

/* The largest single object or buffer a fuzzed program may allocate. */
#define FUZZ_MAX_ALLOC ((size_t)256 << 20)

static AsyVM *fuzz_vm;

/* One interpreter per process, without the modules in `blocked` (NULL-terminated), open()
 * and input(). */
static AsyVM *fuzz_get_vm_without(const char *const *blocked) {
    if (fuzz_vm) return fuzz_vm;
    if (!freopen("/dev/null", "w", stdout)) abort();
    fuzz_vm = asy_vm_new();
    /* Programs that ask for gigabytes at once (`0xDEADBEEF * "x"`) get MemoryError from asy
     * well before libFuzzer's own malloc limit (-rss_limit_mb=2048) reports them. */
    fuzz_vm->max_alloc = FUZZ_MAX_ALLOC;
    for (int i = 0; blocked[i]; i++) asy_dict_set_cstr(fuzz_vm, fuzz_vm->modules, blocked[i], ASY_NONE);
    asy_dict_del(fuzz_vm, fuzz_vm->builtins->dict, ASY_OBJ(asy_str_intern_cstr(fuzz_vm, "open")));
    asy_dict_del(fuzz_vm, fuzz_vm->builtins->dict, ASY_OBJ(asy_str_intern_cstr(fuzz_vm, "input")));
    return fuzz_vm;
}

/* The sandbox of harnesses that run fuzzed programs: no files, sleeping, processes or network. */
static AsyVM *fuzz_get_vm(void) {
    static const char *const blocked[] = {"os", "asyncio", "time", "http", "aiohttp", NULL};
    return fuzz_get_vm_without(blocked);
}

/* After each input: drop the pending exception and collect every so often. */
static void fuzz_after(AsyVM *vm) {
    static unsigned runs;
    asy_exc_clear(vm);
    vm->nroots = 0;
    if (++runs % 64 == 0) asy_gc_collect(vm);
}

/* Bytes as a str, one code point per byte (Latin-1), so any input is valid text. */
static AsyValue fuzz_latin1_str(AsyVM *vm, const uint8_t *data, size_t size) {
    char *buf = malloc(size * 2 + 1);
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] < 0x80) {
            buf[n++] = (char)data[i];
        } else {
            buf[n++] = (char)(0xC0 | (data[i] >> 6));
            buf[n++] = (char)(0x80 | (data[i] & 0x3F));
        }
    }
    AsyValue s = ASY_OBJ(asy_str_new(vm, buf, n));
    free(buf);
    return s;
}

/* Compile `src` once as a module body; run later with asy_vm_run_code. */
static AsyCode *fuzz_compile_once(AsyVM *vm, const char *src) {
    AsyCode *code = asy_compile(vm, src, strlen(src), "<fuzz>", ASY_PARSE_MODULE);
    if (!code) abort();
    asy_dict_set_cstr(vm, vm->modules, "__fuzz_code__", ASY_OBJ(code)); /* keeps it alive */
    return code;
}

#endif
