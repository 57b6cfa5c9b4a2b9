/*
 * LD_PRELOAD shim that makes wrk do a full TLS handshake on every connection.
 *
 * wrk keeps one OpenSSL SSL object per connection slot and, when a connection ends,
 * calls SSL_shutdown() then SSL_clear() and reuses the object for the next connection.
 * SSL_clear() keeps the last session (s->session) after a clean shutdown, so the next
 * SSL_connect() offers it: a TLS 1.3 PSK from the server's NewSessionTicket
 * (RFC 8446 section 4.6.1, 2.2) or a TLS 1.2 session ID/ticket. With
 * "Connection: close" nearly every handshake would then be resumed, which skips the
 * certificate and the signature and is not what the handshake benchmark measures.
 *
 * Dropping the session right after SSL_clear() makes every later connection start
 * without one. bench/run.sh checks the effect against nginx's $ssl_session_reused.
 *
 * Built by bench/run.sh into its temporary directory: cc -shared -fPIC ... -ldl.
 * No OpenSSL headers are needed; both functions are looked up in the libssl that wrk
 * already loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;

int SSL_clear(SSL *s)
{
    static int (*real_clear)(SSL *);
    static int (*set_session)(SSL *, SSL_SESSION *);

    if (real_clear == NULL || set_session == NULL) {
        real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
        set_session = (int (*)(SSL *, SSL_SESSION *))dlsym(RTLD_NEXT, "SSL_set_session");
        /* Without them the benchmark would silently measure something else. */
        if (real_clear == NULL || set_session == NULL)
            abort();
    }
    int rc = real_clear(s);
    /* After SSL_clear() the object is back in its "before" state, so this frees the
     * kept session without touching any session cache. */
    set_session(s, NULL);
    return rc;
}
