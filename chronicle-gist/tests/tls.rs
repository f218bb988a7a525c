//! TLS to PostgreSQL with libpq's sslmode values, against a server with
//! `ssl = on` whose certificate (for `localhost` only) a CA made by the test
//! signed.
//!
//! Skipped unless `CHRONICLE_TLS_PORT` (the server listens on 127.0.0.1),
//! `CHRONICLE_TLS_CA` (the CA's certificate) and `CHRONICLE_TLS_OTHER_CA`
//! (a CA that signed nothing the server has) are set:
//! tests/integration/gist_tls.sh makes all three and runs these tests.

use chronicle_gist::pg::PgDatabase;
use chronicle_gist::DbError;

struct Server {
    port: String,
    ca: String,
    other_ca: String,
}

fn server() -> Option<Server> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("CHRONICLE_TLS_PORT"),
        var("CHRONICLE_TLS_CA"),
        var("CHRONICLE_TLS_OTHER_CA"),
    ) {
        (Some(port), Some(ca), Some(other_ca)) => Some(Server { port, ca, other_ca }),
        _ => {
            eprintln!("skipped: CHRONICLE_TLS_PORT, CHRONICLE_TLS_CA and CHRONICLE_TLS_OTHER_CA are not set");
            None
        }
    }
}

/// Whether the session is encrypted, as the server sees it.
fn encrypted(db: &mut PgDatabase) -> bool {
    db.client()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

fn connect(url: &str) -> Result<PgDatabase, DbError> {
    PgDatabase::connect(url)
}

fn error_of(url: &str) -> String {
    match connect(url) {
        Ok(_) => panic!("{url} connected"),
        Err(e) => {
            assert!(e.is_connection(), "{e:?}");
            e.to_string()
        }
    }
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name() {
    let Some(s) = server() else { return };
    let (port, ca) = (&s.port, &s.ca);
    // Key/value and URL forms, as libpq users write them.
    let mut db = connect(&format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{ca}'"
    ))
    .unwrap();
    assert!(encrypted(&mut db));
    let mut db = connect(&format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    ))
    .unwrap();
    assert!(encrypted(&mut db));

    // The certificate names localhost, not 127.0.0.1.
    let message = error_of(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={ca}"
    ));
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("name the host connected to"), "{message}");

    // Without the CA file, or with a CA that did not sign the certificate.
    let message = error_of(&format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={ca}.missing"
    ));
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains(".missing"), "{message}");
    let message = error_of(&format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
        s.other_ca
    ));
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        message.contains("signed by a CA of sslrootcert"),
        "{message}"
    );
}

#[test]
fn verify_ca_and_require_follow_libpq() {
    let Some(s) = server() else { return };
    let (port, ca) = (&s.port, &s.ca);
    // verify-ca checks the chain only: 127.0.0.1 is fine.
    let mut db = connect(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-ca sslrootcert={ca}"
    ))
    .unwrap();
    assert!(encrypted(&mut db));
    let message = error_of(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-ca sslrootcert={}",
        s.other_ca
    ));
    assert!(message.contains("UnknownIssuer"), "{message}");
    // require encrypts without checking; with a root certificate file it
    // checks the chain like verify-ca.
    let mut db = connect(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=require sslrootcert={ca}.missing"
    ))
    .unwrap();
    assert!(encrypted(&mut db));
    let message = error_of(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=require sslrootcert={}",
        s.other_ca
    ));
    assert!(message.contains("UnknownIssuer"), "{message}");
    // prefer (the default) encrypts when the server can; disable never does.
    let mut db = connect(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres"
    ))
    .unwrap();
    assert!(encrypted(&mut db));
    let mut db = connect(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .unwrap();
    assert!(!encrypted(&mut db));
    let message = error_of(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-everything"
    ));
    assert!(message.contains("invalid sslmode value"), "{message}");
}
