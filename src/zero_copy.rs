//! Sending large response bodies with `sendfile(2)` instead of copying them into the
//! socket, the way nginx serves static files.
//!
//! hyper writes a response as a list of buffers: its own buffer with the status line
//! and headers, then the body's [`Bytes`] as they are, uncopied. A cached document's
//! identity body is [adopted](adopt) when it enters the cache: its memory is registered
//! under its address. The first time it is sent, [`prepare`] copies it once into a
//! sealed memory file (`memfd`), which nothing can change or resize afterwards. The
//! connection type [`Stream`] then sees, among the buffers hyper hands it, one that lies
//! inside a registered body with a file, and sends that range of the file with
//! `sendfile`; the kernel passes the file's pages to the socket without a copy.
//!
//! Why this is exact: a registered range is the live memory of one body, and its file
//! holds the same bytes. The registration is removed when the body's memory is freed
//! (the owner's `Drop`), and hyper holds a reference to the body for as long as it can
//! hand out a buffer inside it, so a buffer found in the registry is always that
//! body's bytes. Anything else (small bodies, compressed variants, HTTP/2, a body
//! without a file) is written with `writev` as before.
//!
//! The memory files cost open file descriptors and memory beside the heap copy.
//! Only identity bodies of at least [`MIN_LEN`] bytes that are actually sent get one,
//! at most a quarter of the open-file limit of them (`serve` raises its soft limit to
//! the hard one first); `/metrics` reports their number and size.

use axum::body::Bytes;
use std::collections::BTreeMap;
use std::io;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Bodies shorter than this are copied as before: their copy is small, and sending
/// from a file takes a second system call for the head. (Not tuned: the feeds this
/// was measured on are 188 KB; landing pages and short feeds stay below it.)
pub const MIN_LEN: usize = 32 * 1024;

/// A registered body: its length and, once it has been sent, its memory file
/// (`None` inside when the file could not be made).
#[derive(Debug)]
struct Region {
    len: usize,
    #[cfg(target_os = "linux")]
    file: OnceLock<Option<Arc<std::os::fd::OwnedFd>>>,
}

/// Registered bodies by the address of their first byte.
static REGIONS: RwLock<BTreeMap<usize, Arc<Region>>> = RwLock::new(BTreeMap::new());

/// Memory files open now, and their total size.
static FILES: AtomicUsize = AtomicUsize::new(0);
static FILE_BYTES: AtomicU64 = AtomicU64::new(0);
/// Body bytes the kernel took from memory files.
static SENT: AtomicU64 = AtomicU64::new(0);

/// What `/metrics` reports about zero-copy sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub files: usize,
    pub file_bytes: u64,
    pub sent_bytes: u64,
}

pub fn stats() -> Stats {
    Stats {
        files: FILES.load(Ordering::Relaxed),
        file_bytes: FILE_BYTES.load(Ordering::Relaxed),
        sent_bytes: SENT.load(Ordering::Relaxed),
    }
}

/// The owner of an adopted body's memory; dropping it unregisters the memory before
/// freeing it.
struct Owned(Vec<u8>);

impl AsRef<[u8]> for Owned {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let removed = REGIONS
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(self.0.as_ptr() as usize));
        #[cfg(target_os = "linux")]
        if let Some(region) = removed
            && let Some(Some(_)) = region.file.get()
        {
            FILES.fetch_sub(1, Ordering::Relaxed);
            FILE_BYTES.fetch_sub(region.len as u64, Ordering::Relaxed);
        }
        #[cfg(not(target_os = "linux"))]
        drop(removed);
    }
}

/// Registers `body` so that it can be sent without a copy; returns the same bytes.
/// Short bodies are returned as they are. Moving the bytes into the owner does not copy
/// them when `body` is the only reference to a vector, as a fresh render's is.
pub fn adopt(body: Bytes) -> Bytes {
    if !cfg!(target_os = "linux") || body.len() < MIN_LEN {
        return body;
    }
    let owned = Owned(Vec::from(body));
    let len = owned.0.len();
    let key = owned.0.as_ptr() as usize;
    let bytes = Bytes::from_owner(owned);
    debug_assert_eq!(bytes.as_ptr() as usize, key);
    let region = Region {
        len,
        #[cfg(target_os = "linux")]
        file: OnceLock::new(),
    };
    REGIONS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, Arc::new(region));
    bytes
}

/// Makes sure an adopted body about to be sent has its memory file. The first call
/// for a body copies it into the file; later calls only look it up. Does nothing for
/// a body that was not adopted.
pub fn prepare(body: &Bytes) {
    #[cfg(target_os = "linux")]
    {
        if body.len() < MIN_LEN {
            return;
        }
        // Once a body has its file (or has failed to get one), this is one lookup.
        let region = REGIONS
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(body.as_ptr() as usize))
            .filter(|r| r.len == body.len() && r.file.get().is_none())
            .cloned();
        // A body that finds the budget spent stays without a file for now and tries
        // again when next sent; one whose file could not be made stays without.
        if let Some(region) = region
            && FILES.load(Ordering::Relaxed) < file_budget()
        {
            region.file.get_or_init(|| sealed_file(body));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = body;
}

/// At most this many memory files are open at once.
#[cfg(target_os = "linux")]
fn file_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let current = limit.current.unwrap_or(1 << 20).min(1 << 20);
        usize::try_from(current / 4).unwrap_or(0)
    })
}

/// A sealed memory file holding `bytes`, or `None` (logged) when none can be made.
#[cfg(target_os = "linux")]
fn sealed_file(bytes: &[u8]) -> Option<Arc<std::os::fd::OwnedFd>> {
    use rustix::fs::{MemfdFlags, SealFlags};
    if FILES.fetch_add(1, Ordering::Relaxed) >= file_budget() {
        FILES.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    let made = (|| -> io::Result<std::os::fd::OwnedFd> {
        let fd = rustix::fs::memfd_create(
            "bridgecast-document",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        let mut file = std::fs::File::from(fd);
        io::Write::write_all(&mut file, bytes)?;
        let fd = std::os::fd::OwnedFd::from(file);
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
        )?;
        Ok(fd)
    })();
    match made {
        Ok(fd) => {
            FILE_BYTES.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            Some(Arc::new(fd))
        }
        Err(e) => {
            FILES.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "no memory file; the body is copied when sent");
            None
        }
    }
}

/// The first of `bufs` that lies in a registered body with a memory file: its index,
/// the file, and the buffer's offset in it.
#[cfg(target_os = "linux")]
fn find(bufs: &[IoSlice<'_>]) -> Option<(usize, Arc<std::os::fd::OwnedFd>, u64)> {
    let regions = REGIONS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if regions.is_empty() {
        return None;
    }
    bufs.iter().enumerate().find_map(|(i, buf)| {
        let start = buf.as_ptr() as usize;
        if buf.is_empty() {
            return None;
        }
        let (&base, region) = regions.range(..=start).next_back()?;
        if start + buf.len() > base + region.len {
            return None;
        }
        let file = region.file.get()?.as_ref()?;
        Some((i, file.clone(), (start - base) as u64))
    })
}

/// A TCP connection whose vectored writes send registered bodies with `sendfile`.
#[derive(Debug)]
pub struct Stream {
    tcp: TcpStream,
}

impl Stream {
    /// Wraps an accepted connection and turns Nagle's algorithm off, as nginx does on
    /// keep-alive connections. A response's head is held back with `MSG_MORE` until
    /// its body follows, so nothing leaves in tiny segments; with Nagle on, the last,
    /// short segment of each body would wait for the client's acknowledgement of the
    /// one before (measured with `sendfile`: about a third fewer requests per second).
    pub fn new(tcp: TcpStream) -> Self {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        Self { tcp }
    }

    /// Runs a non-blocking send until the socket takes something or fails.
    #[cfg(target_os = "linux")]
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.tcp.poll_write_ready(cx))?;
            match self
                .tcp
                .try_io(tokio::io::Interest::WRITABLE, || send(&self.tcp))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if let Some((i, file, offset)) = find(bufs) {
            if bufs[..i].iter().any(|b| !b.is_empty()) {
                // What comes before the body (the head): held back until the body
                // follows, so that both leave in full segments.
                return self.poll_send(cx, |tcp| {
                    let flags = rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL;
                    let mut control = rustix::net::SendAncillaryBuffer::default();
                    Ok(rustix::net::sendmsg(tcp, &bufs[..i], &mut control, flags)?)
                });
            }
            let len = bufs[i].len();
            let sent = std::task::ready!(self.poll_send(cx, |tcp| {
                let mut at = offset;
                Ok(rustix::fs::sendfile(tcp, &*file, Some(&mut at), len)?)
            }));
            match sent {
                Ok(n) if n > 0 => {
                    SENT.fetch_add(n as u64, Ordering::Relaxed);
                    return Poll::Ready(Ok(n));
                }
                // The file cannot be spliced into this socket: copy instead.
                Ok(_) => {}
                Err(e)
                    if matches!(
                        rustix::io::Errno::from_io_error(&e),
                        Some(
                            rustix::io::Errno::INVAL
                                | rustix::io::Errno::NOSYS
                                | rustix::io::Errno::OPNOTSUPP
                        )
                    ) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A TCP listener whose connections are [`Stream`]s, for `axum::serve`.
#[derive(Debug)]
pub struct Listener(pub TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Stream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Stream, std::net::SocketAddr) {
        let (tcp, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (Stream::new(tcp), addr)
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.local_addr()
    }
}

/// Raises the soft limit on open files to the hard one (capped at 2^20): the memory
/// files and the connections both need descriptors, and the usual soft limit of 1024
/// is meant for programs that do not ask.
pub fn raise_open_file_limit() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let cap = 1 << 20;
        let want = limit.maximum.unwrap_or(cap).min(cap);
        if limit.current.is_some_and(|c| c < want) {
            let raised = Rlimit {
                current: Some(want),
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(error = %e, "open-file limit stays as it is");
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn registered(ptr: *const u8) -> bool {
        REGIONS.read().unwrap().contains_key(&(ptr as usize))
    }

    /// Bytes in which every offset is told apart from its neighbours.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn a_body_stays_registered_until_its_last_reference_is_gone() {
        let body = adopt(Bytes::from(pattern(MIN_LEN + 1)));
        let ptr = body.as_ptr();
        assert!(registered(ptr));
        let slice = body.slice(100..200);
        drop(body);
        assert!(registered(ptr), "a slice still holds the memory");
        drop(slice);
        assert!(!registered(ptr));

        let short = Bytes::from(pattern(MIN_LEN - 1));
        let ptr = short.as_ptr();
        let kept = adopt(short);
        assert_eq!(
            kept.as_ptr(),
            ptr,
            "a short body is neither moved nor copied"
        );
        assert!(!registered(ptr));
    }

    /// Writes `head` and `body` the way hyper does: vectored, advancing by what each
    /// call took, through a send buffer small enough that most calls take part.
    async fn send_and_receive(head: &[u8], body: &Bytes) -> Vec<u8> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        rustix::net::sockopt::set_socket_send_buffer_size(&server, 4096).unwrap();
        let total = head.len() + body.len();
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut got = vec![0; total];
            client.read_exact(&mut got).await.unwrap();
            got
        });
        let mut stream = Stream::new(server);
        let mut done = 0;
        while done < total {
            let (h, b) = if done < head.len() {
                (&head[done..], &body[..])
            } else {
                (&head[..0], &body[done - head.len()..])
            };
            let bufs = [IoSlice::new(h), IoSlice::new(b)];
            let n = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_write_vectored(cx, &bufs))
                .await
                .unwrap();
            assert!(n > 0);
            done += n;
        }
        reader.await.unwrap()
    }

    #[tokio::test]
    async fn a_prepared_body_leaves_by_sendfile_and_arrives_byte_for_byte() {
        let body = adopt(Bytes::from(pattern(300_000)));
        prepare(&body);
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n";
        let before = stats().sent_bytes;
        let got = send_and_receive(head, &body).await;
        assert_eq!(&got[..head.len()], head);
        assert!(got[head.len()..] == body[..], "the body arrives unchanged");
        assert!(
            stats().sent_bytes - before >= body.len() as u64,
            "the body went through sendfile"
        );
    }

    #[tokio::test]
    async fn an_unprepared_or_unregistered_body_is_written_as_before() {
        for body in [
            adopt(Bytes::from(pattern(200_000))),
            Bytes::from(pattern(200_000)),
        ] {
            let got = send_and_receive(b"head\r\n", &body).await;
            assert_eq!(&got[..6], b"head\r\n");
            assert!(got[6..] == body[..]);
        }
    }
}
