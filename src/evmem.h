/* evmem.h - libevent's allocator (evmem.c): size-class free lists for the small blocks
 * evhttp and bufferevents allocate per request.
 *
 * Invariant: memory libevent hands to the caller to free (evhttp_uridecode,
 * evhttp_encode_uri, evbuffer_readln, ...) came from this allocator and must be freed
 * with asy_evmem_free, never free().
 */
#ifndef ASY_EVMEM_H
#define ASY_EVMEM_H

/* Make libevent allocate through the free lists; idempotent. Called by asy_vm_new before
 * anything calls libevent. */
void asy_evmem_install(void);

/* Free a block libevent allocated and gave to the caller. */
void asy_evmem_free(void *p);

#endif
