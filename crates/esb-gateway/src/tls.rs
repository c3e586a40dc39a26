//! TLS for the gateway. By default a local certificate authority and a server certificate for
//! `localhost`, `127.0.0.1`, `::1` and this host's name are created on first use under
//! `~/.esb/certs` (trust `ca.pem` once, as `esb cert` explains); `--tls-cert`/`--tls-key` use
//! your own instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const CA_NAME: &str = "Edge Serverless Box local CA";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the local certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path} holds no usable PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The local CA and server certificate files.
#[derive(Debug, Clone)]
pub struct LocalCertificates {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl LocalCertificates {
    /// The files under `dir` (`~/.esb/certs`), created when missing.
    pub fn ensure(dir: &Path) -> Result<LocalCertificates, TlsError> {
        let certs = LocalCertificates {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
        };
        let ca_key_path = dir.join("ca-key.pem");
        if [
            &certs.ca_cert,
            &ca_key_path,
            &certs.server_cert,
            &certs.server_key,
        ]
        .iter()
        .all(|p| p.is_file())
        {
            return Ok(certs);
        }
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
            action: "create",
            path: dir.to_owned(),
            source,
        })?;
        let ca_key = KeyPair::generate()?;
        let ca = ca_params().self_signed(&ca_key)?;
        let ca_key_pem = ca_key.serialize_pem();
        let issuer = Issuer::new(ca_params(), ca_key);
        let server_key = KeyPair::generate()?;
        let server = server_params()?.signed_by(&server_key, &issuer)?;
        write(&certs.ca_cert, &ca.pem(), 0o644)?;
        write(&ca_key_path, &ca_key_pem, 0o600)?;
        write(&certs.server_cert, &server.pem(), 0o644)?;
        write(&certs.server_key, &server_key.serialize_pem(), 0o600)?;
        Ok(certs)
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params
}

fn server_params() -> Result<CertificateParams, TlsError> {
    let mut names = vec!["localhost".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
        }
    }
    let mut params = CertificateParams::new(names)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    params.distinguished_name = name;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Browsers refuse server certificates valid for more than 825 days.
    params.not_after = rcgen::date_time_ymd(2028, 1, 1);
    Ok(params)
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|source| TlsError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
}

/// A rustls server configuration from PEM files, offering HTTP/2 and HTTP/1.1.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| TlsError::Pem {
            path: cert.to_owned(),
            what: "certificate",
        })?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            path: cert.to_owned(),
            what: "certificate",
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: cert.to_owned(),
            what: "certificate",
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::Pem {
        path: key.to_owned(),
        what: "private key",
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_certificates_are_created_once_and_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = LocalCertificates::ensure(dir.path()).expect("created");
        let first = std::fs::read_to_string(&certs.server_cert).expect("server cert");
        let again = LocalCertificates::ensure(dir.path()).expect("kept");
        assert_eq!(
            std::fs::read_to_string(&again.server_cert).expect("cert"),
            first
        );
        server_config(&certs.server_cert, &certs.server_key).expect("usable");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&certs.server_key)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bogus = dir.path().join("bogus.pem");
        std::fs::write(&bogus, "not pem").expect("write");
        let err = server_config(&bogus, &bogus).expect_err("rejected");
        assert!(err.to_string().contains("bogus.pem"), "{err}");
    }
}
