//! Opening the box's listening sockets, with the one sentence a user needs when that fails
//! ("port 8443 on 127.0.0.1 is already in use …; choose another with --port").

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Why a listener could not be opened, worded for the person starting the box.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct ListenError {
    pub addr: SocketAddr,
    /// What was to listen there ("the gateway", "the embedded S3").
    pub role: &'static str,
    /// The option that moves it elsewhere (`--port`).
    pub flag: &'static str,
    /// Kept out of `source()`: the sentence already says it, and error reports would repeat it.
    pub error: io::Error,
}

impl ListenError {
    fn sentence(&self) -> String {
        let (ip, port, role, flag) = (self.addr.ip(), self.addr.port(), self.role, self.flag);
        match self.error.kind() {
            io::ErrorKind::AddrInUse => format!(
                "port {port} on {ip} is already in use (another esb, or another server?): \
                 {role} cannot listen there; choose another port with {flag}"
            ),
            io::ErrorKind::PermissionDenied => format!(
                "{role} may not listen on port {port} on {ip} (ports below 1024 need root); \
                 choose another port with {flag}"
            ),
            io::ErrorKind::AddrNotAvailable => format!(
                "{role} cannot listen on {ip}: no interface of this machine has that address"
            ),
            _ => format!("{role} cannot listen on {}: {}", self.addr, self.error),
        }
    }
}

/// Binds `addr` for `role`.
pub async fn listen(
    addr: SocketAddr,
    role: &'static str,
    flag: &'static str,
) -> Result<TcpListener, ListenError> {
    TcpListener::bind(addr).await.map_err(|error| ListenError {
        addr,
        role,
        flag,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_is_one_sentence_naming_the_port_and_the_option() {
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = taken.local_addr().expect("addr");
        let error = listen(addr, "the gateway", "--port")
            .await
            .expect_err("in use");
        let text = error.to_string();
        assert_eq!(
            text,
            format!(
                "port {} on 127.0.0.1 is already in use (another esb, or another server?): \
                 the gateway cannot listen there; choose another port with --port",
                addr.port()
            )
        );
        assert!(std::error::Error::source(&error).is_none());
    }
}
