//! A worker's own network namespace, created by the box: a dedicated thread unshares a new
//! network namespace, brings its loopback up, binds the worker's listeners there (a socket
//! stays in the namespace it was created in, whichever thread uses it later) and spawns the
//! worker's init, which inherits the namespace. No relay sits between the runtime and its
//! Runtime API: the box serves the listener directly.
//!
//! The thread exists only for this and then ends, so that no thread of the box's runtime is
//! ever left in a worker's namespace.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};

/// Runs `work` on a new thread in a new network namespace whose loopback is up, with the
/// caller's tokio runtime entered (so `work` can spawn tokio processes), and returns its
/// result. `work` gets the listeners bound at `addrs`, in the same order.
pub(super) async fn in_new_namespace<T: Send + 'static>(
    addrs: Vec<SocketAddr>,
    work: impl FnOnce(Vec<TcpListener>) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let handle = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("esb-netns".into())
        .spawn(move || {
            let _runtime = handle.enter();
            let result = enter_new_namespace().and_then(|()| {
                let listeners = addrs
                    .iter()
                    .map(|addr| {
                        TcpListener::bind(addr)
                            .map_err(|e| format!("cannot listen on {addr} in the worker: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                work(listeners)
            });
            let _ = done_tx.send(result);
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    done_rx
        .await
        .map_err(|_| "the network namespace thread ended without an answer".to_string())?
}

/// Moves the calling thread into a new network namespace and brings its loopback up.
fn enter_new_namespace() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot create a network namespace: {e}"))?;
    loopback_up().map_err(|e| format!("cannot bring the worker's loopback up: {e}"))
}

/// Whether this host lets the box create network namespaces (tried on a throwaway thread).
pub(super) fn supported() -> Result<(), String> {
    std::thread::spawn(enter_new_namespace)
        .join()
        .unwrap_or_else(|_| Err("the probe thread panicked".into()))
}

/// `ip link set lo up`, as one rtnetlink request: an `RTM_NEWLINK` for interface 1 (the
/// loopback of a new namespace) setting `IFF_UP`, answered by an acknowledgement.
fn loopback_up() -> nix::Result<()> {
    const RTM_NEWLINK: u16 = 16;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const NLMSG_ERROR: u16 = 2;
    const IFF_UP: u32 = 1;
    const LOOPBACK_INDEX: i32 = 1;
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    let mut message = Vec::with_capacity(32);
    message.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    message.extend_from_slice(&RTM_NEWLINK.to_ne_bytes()); // nlmsg_type
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes()); // nlmsg_flags
    message.extend_from_slice(&1u32.to_ne_bytes()); // nlmsg_seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel assigns it
    message.extend_from_slice(&[0, 0]); // ifi_family AF_UNSPEC, padding
    message.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    message.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes()); // ifi_index
    message.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    message.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    sendto(
        fd.as_raw_fd(),
        &message,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut answer = [0u8; 512];
    let read = recv(fd.as_raw_fd(), &mut answer, MsgFlags::empty())?;
    // nlmsghdr (16 bytes) of type NLMSG_ERROR, then the error code: 0 is the acknowledgement.
    let field = |at: usize, len: usize| answer.get(at..at + len).filter(|_| at + len <= read);
    let kind = field(4, 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let code = field(16, 4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (kind, code) {
        (Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (Some(NLMSG_ERROR), Some(code)) => Err(nix::errno::Errno::from_raw(-code)),
        _ => Err(nix::errno::Errno::EPROTO),
    }
}
