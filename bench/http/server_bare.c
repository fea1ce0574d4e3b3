/* The floor for server.asy: the same hello answer from libevent's evhttp in plain C,
 * with nothing else around it. Built by bench/run-http with `cc -O2 ... -levent`.
 * Usage: http_server_bare PORT [SECONDS] */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>

static void hello(struct evhttp_request *req, void *arg) {
    (void)arg;
    evbuffer_add(evhttp_request_get_output_buffer(req), "Hello, World!", 13);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", NULL);
}

int main(int argc, char **argv) {
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct timeval tv = {argc > 2 ? atoi(argv[2]) : 30, 0};
    evhttp_set_gencb(http, hello, NULL);
    if (!evhttp_bind_socket_with_handle(http, "127.0.0.1", (unsigned short)atoi(argv[1]))) {
        perror("bind");
        return 1;
    }
    puts("listening");
    fflush(stdout);
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
