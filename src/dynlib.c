/* dynlib.c - the libraries opened on first use: OpenSSL with libevent_openssl, and libedit
 * (see dynlib.h for why). configure finds the name of each (ASY_SONAME_* in config.h), so
 * dlopen loads the very libraries the build checked, through the loader's usual search. */
#include "common.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"

struct AsyDynlib {
    void *ssl, *crypto, *evssl, *edit; /* dlopen handles, NULL until opened (never closed) */
    AsyOpenSSL *openssl;
    AsyLibedit *libedit;
    char error[256];
};

static struct AsyDynlib *state(AsyVM *vm) {
    if (!vm->dynlib) vm->dynlib = calloc(1, sizeof *vm->dynlib);
    return vm->dynlib;
}

/* RTLD_NODELETE, and no dlclose: a library stays as long as the process, as a linked one
 * would. libedit and OpenSSL keep state in their globals (history, error queues) that must
 * stay reachable (LeakSanitizer scans them) and valid for another VM. */
static bool open_lib(struct AsyDynlib *d, void **handle, const char *soname) {
    if (!*handle) *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!*handle) snprintf(d->error, sizeof d->error, "%s", dlerror());
    return *handle != NULL;
}

/* Store the address of `name` into the function pointer at dest. */
static bool find(struct AsyDynlib *d, void *handle, const char *name, void *dest) {
    void *p = dlsym(handle, name);
    if (!p) {
        snprintf(d->error, sizeof d->error, "%s", dlerror());
        return false;
    }
    memcpy(dest, &p, sizeof p);
    return true;
}

#define ASY_DYNLIB_FIND(lib, name)                                                                 \
    if (!find(d, d->lib, #name, &t->name)) goto fail;

const AsyOpenSSL *asy_openssl(AsyVM *vm) {
    struct AsyDynlib *d = state(vm);
    if (!d) return NULL;
    if (d->openssl) return d->openssl;
    if (!open_lib(d, &d->crypto, ASY_SONAME_CRYPTO) || !open_lib(d, &d->ssl, ASY_SONAME_SSL) ||
        !open_lib(d, &d->evssl, ASY_SONAME_EVENT_OPENSSL))
        return NULL;
    AsyOpenSSL *t = malloc(sizeof *t);
    if (!t) return NULL;
    ASY_OPENSSL_FUNCS(ASY_DYNLIB_FIND)
    return d->openssl = t;
fail:
    free(t);
    return NULL;
}

const AsyLibedit *asy_libedit(AsyVM *vm) {
    struct AsyDynlib *d = state(vm);
    if (!d) return NULL;
    if (d->libedit) return d->libedit;
    if (!open_lib(d, &d->edit, ASY_SONAME_EDIT)) return NULL;
    AsyLibedit *t = malloc(sizeof *t);
    if (!t) return NULL;
    ASY_LIBEDIT_FUNCS(ASY_DYNLIB_FIND)
    return d->libedit = t;
fail:
    free(t);
    return NULL;
}

const char *asy_dynlib_error(AsyVM *vm) {
    return vm->dynlib && vm->dynlib->error[0] ? vm->dynlib->error : "out of memory";
}

void asy_dynlib_free(AsyVM *vm) {
    struct AsyDynlib *d = vm->dynlib;
    if (!d) return;
    free(d->openssl);
    free(d->libedit);
    free(d);
    vm->dynlib = NULL;
}
