/* dynlib.h - the libraries asy opens on first use (dlopen) instead of linking: OpenSSL with
 * libevent_openssl (HTTPS, random.seed of str and bytes) and libedit (the REPL). Linked,
 * their relocations were most of the startup time of every script, which needs neither.
 *
 * Each table holds the functions its users call, with the types of the library's own
 * declarations; the macros of the headers that expand to other functions (SSL_set_tlsext_
 * host_name -> SSL_ctrl, ...) are written out at the call sites. The tables live as long
 * as the VM; a library that cannot be opened leaves the table NULL and asy_dynlib_error()
 * says why ("libssl.so.3: cannot open shared object file: ..."). */
#ifndef ASY_DYNLIB_H
#define ASY_DYNLIB_H

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h> /* editline/readline.h uses FILE without including it */
#include <editline/readline.h>

#include "vm.h"

/* X(library, function): library is ssl, crypto or evssl (libevent_openssl). */
#define ASY_OPENSSL_FUNCS(X)                                                                       \
    X(ssl, TLS_client_method)                                                                      \
    X(ssl, SSL_CTX_new)                                                                            \
    X(ssl, SSL_CTX_free)                                                                           \
    X(ssl, SSL_CTX_set_default_verify_paths)                                                       \
    X(ssl, SSL_CTX_ctrl)                                                                           \
    X(ssl, SSL_new)                                                                                \
    X(ssl, SSL_free)                                                                               \
    X(ssl, SSL_ctrl)                                                                               \
    X(ssl, SSL_set_verify)                                                                         \
    X(ssl, SSL_get0_param)                                                                         \
    X(ssl, SSL_get_verify_result)                                                                  \
    X(crypto, X509_VERIFY_PARAM_set1_ip_asc)                                                       \
    X(crypto, X509_VERIFY_PARAM_set1_host)                                                         \
    X(crypto, X509_verify_cert_error_string)                                                       \
    X(crypto, ERR_error_string_n)                                                                  \
    X(crypto, SHA512)                                                                              \
    X(evssl, bufferevent_openssl_socket_new)                                                       \
    X(evssl, bufferevent_openssl_set_allow_dirty_shutdown)                                         \
    X(evssl, bufferevent_openssl_get_ssl)                                                          \
    X(evssl, bufferevent_get_openssl_error)

/* __typeof__ (gcc, clang) gives each pointer the exact type the header declares. */
#define ASY_DYNLIB_FIELD(lib, name) __typeof__(&name) name;
typedef struct AsyOpenSSL {
    ASY_OPENSSL_FUNCS(ASY_DYNLIB_FIELD)
} AsyOpenSSL;

/* libedit's readline interface; rl_catch_signals and rl_getc_function are variables, so
 * pointers to them. */
#define ASY_LIBEDIT_FUNCS(X)                                                                       \
    X(edit, rl_callback_handler_install)                                                           \
    X(edit, rl_callback_handler_remove)                                                            \
    X(edit, rl_callback_read_char)                                                                 \
    X(edit, rl_replace_line)                                                                       \
    X(edit, rl_catch_signals)                                                                      \
    X(edit, rl_getc_function)                                                                      \
    X(edit, using_history)                                                                         \
    X(edit, stifle_history)                                                                        \
    X(edit, add_history)                                                                           \
    X(edit, read_history)                                                                          \
    X(edit, write_history)

typedef struct AsyLibedit {
    ASY_LIBEDIT_FUNCS(ASY_DYNLIB_FIELD)
} AsyLibedit;

/* OpenSSL and libevent_openssl, opened on the first call; NULL when they cannot be. */
const AsyOpenSSL *asy_openssl(AsyVM *vm);
/* libedit, opened on the first call; NULL when it cannot be. */
const AsyLibedit *asy_libedit(AsyVM *vm);
/* Why the last asy_openssl() or asy_libedit() returned NULL. */
const char *asy_dynlib_error(AsyVM *vm);
/* Free the tables (asy_vm_free); the libraries stay loaded. */
void asy_dynlib_free(AsyVM *vm);

#endif
