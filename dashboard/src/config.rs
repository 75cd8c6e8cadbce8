//! The dashboard's settings: a YAML file and the command line, checked before anything is
//! bound. Listening beyond the loopback needs TLS and a token; every error names what to set.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::auth::Token;

/// The address served when none is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";

/// The most targets watched at once (a directory with more sockets is cut off, with a
/// warning).
pub const MAX_TARGETS: usize = 256;

/// The dashboard's file (`--config`), every field optional:
///
/// ```yaml
/// listen: 127.0.0.1:7070        # anything but a loopback address needs tls and auth
/// targets: [/run/bot/control.sock]
/// targets_dir: /run/supervisor  # every socket in it, watched as they come and go
/// control: false                # true lets operators restart, pause, ... children
/// tls: {cert: cert.pem, key: key.pem, client_ca: ca.pem}   # client_ca: mTLS
/// auth: {token_file: /etc/dashboard/token}                 # or token_env: NAME
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardFile {
    /// The address to serve on.
    pub listen: Option<String>,
    /// Sockets to watch.
    #[serde(default)]
    pub targets: Vec<PathBuf>,
    /// A directory whose sockets are all watched.
    pub targets_dir: Option<PathBuf>,
    /// Whether operators may send commands.
    #[serde(default)]
    pub control: bool,
    /// TLS for the browser's connection.
    pub tls: Option<TlsFiles>,
    /// The bearer token's source.
    pub auth: Option<AuthSource>,
}

/// The certificate and key (PEM), and for mutual TLS the CA that client certificates must
/// chain to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// If set, only clients with a certificate from this CA are served.
    pub client_ca: Option<PathBuf>,
}

/// Where the token is read from: a file (its first line) or an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSource {
    /// A file holding the token.
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the token.
    pub token_env: Option<String>,
}

/// Checked settings, ready to serve with.
#[derive(Clone)]
pub struct DashboardSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Sockets to watch.
    pub targets: Vec<PathBuf>,
    /// A directory of sockets to watch.
    pub targets_dir: Option<PathBuf>,
    /// Whether commands are accepted.
    pub control: bool,
    /// TLS, if configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The token browsers and API clients must present, if configured.
    pub token: Option<Token>,
}

impl fmt::Debug for DashboardSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardSettings")
            .field("listen", &self.listen)
            .field("targets", &self.targets)
            .field("targets_dir", &self.targets_dir)
            .field("control", &self.control)
            .field("tls", &self.tls.is_some())
            .field("token", &self.token)
            .finish()
    }
}

/// Why the settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

impl DashboardFile {
    /// Reads a file.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not YAML or has an unknown or mistyped field.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        Self::from_yaml(&text).map_err(|e| error(format!("{}: {e}", path.display())))
    }

    /// Reads the file's text.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(DashboardFile::default());
        }
        serde_saphyr::from_str(text).map_err(|e| error(e.to_string()))
    }

    /// Checks the settings and loads what they point at: the address, the token, the
    /// certificates.
    ///
    /// # Errors
    ///
    /// Nothing to watch; an address that is not one; a non-loopback address without TLS and
    /// a token; a token that is missing, empty or shorter than 16 characters; certificates
    /// that cannot be read or do not match their key.
    pub fn check(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DashboardSettings, ConfigError> {
        let listen_text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            error(format!(
                "listen: `{listen_text}` is not an address and port (e.g. {DEFAULT_LISTEN})"
            ))
        })?;
        if self.targets.is_empty() && self.targets_dir.is_none() {
            return Err(error(
                "nothing to watch: give a target socket (--target, `targets`) or a directory of them (--targets-dir, `targets_dir`)",
            ));
        }
        let token = self
            .auth
            .as_ref()
            .map(|auth| load_token(auth, &env))
            .transpose()?;
        let tls = self.tls.as_ref().map(load_tls).transpose()?;
        if !listen.ip().is_loopback() && (tls.is_none() || token.is_none()) {
            return Err(error(format!(
                "listen: {listen} is reachable from other machines, so it needs TLS (`tls.cert`, `tls.key`) and a token (`auth.token_file` or `auth.token_env`); without them, listen on 127.0.0.1"
            )));
        }
        Ok(DashboardSettings {
            listen,
            targets: self.targets.clone(),
            targets_dir: self.targets_dir.clone(),
            control: self.control,
            tls,
            token,
        })
    }
}

fn load_token(
    auth: &AuthSource,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Token, ConfigError> {
    let text = match (&auth.token_file, &auth.token_env) {
        (Some(_), Some(_)) => {
            return Err(error("auth: give `token_file` or `token_env`, not both"));
        }
        (Some(file), None) => std::fs::read_to_string(file).map_err(|e| {
            error(format!(
                "auth.token_file: cannot read {}: {e}",
                file.display()
            ))
        })?,
        (None, Some(name)) => env(name)
            .ok_or_else(|| error(format!("auth.token_env: the environment has no `{name}`")))?,
        (None, None) => return Err(error("auth: give `token_file` or `token_env`")),
    };
    // A file's token is its first line.
    let token = text.lines().next().unwrap_or("").trim();
    Token::new(token).map_err(|why| error(format!("auth: the token {why}")))
}

fn load_tls(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| error(format!("tls.cert: {}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(error(format!(
            "tls.cert: {} holds no certificate",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| error(format!("tls.key: {}: {e}", files.key.display())))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| error(format!("tls: {e}")))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca)
                .map_err(|e| error(format!("tls.client_ca: {}: {e}", ca.display())))?
            {
                let cert =
                    cert.map_err(|e| error(format!("tls.client_ca: {}: {e}", ca.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| error(format!("tls.client_ca: {}: {e}", ca.display())))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| error(format!("tls.client_ca: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        error(format!(
            "tls: the certificate and key do not go together: {e}"
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_defaults_listen_on_the_loopback_and_need_a_target() {
        let file = DashboardFile::from_yaml("").unwrap();
        let e = file.check(no_env).unwrap_err();
        assert!(e.0.starts_with("nothing to watch"), "{e}");
        let file = DashboardFile::from_yaml("targets: [/run/bot.sock]").unwrap();
        let settings = file.check(no_env).unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert!(!settings.control && settings.token.is_none() && settings.tls.is_none());
    }

    #[test]
    fn another_address_needs_tls_and_a_token() {
        let file = DashboardFile::from_yaml(
            "listen: 0.0.0.0:7070\ntargets: [a.sock]\nauth: {token_env: T}",
        )
        .unwrap();
        let env = |name: &str| (name == "T").then(|| "0123456789abcdef".to_owned());
        let e = file.check(env).unwrap_err();
        assert!(e.0.contains("needs TLS"), "{e}");
    }

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let file = DashboardFile::from_yaml("targets: [a.sock]\nauth: {token_env: T}").unwrap();
        let e = file.check(no_env).unwrap_err();
        assert_eq!(e.0, "auth.token_env: the environment has no `T`");
        let e = file.check(|_| Some("short".to_owned())).unwrap_err();
        assert!(e.0.contains("at least 16"), "{e}");
        let settings = file
            .check(|_| Some("0123456789abcdef\n".to_owned()))
            .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn unknown_fields_and_bad_addresses_are_named() {
        let e = DashboardFile::from_yaml("targetz: [a.sock]").unwrap_err();
        assert!(e.0.contains("targetz"), "{e}");
        let file = DashboardFile::from_yaml("listen: localhost\ntargets: [a]").unwrap();
        let e = file.check(no_env).unwrap_err();
        assert!(
            e.0.starts_with("listen: `localhost` is not an address"),
            "{e}"
        );
    }
}
