//! TLS with rustls: TLS 1.2 and 1.3 only, with rustls's safe default cipher suites. The
//! certificate can be replaced while the server runs (`palisade-server` reloads it on SIGHUP),
//! so renewing it never drops a connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

use crate::config::{Config, TlsMode};
use crate::private_files::{self, PrivateFileError};

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("{path} is not valid PEM: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("could not generate the development certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error(transparent)]
    PrivateFile(#[from] PrivateFileError),
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

fn pem_error(path: &Path) -> impl FnOnce(rustls_pki_types::pem::Error) -> TlsError + '_ {
    move |e| TlsError::Pem { path: path.to_owned(), detail: e.to_string() }
}

/// How long a generated development certificate is valid: under the year that browsers and
/// Mozilla's TLS guidelines allow a certificate to live.
const SELF_SIGNED_DAYS: i64 = 365;
/// A generated certificate this old is replaced at start-up, well before it expires.
const SELF_SIGNED_RENEW_AFTER: std::time::Duration = std::time::Duration::from_secs(300 * 24 * 60 * 60);

/// Generates a self-signed certificate for localhost into `<data_dir>/tls` unless a pair is
/// there and the certificate is younger than [`SELF_SIGNED_RENEW_AFTER`].
fn ensure_self_signed(data_dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let dir = data_dir.join("tls");
    let (cert_path, key_path) = (dir.join("localhost.crt"), dir.join("localhost.key"));
    let young = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .is_ok_and(|written| written.elapsed().is_ok_and(|age| age < SELF_SIGNED_RENEW_AFTER))
    };
    if key_path.exists() && young(&cert_path) {
        return Ok((cert_path, key_path));
    }
    private_files::private_dir(&dir)?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let mut params = rcgen::CertificateParams::new(names)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Palisade development certificate");
    let now = time::OffsetDateTime::now_utc();
    // An hour back, for clocks a little behind ours.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    let key_pair = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key_pair)?;
    // A pair being renewed: the key file is only ever created new, with its mode.
    if key_path.exists() {
        std::fs::remove_file(&key_path).map_err(|source| TlsError::Read { path: key_path.clone(), source })?;
    }
    private_files::write_private_file(&key_path, key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.pem()).map_err(|source| TlsError::Read { path: cert_path.clone(), source })?;
    tracing::warn!(cert = %cert_path.display(), "generated a self-signed development certificate for localhost");
    Ok((cert_path, key_path))
}

/// The certificate and key the server presents, read from their files and read again on
/// [`Certificate::reload`]. A reload that fails keeps the one in use.
#[derive(Debug)]
pub struct Certificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    fn load(cert_path: &Path, key_path: &Path, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
        let cert_pem = read_pem(cert_path)?;
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().map_err(pem_error(cert_path))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(cert_path.to_owned()));
        }
        let key_pem = read_pem(key_path)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(pem_error(key_path))?;
        // Also refuses a key that does not belong to the certificate: half-renewed files.
        Ok(Arc::new(CertifiedKey::from_der(certs, key, provider)?))
    }

    fn open(cert_path: PathBuf, key_path: PathBuf, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let current = RwLock::new(Self::load(&cert_path, &key_path, &provider)?);
        Ok(Self { cert_path, key_path, provider, current })
    }

    /// Reads the files again; new handshakes use them from now on, open connections go on.
    pub fn reload(&self) -> Result<(), TlsError> {
        let loaded = Self::load(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        Ok(())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The rustls configuration for `config` and the certificate it serves, or `None` for plain
/// HTTP.
pub fn server_config(config: &Config) -> Result<Option<(ServerConfig, Arc<Certificate>)>, TlsError> {
    let (cert_path, key_path) = match (config.tls.mode, &config.tls.cert_file, &config.tls.key_file) {
        (TlsMode::None, _, _) => return Ok(None),
        (TlsMode::SelfSigned, _, _) => ensure_self_signed(&config.data_dir)?,
        (TlsMode::Files, Some(cert), Some(key)) => (cert.clone(), key.clone()),
        (TlsMode::Files, _, _) => return Err(TlsError::NoCertificate(PathBuf::from("tls.cert_file"))),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certificate = Arc::new(Certificate::open(cert_path, key_path, Arc::clone(&provider))?);
    let server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
    Ok(Some((server, certificate)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsConfig;

    fn config(data_dir: &Path, tls: TlsConfig) -> Config {
        Config { data_dir: data_dir.to_owned(), tls, ..Config::default() }
    }

    /// The certificate's validity (the first two UTCTimes of its DER), as Unix seconds.
    fn validity(cert: &Path) -> (i64, i64) {
        let der = CertificateDer::from_pem_file(cert).unwrap();
        let times: Vec<i64> = der
            .windows(15)
            .filter(|w| w[0] == 0x17 && w[1] == 13 && w[14] == b'Z')
            .take(2)
            .map(|w| {
                let digits = std::str::from_utf8(&w[2..14]).unwrap();
                let n = |at: usize| digits[at..at + 2].parse::<u8>().unwrap();
                let month = time::Month::try_from(n(2)).unwrap();
                let date = time::Date::from_calendar_date(2000 + i32::from(n(0)), month, n(4)).unwrap();
                date.with_hms(n(6), n(8), n(10)).unwrap().assume_utc().unix_timestamp()
            })
            .collect();
        (times[0], times[1])
    }

    #[test]
    fn the_development_certificate_lives_under_a_year_and_is_renewed_before_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = ensure_self_signed(dir.path()).unwrap();
        let (not_before, not_after) = validity(&cert);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(not_before <= now && now < not_after);
        assert!(not_after - not_before < 366 * 24 * 60 * 60, "Mozilla's guidelines: under 366 days");
        let first = std::fs::read(&cert).unwrap();
        assert_eq!(std::fs::read(ensure_self_signed(dir.path()).unwrap().0).unwrap(), first, "kept while young");

        let old = std::time::SystemTime::now() - SELF_SIGNED_RENEW_AFTER;
        std::fs::File::options().write(true).open(&cert).unwrap().set_modified(old).unwrap();
        assert_ne!(std::fs::read(ensure_self_signed(dir.path()).unwrap().0).unwrap(), first, "renewed when old");
    }

    #[test]
    fn certificate_files_are_loaded_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ensure_self_signed(dir.path()).unwrap();
        let files = |cert: &Path, key: &Path| TlsConfig {
            mode: TlsMode::Files,
            cert_file: Some(cert.to_owned()),
            key_file: Some(key.to_owned()),
        };
        assert!(server_config(&config(dir.path(), files(&cert, &key))).unwrap().is_some());

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a pem file").unwrap();
        assert!(matches!(server_config(&config(dir.path(), files(&cert, &garbage))), Err(TlsError::Pem { .. })));
        assert!(matches!(server_config(&config(dir.path(), files(&garbage, &key))), Err(TlsError::NoCertificate(_))));
        let none = TlsConfig { mode: TlsMode::None, cert_file: None, key_file: None };
        assert!(server_config(&config(dir.path(), none)).unwrap().is_none());
    }

    #[test]
    fn a_reload_serves_the_renewed_certificate_and_a_broken_renewal_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ensure_self_signed(dir.path()).unwrap();
        let files = TlsConfig { mode: TlsMode::Files, cert_file: Some(cert.clone()), key_file: Some(key.clone()) };
        let (_, certificate) = server_config(&config(dir.path(), files)).unwrap().unwrap();
        let first = certificate.current().cert.clone();

        let renewed = tempfile::tempdir().unwrap();
        let (new_cert, new_key) = ensure_self_signed(renewed.path()).unwrap();
        std::fs::copy(&new_cert, &cert).unwrap();
        // Only the certificate so far, as a renewal caught halfway: its key does not match.
        assert!(certificate.reload().is_err(), "a certificate with someone else's key is refused");
        assert_eq!(certificate.current().cert, first, "and the old pair stays in use");
        std::fs::copy(&new_key, &key).unwrap();
        certificate.reload().unwrap();
        let second = certificate.current().cert.clone();
        assert_ne!(second, first);
        assert_eq!(second, CertificateDer::pem_file_iter(&new_cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap());

        std::fs::write(&cert, "not a pem file").unwrap();
        assert!(certificate.reload().is_err());
        assert_eq!(certificate.current().cert, second, "a broken file changes nothing");
    }
}
