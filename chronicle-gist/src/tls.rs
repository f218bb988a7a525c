//! TLS to PostgreSQL on rustls, with libpq's `sslmode` and `sslrootcert`.
//!
//! The `postgres` crate knows `sslmode=disable|prefer|require` and leaves
//! certificate checks to the TLS connector; it rejects `verify-ca`,
//! `verify-full` and `sslrootcert`. So [`TlsSettings::split`] takes those
//! two options out of a connection string (URL or key/value, as libpq
//! users write them; `PGSSLMODE`/`PGSSLROOTCERT` when absent), and
//! [`TlsSettings::connector`] builds a rustls connector that checks what
//! libpq would:
//!
//! | sslmode | encryption | certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (default) | when the server offers it | not checked |
//! | `require` | always | not checked, unless a root certificate file is there: then as `verify-ca` |
//! | `verify-ca` | always | signed by a CA in `sslrootcert` |
//! | `verify-full` | always | signed by a CA in `sslrootcert`, and names the host connected to |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt`; `sslrootcert=system`
//! trusts the Mozilla roots of webpki-roots and, as in libpq, implies
//! `verify-full`. Like libpq, a connection over a Unix socket is never
//! encrypted.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "disable" => Ok(SslMode::Disable),
            // libpq's "allow" tries without TLS first; without TLS first
            // is what a server that does not insist gets from "prefer" too.
            "allow" | "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "invalid sslmode value: {other:?} (disable, allow, prefer, require, verify-ca or verify-full)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What the connection string asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `sslrootcert`, as written (`system` included).
    pub root_cert: Option<String>,
}

/// The connection string without the TLS options, and those options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitConnectionString {
    pub rest: String,
    pub tls: TlsSettings,
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL or a
    /// key/value string; what is left is for `postgres::Config`. Missing
    /// options come from `PGSSLMODE` and `PGSSLROOTCERT` as in libpq.
    pub fn split(conninfo: &str) -> Result<SplitConnectionString, String> {
        Self::split_with_env(conninfo, |name| std::env::var(name).ok())
    }

    /// [`TlsSettings::split`] with the environment given by `env`.
    pub fn split_with_env(
        conninfo: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SplitConnectionString, String> {
        let trimmed = conninfo.trim_start();
        let (rest, mode, root_cert) =
            if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
                split_url(trimmed)
            } else {
                split_key_values(conninfo)?
            };
        let mode = match mode.or_else(|| env("PGSSLMODE").filter(|m| !m.is_empty())) {
            Some(mode) => SslMode::parse(&mode)?,
            None => SslMode::Prefer,
        };
        let root_cert = root_cert.or_else(|| env("PGSSLROOTCERT").filter(|r| !r.is_empty()));
        Ok(SplitConnectionString {
            rest,
            tls: TlsSettings { mode, root_cert },
        })
    }

    /// The root certificate file libpq would read: `sslrootcert`, else
    /// `~/.postgresql/root.crt`.
    fn root_cert_path(&self) -> Option<PathBuf> {
        match self.root_cert.as_deref() {
            Some(path) => Some(PathBuf::from(path)),
            None => std::env::var_os("HOME")
                .map(|home| Path::new(&home).join(".postgresql").join("root.crt")),
        }
    }

    /// The sslmode in force: `require` with a root certificate file present
    /// checks the chain (libpq's rule), and `sslrootcert=system` checks the
    /// host name too.
    pub fn effective_mode(&self) -> SslMode {
        if self.root_cert.as_deref() == Some("system") && self.mode != SslMode::Disable {
            return SslMode::VerifyFull;
        }
        if self.mode == SslMode::Require && self.root_cert_path().is_some_and(|p| p.is_file()) {
            return SslMode::VerifyCa;
        }
        self.mode
    }

    /// The mode `postgres::Config` gets: it only knows whether to ask for
    /// TLS and whether to insist.
    pub fn postgres_mode(&self) -> postgres::config::SslMode {
        match self.effective_mode() {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }

    /// The connector for these settings, or why there can be none (a root
    /// certificate file that is missing or holds no certificate).
    pub fn connector(&self) -> Result<RustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.effective_mode() {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(CertificateCheck {
                roots: None,
                provider: Arc::clone(&provider),
            }),
            mode @ (SslMode::VerifyCa | SslMode::VerifyFull) => {
                let roots = Arc::new(self.roots(mode)?);
                if mode == SslMode::VerifyFull {
                    WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                        .build()
                        .map_err(|e| format!("cannot check server certificates: {e}"))?
                } else {
                    Arc::new(CertificateCheck {
                        roots: Some(roots),
                        provider: Arc::clone(&provider),
                    })
                }
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(RustlsConnect {
            config: Arc::new(config),
        })
    }

    fn roots(&self, mode: SslMode) -> Result<RootCertStore, String> {
        if self.root_cert.as_deref() == Some("system") {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        }
        let Some(path) = self.root_cert_path() else {
            return Err(format!(
                "sslmode={} needs a root certificate: set sslrootcert (HOME is not set, so ~/.postgresql/root.crt cannot be used)",
                mode.as_str()
            ));
        };
        if !path.is_file() {
            return Err(format!(
                "root certificate file {:?} does not exist; either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification",
                path.display().to_string()
            ));
        }
        let mut roots = RootCertStore::empty();
        let certificates = CertificateDer::pem_file_iter(&path).map_err(|e| {
            format!(
                "cannot read root certificate file {:?}: {e}",
                path.display().to_string()
            )
        })?;
        for certificate in certificates {
            let certificate = certificate.map_err(|e| {
                format!(
                    "cannot read root certificate file {:?}: {e}",
                    path.display().to_string()
                )
            })?;
            roots.add(certificate).map_err(|e| {
                format!(
                    "root certificate file {:?} holds an unusable certificate: {e}",
                    path.display().to_string()
                )
            })?;
        }
        if roots.is_empty() {
            return Err(format!(
                "root certificate file {:?} holds no PEM certificate",
                path.display().to_string()
            ));
        }
        Ok(roots)
    }
}

impl fmt::Display for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sslmode={}", self.effective_mode().as_str())?;
        if let Some(root) = &self.root_cert {
            write!(f, " sslrootcert={root}")?;
        }
        Ok(())
    }
}

/// Splits the query parameters of a URL.
fn split_url(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None, None);
    };
    let (mut mode, mut root) = (None, None);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => mode = Some(percent_decode(value)),
                "sslrootcert" => root = Some(percent_decode(value)),
                _ => return !pair.is_empty(),
            }
            false
        })
        .collect();
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, mode, root)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a libpq key/value string (`key=value`, values optionally in
/// single quotes with `\'` and `\\`), re-quoting what it keeps.
fn split_key_values(text: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "invalid connection string: missing \"=\" after {key:?}"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => break,
                    },
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(format!(
                            "invalid connection string: unterminated quoted value of {key:?}"
                        ))
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root = Some(value),
            _ => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    Ok((kept.join(" "), mode, root))
}

/// The server certificate check of `prefer`, `require` and `verify-ca`
/// (`verify-full` is rustls's own `WebPkiServerVerifier`). Without roots
/// (`prefer`, `require`) any certificate is accepted, as libpq does; with
/// roots (`verify-ca`) the chain must lead to one of them, and the name in the
/// certificate is not compared with the host. Either way the handshake's own
/// signatures are checked.
#[derive(Debug)]
struct CertificateCheck {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let certificate = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &certificate,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A `MakeTlsConnect` for the `postgres` crate on rustls.
#[derive(Clone)]
pub struct RustlsConnect {
    config: Arc<ClientConfig>,
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnector;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnector> {
        let name = ServerName::try_from(domain.to_string()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{domain:?} is not a host name TLS can check: {e}"),
            )
        })?;
        Ok(RustlsConnector {
            config: Arc::clone(&self.config),
            name,
        })
    }
}

/// The connector for one host.
pub struct RustlsConnector {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A TLS stream to the server.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> SplitConnectionString {
        TlsSettings::split_with_env(text, |_| None).unwrap()
    }

    #[test]
    fn takes_the_tls_options_out_of_urls() {
        let s = split("postgres://u@db.example.com:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x");
        assert_eq!(
            s.rest,
            "postgres://u@db.example.com:5432/app?application_name=x"
        );
        assert_eq!(s.tls.mode, SslMode::VerifyFull);
        assert_eq!(s.tls.root_cert.as_deref(), Some("/etc/ca.pem"));
        let s = split("postgresql://u@h/app?sslmode=require");
        assert_eq!(s.rest, "postgresql://u@h/app");
        assert_eq!(s.tls.mode, SslMode::Require);
        let s = split("postgres://u@h/app");
        assert_eq!(s.tls.mode, SslMode::Prefer);
        assert_eq!(s.tls.root_cert, None);
    }

    #[test]
    fn takes_the_tls_options_out_of_key_values() {
        let s = split("host=db port=5433 sslmode = verify-ca sslrootcert='/my certs/ca.pem'");
        assert_eq!(s.tls.mode, SslMode::VerifyCa);
        assert_eq!(s.tls.root_cert.as_deref(), Some("/my certs/ca.pem"));
        let s = split(r"host=db password='it\'s' user=a\ b");
        assert_eq!(s.rest, r"host='db' password='it\'s' user='a b'");
        let config: postgres::Config = s.rest.parse().unwrap();
        assert_eq!(config.get_password(), Some(&b"it's"[..]));
        assert_eq!(config.get_user(), Some("a b"));
        assert!(
            TlsSettings::split_with_env("host=db sslmode=sometimes", |_| None)
                .unwrap_err()
                .contains("invalid sslmode value: \"sometimes\"")
        );
        assert!(TlsSettings::split_with_env("host", |_| None).is_err());
        assert!(TlsSettings::split_with_env("host='db", |_| None).is_err());
    }

    #[test]
    fn environment_fills_in_and_require_with_a_root_checks_the_chain() {
        let s = TlsSettings::split_with_env("host=db", |name| match name {
            "PGSSLMODE" => Some("require".into()),
            "PGSSLROOTCERT" => Some("/nonexistent/ca.pem".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.tls.mode, SslMode::Require);
        // The file is not there: plain require.
        assert_eq!(s.tls.effective_mode(), SslMode::Require);
        let root =
            std::env::temp_dir().join(format!("chronicle-gist-root-{}.pem", std::process::id()));
        std::fs::write(&root, "not a certificate").unwrap();
        let tls = TlsSettings {
            mode: SslMode::Require,
            root_cert: Some(root.display().to_string()),
        };
        assert_eq!(tls.effective_mode(), SslMode::VerifyCa);
        let error = tls.connector().err().unwrap();
        assert!(error.contains("holds no PEM certificate"), "{error}");
        std::fs::remove_file(&root).unwrap();
        let missing = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let error = missing.connector().err().unwrap();
        assert!(
            error.contains("\"/nonexistent/ca.pem\" does not exist"),
            "{error}"
        );
        let system = TlsSettings {
            mode: SslMode::Require,
            root_cert: Some("system".into()),
        };
        assert_eq!(system.effective_mode(), SslMode::VerifyFull);
        assert!(system.connector().is_ok());
    }
}
