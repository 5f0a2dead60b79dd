//! A real (plain-text, no TLS) SMTP server for integration tests and benchmarks.
//!
//! Self-contained: depends on `std` only, so it can be dropped into
//! `tests/common/smtp.rs` or `#[path]`-included by an example.
//!
//! Implements the RFC 5321 subset a submission client needs: EHLO/HELO,
//! MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT
//! (plus VRFY -> 252). One OS thread per connection, blocking I/O.
//!
//! A message is counted only once the server is about to acknowledge the
//! final "." with 250 *and* the client is still waiting for that reply
//! (checked after the optional [`SmtpServer::set_data_delay`]). Not counted:
//! the connection drops during DATA or before the reply, or the client sends
//! QUIT before the reply (what lettre's pool does when it aborts the
//! connection of a cancelled send once the transport is dropped).
//! Caveat: if a send future is cancelled but the lettre transport stays
//! alive, lettre parks the half-used connection back in its pool; the server
//! cannot tell that apart from a slow reader and counts the message.
//!
//! [`SmtpServer::wait_for`] blocks the calling thread: from an async test use
//! `#[tokio::test(flavor = "multi_thread")]` or call it once the sends you are
//! waiting for have been spawned on other tasks.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A message the server fully accepted (answered 250 to the final ".").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Reverse path from MAIL FROM (without angle brackets, "" for `<>`).
    pub from: String,
    /// Accepted forward paths from RCPT TO, in command order.
    pub to: Vec<String>,
    /// Full raw message (headers + body) after dot-unstuffing, CRLF line
    /// endings, without the terminating ".\r\n".
    pub data: String,
}

/// How the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Normal operation.
    Accept,
    /// New connections get "421" as greeting and are closed; on already open
    /// connections the end of DATA gets "451". Both are transient for clients.
    RefuseTemporarily,
    /// Every RCPT TO gets "550" (permanent).
    RejectPermanently,
}

impl Mode {
    fn to_u8(self) -> u8 {
        match self {
            Mode::Accept => 0,
            Mode::RefuseTemporarily => 1,
            Mode::RejectPermanently => 2,
        }
    }

    fn from_u8(v: u8) -> Mode {
        match v {
            1 => Mode::RefuseTemporarily,
            2 => Mode::RejectPermanently,
            _ => Mode::Accept,
        }
    }
}

struct Shared {
    mode: AtomicU8,
    data_delay_nanos: AtomicU64,
    store_bodies: bool,
    rejected: Mutex<HashSet<String>>,
    received: Mutex<Vec<Received>>,
    /// Sign-in links (Message-ID `<sign-in.…>`), filed apart like a mail client's
    /// folder: tests about participants' mail count only theirs.
    sign_ins: Mutex<Vec<Received>>,
    count: AtomicUsize,
    attempts: AtomicUsize,
    stopping: AtomicBool,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn_id: AtomicU64,
}

impl Shared {
    fn mode(&self) -> Mode {
        Mode::from_u8(self.mode.load(Ordering::SeqCst))
    }
}

/// Lock ignoring poisoning (a panicking test thread must not cascade).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running SMTP server on 127.0.0.1. Dropping it closes the listener and
/// shuts down every open client connection.
pub struct SmtpServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Binds 127.0.0.1 on an ephemeral port, stores every accepted message.
    pub fn start() -> SmtpServer {
        Self::spawn(0, true)
    }

    /// Binds 127.0.0.1:`port` (e.g. to bring a server back on the port of a
    /// dropped one). Retries for up to 5 s while the port is still in use.
    pub fn start_on(port: u16) -> SmtpServer {
        Self::spawn(port, true)
    }

    /// Benchmark sink: like [`SmtpServer::start`] but only counts messages;
    /// bodies/envelopes are not stored, so [`SmtpServer::received`] is empty.
    pub fn start_counting() -> SmtpServer {
        Self::spawn(0, false)
    }

    fn spawn(port: u16, store_bodies: bool) -> SmtpServer {
        let listener = bind_with_retry(port);
        let addr = listener.local_addr().expect("smtp harness: local_addr");
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(Mode::Accept.to_u8()),
            data_delay_nanos: AtomicU64::new(0),
            store_bodies,
            rejected: Mutex::new(HashSet::new()),
            received: Mutex::new(Vec::new()),
            sign_ins: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            attempts: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn_id: AtomicU64::new(0),
        });
        let acceptor_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("smtp-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, acceptor_shared))
            .expect("smtp harness: spawn acceptor thread");
        SmtpServer {
            shared,
            addr,
            acceptor: Some(acceptor),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// "smtp://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode.to_u8(), Ordering::SeqCst);
    }

    /// RCPT TO for this address (case-insensitive) gets "550 5.1.1"; other
    /// recipients are still accepted.
    pub fn reject_recipient(&self, address: &str) {
        lock(&self.shared.rejected).insert(address.to_ascii_lowercase());
    }

    /// Accepts this address again after [`Self::reject_recipient`].
    pub fn accept_recipient(&self, address: &str) {
        lock(&self.shared.rejected).remove(&address.to_ascii_lowercase());
    }

    /// Sleep this long before answering the final "." of DATA.
    pub fn set_data_delay(&self, delay: Duration) {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.shared.data_delay_nanos.store(nanos, Ordering::SeqCst);
    }

    /// Messages fully accepted, in acceptance order (empty for `start_counting`).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Messages accepted from index `start` on, in acceptance order: a long run polls
    /// for new mail without copying everything received so far each time.
    pub fn received_from(&self, start: usize) -> Vec<Received> {
        let received = lock(&self.shared.received);
        received
            .get(start..)
            .map(<[Received]>::to_vec)
            .unwrap_or_default()
    }

    /// Sign-in messages accepted, in acceptance order.
    pub fn sign_ins(&self) -> Vec<Received> {
        lock(&self.shared.sign_ins).clone()
    }

    /// Polls until a sign-in message to `address` arrives; its link's path
    /// (`/login/{token}`).
    pub fn sign_in_path(&self, address: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .sign_ins()
                .into_iter()
                .rev()
                .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
                .and_then(|m| login_path(&m.data));
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Number of messages fully accepted.
    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// Polls until at least `n` messages were accepted or `timeout` elapsed;
    /// returns whatever was received by then. Blocks the calling thread.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        while self.count() < n && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        self.received()
    }

    /// Refusals sent so far: 421 greetings, 451 at end of DATA and 550 to
    /// RCPT TO (one per refused recipient).
    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread exits and closes the listener.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        // If the wake-up connect failed, detach rather than block forever.
        if let (true, Some(handle)) = (woke, self.acceptor.take()) {
            let _ = handle.join();
        }
        for (_, stream) in lock(&self.shared.conns).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn bind_with_retry(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => return listener,
            Err(e)
                if port != 0 && e.kind() == ErrorKind::AddrInUse && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("smtp harness: cannot bind 127.0.0.1:{port}: {e}"),
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match conn {
            Ok(stream) => stream,
            Err(_) => {
                // e.g. EMFILE; avoid a hot loop
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("smtp-conn".into())
            .spawn(move || handle_connection(shared, stream));
    }
}

fn handle_connection(shared: Arc<Shared>, stream: TcpStream) {
    let id = shared.next_conn_id.fetch_add(1, Ordering::Relaxed);
    {
        let mut conns = lock(&shared.conns);
        // Checked under the lock so Drop's sweep cannot miss this connection.
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        match stream.try_clone() {
            Ok(clone) => {
                conns.insert(id, clone);
            }
            Err(_) => return,
        }
    }
    let _ = stream.set_nodelay(true);
    let mut session = Session {
        shared: &shared,
        stream,
        buf: Vec::with_capacity(16 * 1024),
        start: 0,
        from: None,
        to: Vec::new(),
    };
    let _ = session.run();
    let _ = session.stream.shutdown(Shutdown::Both);
    lock(&shared.conns).remove(&id);
}

const EHLO_EXTENSIONS: &str = "250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n";

struct Session<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    /// Read buffer; unread bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    from: Option<String>,
    to: Vec<String>,
}

impl Session<'_> {
    fn reply(&mut self, text: &str) -> io::Result<()> {
        self.stream.write_all(text.as_bytes())
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    /// Reads more bytes into the buffer; Ok(0) means EOF.
    fn fill(&mut self) -> io::Result<usize> {
        quick_ack(&self.stream);
        let old = self.buf.len();
        self.buf.resize(old + 8192, 0);
        loop {
            match self.stream.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
    }

    /// Next line (including its "\n") as a range of `buf`; None on EOF.
    fn next_line(&mut self) -> io::Result<Option<(usize, usize)>> {
        let mut scanned = self.start;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let line = (self.start, scanned + i + 1);
                self.start = line.1;
                return Ok(Some(line));
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            scanned = self.buf.len();
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    /// True if the client closed the connection (or it errored). Reads any
    /// pending bytes into the buffer without blocking so a FIN queued behind
    /// them (e.g. QUIT sent by an aborting client) is seen too.
    fn peer_gone(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return true;
        }
        let gone = loop {
            match self.fill() {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        self.stream.set_nonblocking(false).is_err() || gone
    }

    /// True if the client already sent QUIT although it had to wait for our
    /// reply (PIPELINING is not advertised).
    fn quit_pending(&mut self) -> bool {
        let pending = &self.buf[self.start..];
        pending.len() >= 4 && pending[..4].eq_ignore_ascii_case(b"QUIT")
    }

    fn run(&mut self) -> io::Result<()> {
        if self.shared.mode() == Mode::RefuseTemporarily {
            self.shared.attempts.fetch_add(1, Ordering::SeqCst);
            return self.reply("421 4.3.2 Service not available, closing transmission channel\r\n");
        }
        self.reply("220 127.0.0.1 ESMTP smtp-harness ready\r\n")?;
        while let Some((s, e)) = self.next_line()? {
            let line = String::from_utf8_lossy(&self.buf[s..e]);
            let line = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match line.find(' ') {
                Some(i) => (&line[..i], line[i + 1..].trim()),
                None => (line, ""),
            };
            let verb = verb.to_ascii_uppercase();
            let arg = arg.to_string();
            match verb.as_str() {
                "EHLO" => {
                    self.reset();
                    let text = format!("250-127.0.0.1 greets {arg}\r\n{EHLO_EXTENSIONS}");
                    self.reply(&text)?;
                }
                "HELO" => {
                    self.reset();
                    self.reply("250 127.0.0.1\r\n")?;
                }
                "MAIL" => match strip_prefix_ci(&arg, "FROM:").and_then(parse_path) {
                    Some(from) => {
                        self.reset();
                        self.from = Some(from);
                        self.reply("250 2.1.0 Ok\r\n")?;
                    }
                    None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>\r\n")?,
                },
                "RCPT" => self.rcpt(&arg)?,
                "DATA" => self.data()?,
                "RSET" => {
                    self.reset();
                    self.reply("250 2.0.0 Ok\r\n")?;
                }
                "NOOP" => self.reply("250 2.0.0 Ok\r\n")?,
                "VRFY" => self.reply("252 2.1.5 Cannot VRFY user\r\n")?,
                "QUIT" => {
                    self.reply("221 2.0.0 Bye\r\n")?;
                    return Ok(());
                }
                _ => self.reply("500 5.5.2 Command not recognized\r\n")?,
            }
        }
        Ok(())
    }

    fn rcpt(&mut self, arg: &str) -> io::Result<()> {
        if self.from.is_none() {
            return self.reply("503 5.5.1 Bad sequence of commands: MAIL first\r\n");
        }
        let Some(to) = strip_prefix_ci(arg, "TO:").and_then(parse_path) else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>\r\n");
        };
        if self.shared.mode() == Mode::RejectPermanently {
            self.shared.attempts.fetch_add(1, Ordering::SeqCst);
            return self.reply("550 5.7.1 Recipient rejected (harness mode)\r\n");
        }
        if lock(&self.shared.rejected).contains(&to.to_ascii_lowercase()) {
            self.shared.attempts.fetch_add(1, Ordering::SeqCst);
            let text = format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown\r\n");
            return self.reply(&text);
        }
        self.to.push(to);
        self.reply("250 2.1.5 Ok\r\n")
    }

    fn data(&mut self) -> io::Result<()> {
        if self.from.is_none() || self.to.is_empty() {
            return self.reply("503 5.5.1 Bad sequence of commands: need MAIL and RCPT\r\n");
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>\r\n")?;
        let store = self.shared.store_bodies;
        let mut body = Vec::new();
        loop {
            let Some((s, e)) = self.next_line()? else {
                // Connection dropped mid-DATA: nothing is counted.
                return Err(ErrorKind::UnexpectedEof.into());
            };
            let line = &self.buf[s..e];
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            if store {
                body.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            }
        }
        let from = self.from.take().unwrap_or_default();
        let to = std::mem::take(&mut self.to);

        let delay = self.shared.data_delay_nanos.load(Ordering::SeqCst);
        if delay > 0 {
            thread::sleep(Duration::from_nanos(delay));
        }
        if self.shared.mode() == Mode::RefuseTemporarily {
            self.shared.attempts.fetch_add(1, Ordering::SeqCst);
            return self.reply("451 4.3.0 Temporary failure, try again later\r\n");
        }
        if self.peer_gone() {
            return Err(ErrorKind::ConnectionAborted.into());
        }
        if self.quit_pending() {
            // The client gave up waiting for the reply (lettre's abort() of a
            // cancelled send does exactly this): the message is abandoned.
            return self.reply("451 4.3.0 Message abandoned by client\r\n");
        }
        // Record before replying so a client that saw 250 always finds it.
        let data = String::from_utf8_lossy(&body).into_owned();
        if is_sign_in(&data) {
            lock(&self.shared.sign_ins).push(Received { from, to, data });
        } else if store {
            let mut received = lock(&self.shared.received);
            received.push(Received { from, to, data });
            self.shared.count.fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared.count.fetch_add(1, Ordering::SeqCst);
        }
        self.reply("250 2.0.0 Ok: queued\r\n")
    }
}

/// Linux: ACK incoming data immediately instead of delaying it (up to 40 ms).
/// lettre writes the message body and the final "\r\n.\r\n" as two writes
/// without TCP_NODELAY, so with a delayed ACK Nagle holds back the terminator
/// and every message costs ~40 ms. The kernel drops quick-ack mode again
/// after a while, so it is re-armed before every read.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
    }
    const IPPROTO_TCP: i32 = 6;
    const TCP_QUICKACK: i32 = 12;
    let one: i32 = 1;
    // SAFETY: valid open fd, pointer to a live i32 and its exact size.
    unsafe {
        setsockopt(stream.as_raw_fd(), IPPROTO_TCP, TCP_QUICKACK, &one, 4);
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim_start())
}

/// "<addr> PARAMS" or "addr PARAMS" -> "addr" ("<>" -> "").
fn parse_path(s: &str) -> Option<String> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        Some(rest[..end].to_string())
    } else {
        let addr = s.split_whitespace().next()?;
        Some(addr.to_string())
    }
}

/// Whether a raw message is a sign-in link (its Message-ID says so).
fn is_sign_in(data: &str) -> bool {
    data.lines()
        .take_while(|l| !l.is_empty())
        .any(|l| l.to_ascii_lowercase().starts_with("message-id: <sign-in."))
}

/// The `/login/{token}` path in a sign-in message's plain-text part.
pub fn login_path(data: &str) -> Option<String> {
    let parsed = mailparse::parse_mail(data.as_bytes()).ok()?;
    let mut texts = vec![parsed.get_body().unwrap_or_default()];
    texts.extend(parsed.subparts.iter().filter_map(|p| p.get_body().ok()));
    texts.iter().find_map(|text| {
        let at = text.find("/login/")?;
        let token: String = text[at + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then(|| format!("/login/{token}"))
    })
}
