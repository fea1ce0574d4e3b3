/* Unit tests of libevent's allocator (evmem.c), through libevent's own API as evhttp uses
 * it: buffers grown across every size class and past the largest (realloc'd and chained
 * blocks keep their bytes), header lists built and cleared many times over (blocks are
 * reused with their class intact), and a decoded URI freed with asy_evmem_free. Under
 * ASan the allocator is not installed and these run on malloc. */
#include "common.h"

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "evmem.h"

static void setup(void) { asy_evmem_install(); }

TestSuite(evmem, .init = setup);

/* Bytes i of a test pattern, so that a block handed out twice shows up as wrong data. */
static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)(i * 31 + seed); }

Test(evmem, buffers_of_every_size_keep_their_bytes) {
    static unsigned char data[70000];
    for (unsigned round = 0; round < 3; round++) {
        struct evbuffer *bufs[40];
        for (int k = 0; k < 40; k++) {
            size_t n = (size_t)1 << (k % 17); /* 1 byte .. 64 KiB: small, medium, large */
            for (size_t i = 0; i < n; i++) data[i] = pattern(i, (unsigned)k + round);
            bufs[k] = evbuffer_new();
            cr_assert_not_null(bufs[k]);
            /* in pieces, so chains are added and the buffer expands */
            for (size_t off = 0; off < n; off += 700)
                cr_assert_eq(evbuffer_add(bufs[k], data + off, n - off < 700 ? n - off : 700), 0);
        }
        for (int k = 0; k < 40; k++) {
            size_t n = (size_t)1 << (k % 17);
            cr_assert_eq(evbuffer_get_length(bufs[k]), n);
            const unsigned char *p = evbuffer_pullup(bufs[k], -1); /* one block of n bytes */
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(p[i], pattern(i, (unsigned)k + round), "buffer %d byte %zu", k, i);
            evbuffer_free(bufs[k]);
        }
    }
}

Test(evmem, header_lists_reuse_blocks) {
    char key[32], value[300];
    for (int round = 0; round < 50; round++) {
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof key, "X-Header-%d", i);
            memset(value, 'a' + (i + round) % 26, (size_t)(i * 7 % 299));
            value[i * 7 % 299] = '\0';
            cr_assert_eq(evhttp_add_header(&q, key, value), 0);
        }
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof key, "x-header-%d", i);
            const char *v = evhttp_find_header(&q, key);
            cr_assert_not_null(v);
            cr_assert_eq(strlen(v), (size_t)(i * 7 % 299));
            if (*v) cr_assert_eq(v[0], 'a' + (i + round) % 26);
        }
        evhttp_clear_headers(&q);
    }
}

Test(evmem, decoded_uri_is_freed_by_asy_evmem_free) {
    for (int i = 0; i < 1000; i++) {
        size_t len = 0;
        char *s = evhttp_uridecode("/a%20b/%C3%A9?x=1+2", 1, &len);
        cr_assert_not_null(s);
        cr_assert_str_eq(s, "/a b/\xc3\xa9?x=1 2");
        cr_assert_eq(len, strlen(s));
        asy_evmem_free(s);
    }
}
