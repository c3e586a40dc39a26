//! `esb cert`: where the local CA is, and how to make clients trust the box's HTTPS.

use clap::Args;
use esb_gateway::tls::LocalCertificates;
use miette::IntoDiagnostic;

use crate::commands::up::certs_dir;

#[derive(Debug, Args)]
pub struct CertArgs {}

impl CertArgs {
    pub fn run(self) -> miette::Result<()> {
        let certs = LocalCertificates::ensure(&certs_dir()).into_diagnostic()?;
        let ca = certs.ca_cert.display();
        println!("esb serves HTTPS with a certificate signed by its local CA:");
        println!("  {ca}");
        println!();
        println!("Trust it for one command:");
        println!("  curl --cacert {ca} https://localhost:8443/hello");
        println!("  AWS_CA_BUNDLE={ca} aws lambda invoke --endpoint-url https://localhost:8443 …");
        println!("  REQUESTS_CA_BUNDLE={ca} python3 …      SSL_CERT_FILE={ca} …");
        println!();
        println!("Trust it system-wide on Debian (as root):");
        println!(
            "  cp {ca} /usr/local/share/ca-certificates/esb-local-ca.crt && update-ca-certificates"
        );
        println!();
        println!(
            "Or serve plain HTTP: esb up --http; or your own: esb up --tls-cert FILE --tls-key FILE"
        );
        Ok(())
    }
}
