//! `carbond --gen-self-signed DIR '*.c.test'` writes a wildcard certificate, and an
//! `ssl_sni` entry for `*.c.test` serves it to a client that trusts exactly that file
//! (RFC 6125 section 6.4.3: the wildcard covers one label).

use std::sync::Arc;

use rustls::version::TLS13;

use crate::tls::{client_config, gen_cert, https_get, TlsServer};

#[test]
fn rfc6125_6_4_3_gen_self_signed_wildcard_is_served_for_one_label_names() {
    let server = TlsServer::start_with(
        "ssl_sni = *.c.test = {certs}/wild/cert.pem, {certs}/wild/key.pem",
        |dir| {
            gen_cert(&dir.join("wild"), &["*.c.test"]);
        },
    );
    let wild = server._certs.path().join("wild/cert.pem");
    let cfg = Arc::new(client_config(&[&TLS13], &[&wild]));
    let ex = https_get(server.https_addr(), &cfg, "a.c.test", "/").unwrap();
    assert_eq!(ex.response.status, 200);
    // Two labels below the wildcard are not covered: the default certificate is
    // chosen, which this client does not trust.
    assert!(https_get(server.https_addr(), &cfg, "a.b.c.test", "/").is_err());
}
