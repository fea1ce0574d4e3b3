/* gensite.c - where generators were made: the VM's table of creation sites.
 *
 * A generator, coroutine or async generator shows its __qualname__ (its repr, a task's
 * repr) and, for a coroutine never awaited, warns naming the file and line that made it.
 * Rather than three fields in every such object (20 bytes of each of 100,000 waiting
 * tasks' coroutines), it holds the 32-bit index of a (file, line, qualname) entry here.
 * A program makes its coroutines at a handful of places, so the table stays small; the
 * last site found is tried first, so a loop that makes them at one line costs no lookup.
 *
 * The entries' strings are GC roots (gc_mark_roots): a finalizer that runs after the sweep
 * freed the code object (the never-awaited warning) still reads them. Entries are never
 * removed; they are keyed by content, so only a program that gives its coroutines ever new
 * __qualname__ texts makes the table grow without bound.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "generator.h"

static bool same_site(const AsyGenSite *s, AsyStr *file, int32_t line, AsyStr *qualname) {
    return s->line == line && s->qualname &&
           (s->file == file || (s->file && file && asy_str_equal(s->file, file))) &&
           asy_str_equal(s->qualname, qualname);
}

static uint64_t site_hash(AsyStr *file, int32_t line, AsyStr *qualname) {
    uint64_t h = (uint64_t)asy_str_hash(qualname) * 0x9e3779b97f4a7c15u;
    if (file) h ^= (uint64_t)asy_str_hash(file) + 0x632be59bd9b4e019u + (h << 6) + (h >> 2);
    return (h ^ (uint64_t)(uint32_t)line) * 0xff51afd7ed558ccdu;
}

/* The index slot of the site, or of the empty slot where it would go. Slots hold an
 * entry's number plus one (0: empty). */
static uint32_t *index_slot(AsyVM *vm, AsyStr *file, int32_t line, AsyStr *qualname) {
    uint32_t mask = vm->gensite_indexcap - 1;
    for (uint64_t j = site_hash(file, line, qualname) >> 32;; j++) {
        uint32_t *slot = &vm->gensite_index[j & mask];
        if (*slot == 0 || same_site(&vm->gensites[*slot - 1], file, line, qualname)) return slot;
    }
}

/* Double the index (kept at most half full) and the entries as needed for one more. */
static bool grow(AsyVM *vm) {
    if (vm->ngensites == vm->capgensites) {
        uint32_t cap = vm->capgensites ? vm->capgensites * 2 : 16;
        AsyGenSite *s = realloc(vm->gensites, cap * sizeof *s);
        if (!s) return false;
        vm->gensites = s;
        vm->capgensites = cap;
    }
    if (2 * (vm->ngensites + 1) <= vm->gensite_indexcap) return true;
    uint32_t cap = vm->gensite_indexcap ? vm->gensite_indexcap * 2 : 32;
    uint32_t *old = vm->gensite_index;
    if (!(vm->gensite_index = calloc(cap, sizeof *old))) {
        vm->gensite_index = old;
        return false;
    }
    vm->gensite_indexcap = cap;
    for (uint32_t i = 0; i < vm->ngensites; i++) {
        const AsyGenSite *s = &vm->gensites[i];
        *index_slot(vm, s->file, s->line, s->qualname) = i + 1;
    }
    free(old);
    return true;
}

bool asy_gensite_lookup(AsyVM *vm, AsyStr *file, int32_t line, AsyStr *qualname, uint32_t *id) {
    uint32_t *slot = vm->gensite_indexcap ? index_slot(vm, file, line, qualname) : NULL;
    if (!slot || *slot == 0) {
        if (!grow(vm)) {
            asy_raise_memory(vm);
            return false;
        }
        slot = index_slot(vm, file, line, qualname);
        vm->gensites[vm->ngensites] = (AsyGenSite){file, qualname, line};
        *slot = ++vm->ngensites;
    }
    *id = vm->gensite_last = *slot - 1;
    return true;
}

void asy_gensite_mark(AsyVM *vm) {
    for (uint32_t i = 0; i < vm->ngensites; i++) {
        asy_gc_mark_obj(vm, (AsyObj *)vm->gensites[i].file);
        asy_gc_mark_obj(vm, (AsyObj *)vm->gensites[i].qualname);
    }
}

void asy_gensite_free(AsyVM *vm) {
    free(vm->gensites);
    free(vm->gensite_index);
    vm->gensites = NULL;
    vm->gensite_index = NULL;
    vm->ngensites = vm->capgensites = vm->gensite_indexcap = vm->gensite_last = 0;
}
