//! loadgen: drives echo and chat servers over loopback for `make bench` and
//! verifies everything that comes back. One thread, non-blocking sockets on
//! its own level-triggered epoll (std + libc only, so it measures the
//! servers with the same tool whatever they are built on). Every run is
//! bounded in count and time. Results are one JSON line on stdout.
//!
//!   loadgen echo --addr A --conns C --size S --inflight K (--messages M | --seconds T)
//!   loadgen chat --addr A --receivers R --senders N --lines L [--window W] [--seconds T]
//!   loadgen idle --addr A --conns C --hold-seconds T [--check echo|chat|none]
//!                [--active K --size S --inflight I] [--wait-go]
//!
//! Only loopback addresses are accepted.

mod check;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const USAGE: &str = "usage:
  loadgen echo --addr A --conns C --size S --inflight K (--messages M | --seconds T)
  loadgen chat --addr A --receivers R --senders N --lines L [--window W] [--seconds T]
  loadgen idle --addr A --conns C --hold-seconds T [--check echo|chat|none]
               [--active K --size S --inflight I] [--wait-go]";

struct Args(Vec<String>);

impl Args {
    fn get<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        let i = self.0.iter().position(|a| a == name)?;
        let v = self.0.get(i + 1).unwrap_or_else(|| fail(&format!("{name} needs a value")));
        Some(v.parse().unwrap_or_else(|_| fail(&format!("bad value for {name}: {v}"))))
    }
    fn or<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.get(name).unwrap_or(default)
    }
    fn need<T: std::str::FromStr>(&self, name: &str) -> T {
        self.get(name).unwrap_or_else(|| fail(&format!("{name} is required\n{USAGE}")))
    }
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(1)
}

fn main() {
    let args = Args(std::env::args().collect());
    let mode = args.0.get(1).cloned().unwrap_or_default();
    if mode == "-h" || mode == "--help" {
        println!("{USAGE}");
        return;
    }
    raise_nofile();
    let addr: SocketAddr = args.need("--addr");
    if !addr.ip().is_loopback() {
        fail("only loopback addresses (127.0.0.0/8, ::1) are allowed");
    }
    match mode.as_str() {
        "echo" => {
            let messages: Option<u64> = args.get("--messages");
            let seconds: Option<f64> = args.get("--seconds");
            if messages.is_none() && seconds.is_none() {
                fail("echo needs --messages M or --seconds T");
            }
            echo_mode(
                addr,
                args.or("--conns", 50),
                args.or("--size", 64),
                args.or("--inflight", 1),
                messages,
                seconds,
            )
        }
        "chat" => chat_mode(
            addr,
            args.or("--receivers", 50),
            args.or("--senders", 5),
            args.or("--lines", 1000),
            args.or("--window", 64),
            args.or("--seconds", 120.0),
        ),
        "idle" => idle_mode(
            addr,
            &IdleOpts {
                conns: args.or("--conns", 1000),
                hold: args.get("--hold-seconds").or(args.get("--seconds")).unwrap_or(10.0),
                check: args.or("--check", "echo".to_string()),
                active: args.or("--active", 0),
                size: args.or("--size", 64),
                inflight: args.or("--inflight", 1),
                wait_go: args.flag("--wait-go"),
            },
        ),
        _ => fail(USAGE),
    }
}

/// CPU seconds (user + system) this process has used so far.
fn own_cpu() -> f64 {
    // SAFETY: getrusage fills the zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn raise_nofile() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A level-triggered epoll instance; tokens are u64.
struct Epoll {
    fd: i32,
    events: Vec<libc::epoll_event>,
    n: usize,
}

const IN: u32 = libc::EPOLLIN as u32;
const OUT: u32 = libc::EPOLLOUT as u32;

impl Epoll {
    fn new() -> Epoll {
        // SAFETY: plain syscall.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            fail(&format!("epoll_create1: {}", std::io::Error::last_os_error()));
        }
        Epoll { fd, events: vec![libc::epoll_event { events: 0, u64: 0 }; 512], n: 0 }
    }

    fn ctl(&self, op: i32, fd: i32, events: u32, token: u64) {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: valid epoll fd and event pointer.
        if unsafe { libc::epoll_ctl(self.fd, op, fd, &mut ev) } < 0 {
            fail(&format!("epoll_ctl: {}", std::io::Error::last_os_error()));
        }
    }

    fn add(&self, fd: i32, events: u32, token: u64) {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    fn modify(&self, fd: i32, events: u32, token: u64) {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events, token)
    }

    /// Waits up to `timeout` (None: 0) and returns how many events are ready.
    fn wait(&mut self, timeout: Duration) -> usize {
        let ms = timeout.as_millis().min(1000) as i32;
        // SAFETY: the buffer holds `len` events.
        let n = unsafe {
            libc::epoll_wait(self.fd, self.events.as_mut_ptr(), self.events.len() as i32, ms)
        };
        self.n = if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                fail(&format!("epoll_wait: {e}"));
            }
            0
        } else {
            n as usize
        };
        self.n
    }

    fn event(&self, i: usize) -> (u64, u32) {
        let ev = self.events[i];
        (ev.u64, ev.events)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: our own fd.
        unsafe { libc::close(self.fd) };
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| fail(&format!("connect {addr}: {e}")));
    s.set_nodelay(true).ok();
    s.set_nonblocking(true).unwrap_or_else(|e| fail(&format!("set_nonblocking: {e}")));
    s
}

enum Io {
    Data(usize),
    Eof,
    Again,
}

/// One non-blocking read; a reset counts as end of stream.
fn recv(mut s: &TcpStream, buf: &mut [u8]) -> Io {
    loop {
        match s.read(buf) {
            Ok(0) => return Io::Eof,
            Ok(n) => return Io::Data(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Io::Again,
            Err(_) => return Io::Eof,
        }
    }
}

/// Writes as much of `out[*pos..]` as the socket takes; clears `out` once
/// all is written. False when the connection is broken.
fn send(mut s: &TcpStream, out: &mut Vec<u8>, pos: &mut usize) -> bool {
    while *pos < out.len() {
        match s.write(&out[*pos..]) {
            Ok(n) => *pos += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    if *pos == out.len() {
        out.clear();
        *pos = 0;
    } else if *pos > 65536 {
        out.drain(..*pos);
        *pos = 0;
    }
    true
}

// ---------------------------------------------------------------- echo

struct EchoConn {
    s: TcpStream,
    /// Index in the pattern (distinct per connection).
    id: usize,
    out: Vec<u8>,
    pos: usize,
    queued: u64,
    recv: u64,
    stamps: VecDeque<Instant>,
    writing: bool,
}

impl EchoConn {
    fn new(s: TcpStream, id: usize) -> EchoConn {
        EchoConn {
            s,
            id,
            out: Vec::new(),
            pos: 0,
            queued: 0,
            recv: 0,
            stamps: VecDeque::new(),
            writing: false,
        }
    }
}

struct EchoResult {
    done: u64,
    secs: f64,
    lat_us: Vec<u32>,
    bytes: u64,
}

/// Runs echo traffic on `conns` (registered in `ep` with token = index):
/// `inflight` messages of `size` bytes outstanding per connection, until
/// `messages` have come back or `deadline` passes.
fn run_echo(
    ep: &mut Epoll,
    conns: &mut [EchoConn],
    size: usize,
    inflight: usize,
    messages: u64,
    deadline: Instant,
) -> EchoResult {
    let start = Instant::now();
    let mut queued = 0u64;
    let mut lat = Vec::with_capacity(messages.min(4_000_000) as usize);
    for c in conns.iter_mut() {
        for _ in 0..inflight {
            if queued < messages {
                queue_echo(c, size);
                queued += 1;
            }
        }
        flush_echo(ep, c);
    }
    let mut done = 0u64;
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 65536];
    while done < messages {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let n = ep.wait(deadline - now);
        for k in 0..n {
            let (token, ev) = ep.event(k);
            let c = &mut conns[token as usize];
            if ev & IN != 0 || ev & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                loop {
                    match recv(&c.s, &mut buf) {
                        Io::Data(n) => {
                            if let Some(off) = check::verify(c.id, size, c.recv, &buf[..n]) {
                                fail(&format!(
                                    "connection {}: wrong echoed byte at offset {off}",
                                    c.id
                                ));
                            }
                            let fresh = check::completed(size, c.recv, c.recv + n as u64);
                            c.recv += n as u64;
                            bytes += n as u64;
                            if c.recv > c.queued * size as u64 {
                                fail(&format!("connection {}: more bytes echoed than sent", c.id));
                            }
                            let now = Instant::now();
                            for _ in 0..fresh {
                                let t = c.stamps.pop_front().unwrap_or(now);
                                lat.push(
                                    now.duration_since(t).as_micros().min(u32::MAX as u128) as u32
                                );
                                done += 1;
                                if queued < messages {
                                    queue_echo(c, size);
                                    queued += 1;
                                }
                            }
                            if n < buf.len() {
                                break;
                            }
                        }
                        Io::Again => break,
                        Io::Eof => fail(&format!(
                            "the server closed echo connection {} after {} of {} bytes",
                            c.id,
                            c.recv,
                            c.queued * size as u64
                        )),
                    }
                }
            }
            flush_echo(ep, c);
        }
    }
    EchoResult { done, secs: start.elapsed().as_secs_f64(), lat_us: lat, bytes }
}

fn queue_echo(c: &mut EchoConn, size: usize) {
    check::fill(c.id, c.queued, size, &mut c.out);
    c.queued += 1;
    c.stamps.push_back(Instant::now());
}

fn flush_echo(ep: &Epoll, c: &mut EchoConn) {
    if !c.out.is_empty() && !send(&c.s, &mut c.out, &mut c.pos) {
        fail(&format!("echo connection {}: send failed", c.id));
    }
    let want = !c.out.is_empty();
    if want != c.writing {
        c.writing = want;
        let token = c.id as u64;
        ep.modify(c.s.as_raw_fd(), if want { IN | OUT } else { IN }, token);
    }
}

fn echo_mode(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    inflight: usize,
    messages: Option<u64>,
    seconds: Option<f64>,
) {
    if size == 0 || inflight == 0 || conns == 0 {
        fail("--conns, --size and --inflight must be positive");
    }
    let mut ep = Epoll::new();
    let mut cs: Vec<EchoConn> = (0..conns)
        .map(|i| {
            let s = connect(addr);
            ep.add(s.as_raw_fd(), IN, i as u64);
            EchoConn::new(s, i)
        })
        .collect();
    // --seconds alone: run that long; with --messages it is a safety limit.
    let limit = Duration::from_secs_f64(seconds.unwrap_or(600.0));
    let target = messages.unwrap_or(u64::MAX);
    let mut r = run_echo(&mut ep, &mut cs, size, inflight, target, Instant::now() + limit);
    r.lat_us.sort_unstable();
    let complete = messages.is_none_or(|m| r.done >= m);
    println!(
        "{{\"mode\":\"echo\",\"conns\":{conns},\"size\":{size},\"inflight\":{inflight},\"messages\":{},\"bytes_verified\":{},\"seconds\":{:.4},\"msgs_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{},\"complete\":{complete},\"loadgen_cpu_s\":{:.3}}}",
        r.done,
        r.bytes,
        r.secs,
        r.done as f64 / r.secs,
        check::percentile(&r.lat_us, 50.0),
        check::percentile(&r.lat_us, 99.0),
        own_cpu(),
    );
    if !complete {
        fail(&format!("only {} of {} messages came back in time", r.done, target));
    }
}

// ---------------------------------------------------------------- chat

struct ChatConn {
    s: TcpStream,
    line: Vec<u8>,
    order: check::Order,
    out: Vec<u8>,
    pos: usize,
    writing: bool,
    next_seq: u64,
    errors: u64,
    garbled: u64,
    closed: bool,
}

/// Clients of a chat server; client 0 tracks join notices.
struct Chat {
    ep: Epoll,
    cs: Vec<ChatConn>,
    /// Nick (the client's own ip:port) -> index.
    nicks: HashMap<String, usize>,
    /// Which clients client 0 has seen join.
    seen: Vec<bool>,
    seen_count: usize,
    buf: Vec<u8>,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            ep: Epoll::new(),
            cs: Vec::new(),
            nicks: HashMap::new(),
            seen: Vec::new(),
            seen_count: 0,
            buf: vec![0; 65536],
        }
    }

    /// Connects one more client, reading what the others got meanwhile.
    fn connect(&mut self, addr: SocketAddr) {
        let s = connect(addr);
        let i = self.cs.len();
        if let Ok(a) = s.local_addr() {
            self.nicks.insert(a.to_string(), i);
        }
        self.ep.add(s.as_raw_fd(), IN, i as u64);
        self.cs.push(ChatConn {
            s,
            line: Vec::new(),
            order: check::Order::default(),
            out: Vec::new(),
            pos: 0,
            writing: false,
            next_seq: 0,
            errors: 0,
            garbled: 0,
            closed: false,
        });
        self.seen.push(false);
        self.poll(Duration::ZERO);
    }

    /// Every client but the first is known to be in the server's table
    /// (client 0 saw its join notice; the server announces a client once
    /// it is registered, and accepts in connection order).
    fn all_joined(&self) -> bool {
        self.seen_count + 1 >= self.cs.len()
    }

    /// Waits for readiness once and handles it.
    fn poll(&mut self, timeout: Duration) {
        let n = self.ep.wait(timeout);
        for k in 0..n {
            let (token, ev) = self.ep.event(k);
            let i = token as usize;
            if ev & OUT != 0 {
                self.flush(i);
            }
            if ev & !OUT != 0 {
                self.read(i);
            }
        }
    }

    fn read(&mut self, i: usize) {
        loop {
            let n = match recv(&self.cs[i].s, &mut self.buf) {
                Io::Data(n) => n,
                Io::Again => return,
                Io::Eof => {
                    let c = &mut self.cs[i];
                    if !c.closed {
                        c.closed = true;
                        // Stop watching it (a closed socket stays readable).
                        self.ep.modify(c.s.as_raw_fd(), 0, i as u64);
                    }
                    return;
                }
            };
            for k in 0..n {
                let b = self.buf[k];
                if b != b'\n' {
                    self.cs[i].line.push(b);
                    continue;
                }
                let line = std::mem::take(&mut self.cs[i].line);
                match check::classify(&line) {
                    check::Line::Relay { sender, seq } => self.cs[i].order.see(sender, seq),
                    check::Line::Joined(nick) => {
                        if i == 0 {
                            if let Some(&j) = self.nicks.get(nick) {
                                if j != 0 && !self.seen[j] {
                                    self.seen[j] = true;
                                    self.seen_count += 1;
                                }
                            }
                        }
                    }
                    check::Line::Notice => {}
                    check::Line::Error => self.cs[i].errors += 1,
                    check::Line::Garbled => {
                        if self.cs[i].garbled == 0 {
                            eprintln!(
                                "loadgen: client {i} got {:?}",
                                String::from_utf8_lossy(&line)
                            );
                        }
                        self.cs[i].garbled += 1;
                    }
                }
                let mut line = line;
                line.clear();
                self.cs[i].line = line;
            }
            if n < self.buf.len() {
                return;
            }
        }
    }

    fn flush(&mut self, i: usize) {
        let c = &mut self.cs[i];
        if c.closed {
            return;
        }
        if !c.out.is_empty() && !send(&c.s, &mut c.out, &mut c.pos) {
            c.closed = true;
            return;
        }
        let want = !c.out.is_empty();
        if want != c.writing {
            c.writing = want;
            self.ep.modify(c.s.as_raw_fd(), if want { IN | OUT } else { IN }, i as u64);
        }
    }

    fn closed(&self) -> usize {
        self.cs.iter().filter(|c| c.closed).count()
    }
}

fn chat_mode(
    addr: SocketAddr,
    receivers: usize,
    senders: usize,
    lines: u64,
    window: u64,
    seconds: f64,
) {
    let total = receivers + senders;
    if senders == 0 || total < 2 || window == 0 {
        fail("chat needs at least one sender, two clients and --window > 0");
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut chat = Chat::new();
    for _ in 0..total {
        chat.connect(addr);
    }
    while !chat.all_joined() && chat.closed() == 0 {
        if Instant::now() >= deadline {
            fail(&format!(
                "client 0 saw only {} of {} join notices (`* ip:port joined`)",
                chat.seen_count,
                total - 1
            ));
        }
        chat.poll(Duration::from_millis(100));
    }
    if chat.closed() > 0 {
        fail(&format!(
            "the server closed {} of {total} chat connections while joining",
            chat.closed()
        ));
    }
    // Senders are clients 0..senders; each line goes to the other total-1.
    let expected = lines * senders as u64 * (total as u64 - 1);
    let delivered = |chat: &Chat| chat.cs.iter().map(|c| c.order.delivered).sum::<u64>();
    let start = Instant::now();
    let mut last_delivery = start;
    let mut got = 0;
    while got < expected && Instant::now() < deadline && chat.closed() == 0 {
        // A sender may run `window` lines ahead of its slowest listener.
        for s in 0..senders {
            let slowest = chat
                .cs
                .iter()
                .enumerate()
                .filter(|&(r, _)| r != s)
                .map(|(_, c)| c.order.next_of(s))
                .min()
                .unwrap_or(lines);
            let c = &mut chat.cs[s];
            let before = c.next_seq;
            while c.next_seq < lines && c.next_seq < slowest + window {
                writeln!(c.out, "m {s} {}", c.next_seq).ok();
                c.next_seq += 1;
            }
            if c.next_seq != before {
                chat.flush(s);
            }
        }
        chat.poll(Duration::from_millis(100));
        let now_got = delivered(&chat);
        if now_got != got {
            got = now_got;
            last_delivery = Instant::now();
        }
    }
    let secs = last_delivery.duration_since(start).as_secs_f64().max(1e-9);
    let dups: u64 = chat.cs.iter().map(|c| c.order.duplicates).sum();
    let gaps: u64 = chat.cs.iter().map(|c| c.order.gaps).sum();
    let errors: u64 = chat.cs.iter().map(|c| c.errors).sum();
    let garbled: u64 = chat.cs.iter().map(|c| c.garbled).sum();
    let missing: u64 = (0..total)
        .map(|me| chat.cs[me].order.missing((0..senders).filter(|&s| s != me), lines))
        .sum();
    let closed = chat.closed();
    println!(
        "{{\"mode\":\"chat\",\"receivers\":{receivers},\"senders\":{senders},\"lines\":{lines},\"deliveries\":{got},\"expected\":{expected},\"seconds\":{secs:.4},\"deliveries_per_sec\":{:.1},\"missing\":{missing},\"duplicates\":{dups},\"gaps\":{gaps},\"server_errors\":{errors},\"garbled\":{garbled},\"closed\":{closed},\"loadgen_cpu_s\":{:.3}}}",
        got as f64 / secs,
        own_cpu()
    );
    if missing > 0 || dups > 0 || gaps > 0 || garbled > 0 || closed > 0 {
        fail("chat deliveries were lost, duplicated, reordered or garbled (see the JSON line)");
    }
}

// ---------------------------------------------------------------- idle

struct IdleOpts {
    conns: usize,
    hold: f64,
    check: String,
    active: usize,
    size: usize,
    inflight: usize,
    wait_go: bool,
}

/// Opens `conns` connections and holds them idle; `--check echo` first
/// pings each with one byte (so every one is known to be registered),
/// `--check chat` waits for client 0 to see every join notice. With
/// `--active K`, K more connections do echo traffic during the hold.
/// Prints a `ready` line, then (after a line on stdin with `--wait-go`) the
/// hold, then the result line; with `--wait-go` it keeps the connections
/// until stdin closes, so the caller can sample the server first.
fn idle_mode(addr: SocketAddr, o: &IdleOpts) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut chat = Chat::new();
    let mut buf = [0u8; 4096];
    let (alive, closed) = match o.check.as_str() {
        "chat" => {
            for _ in 0..o.conns {
                chat.connect(addr);
            }
            while !chat.all_joined() && chat.closed() == 0 && Instant::now() < deadline {
                chat.poll(Duration::from_millis(100));
            }
            let closed = chat.closed();
            let alive =
                if chat.all_joined() { o.conns - closed } else { chat.seen_count + 1 - closed };
            (alive, closed)
        }
        "echo" | "none" => {
            let ping = o.check == "echo";
            for i in 0..o.conns {
                let s = connect(addr);
                chat.ep.add(s.as_raw_fd(), IN, i as u64);
                if ping {
                    (&s).write_all(b".").unwrap_or_else(|e| fail(&format!("ping: {e}")));
                }
                chat.cs.push(ChatConn {
                    s,
                    line: Vec::new(),
                    order: check::Order::default(),
                    out: Vec::new(),
                    pos: 0,
                    writing: false,
                    next_seq: 0,
                    errors: 0,
                    garbled: 0,
                    closed: false,
                });
            }
            // Each connection's `next_seq` counts the bytes it got back.
            let mut answered = 0;
            let mut closed = 0;
            while ping && answered + closed < o.conns && Instant::now() < deadline {
                let n = chat.ep.wait(Duration::from_millis(100));
                for k in 0..n {
                    let i = chat.ep.event(k).0 as usize;
                    let c = &mut chat.cs[i];
                    match recv(&c.s, &mut buf) {
                        Io::Data(n) => {
                            if c.next_seq == 0 {
                                answered += 1;
                            }
                            c.next_seq += n as u64;
                        }
                        Io::Eof => {
                            if c.next_seq > 0 {
                                answered -= 1;
                            }
                            closed += 1;
                            c.closed = true;
                            chat.ep.modify(c.s.as_raw_fd(), 0, i as u64);
                        }
                        Io::Again => {}
                    }
                }
            }
            (if ping { answered } else { o.conns }, closed)
        }
        other => fail(&format!("--check must be echo, chat or none, not {other}")),
    };
    // The active connections come last, so they do not count among the
    // fds that had to be registered first.
    let mut aep = Epoll::new();
    let mut actives: Vec<EchoConn> = (0..o.active)
        .map(|i| {
            let s = connect(addr);
            aep.add(s.as_raw_fd(), IN, i as u64);
            EchoConn::new(s, i)
        })
        .collect();
    println!(
        "{{\"mode\":\"idle-ready\",\"conns\":{},\"alive\":{alive},\"closed\":{closed},\"active\":{}}}",
        o.conns, o.active
    );
    std::io::stdout().flush().ok();
    if o.wait_go {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok();
    }
    let hold = Duration::from_secs_f64(o.hold);
    let t0 = Instant::now();
    let mut r = if o.active > 0 {
        run_echo(&mut aep, &mut actives, o.size, o.inflight, u64::MAX, t0 + hold)
    } else {
        // Only drain what the server sends (chat notices) and watch for
        // closed connections.
        while t0.elapsed() < hold {
            chat.poll(hold.saturating_sub(t0.elapsed()));
        }
        EchoResult { done: 0, secs: t0.elapsed().as_secs_f64(), lat_us: Vec::new(), bytes: 0 }
    };
    // Closed during the hold? (A closed connection is reported once: it is
    // then no longer watched, so this ends.)
    loop {
        chat.poll(Duration::ZERO);
        if chat.ep.n == 0 {
            break;
        }
    }
    let closed_after = chat.closed();
    r.lat_us.sort_unstable();
    println!(
        "{{\"mode\":\"idle\",\"conns\":{},\"alive\":{alive},\"closed\":{closed_after},\"active\":{},\"seconds\":{:.4},\"messages\":{},\"msgs_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{}}}",
        o.conns,
        o.active,
        r.secs,
        r.done,
        r.done as f64 / r.secs,
        check::percentile(&r.lat_us, 50.0),
        check::percentile(&r.lat_us, 99.0),
    );
    std::io::stdout().flush().ok();
    if o.wait_go {
        let mut sink = Vec::new();
        std::io::stdin().lock().read_to_end(&mut sink).ok();
    }
}
