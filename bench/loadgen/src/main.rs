//! loadgen: drives echo and chat servers over loopback and verifies what
//! comes back. One thread, one picosel epoll selector, bounded in count and
//! time. Prints one JSON line.
//!
//!   loadgen echo --addr A --conns C --size S --inflight K --messages M [--seconds T]
//!   loadgen chat --addr A --receivers R --senders N --lines L [--window W] [--seconds T]
//!   loadgen idle --addr A --conns C --seconds T [--active A --size S]

mod check;

use picosel::{EpollSelector, Events};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const CAP: usize = 16384;
type Sel = EpollSelector<usize, CAP>;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: Option<T>) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| fail(&format!("bad value for {name}"))),
        None => default.unwrap_or_else(|| fail(&format!("{name} is required"))),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    raise_nofile();
    let addr: SocketAddr = arg(&args, "--addr", None);
    let limit = Duration::from_secs_f64(arg(&args, "--seconds", Some(60.0)));
    match mode.as_str() {
        "echo" => echo(
            addr,
            arg(&args, "--conns", Some(50)),
            arg(&args, "--size", Some(64)),
            arg(&args, "--inflight", Some(1)),
            arg(&args, "--messages", Some(100_000)),
            limit,
        ),
        "chat" => chat(
            addr,
            arg(&args, "--receivers", Some(50)),
            arg(&args, "--senders", Some(5)),
            arg(&args, "--lines", Some(1000)),
            arg(&args, "--window", Some(32)),
            limit,
        ),
        "idle" => idle(
            addr,
            arg(&args, "--conns", Some(1000)),
            arg(&args, "--active", Some(0)),
            arg(&args, "--size", Some(64)),
            limit,
        ),
        _ => fail("usage: loadgen echo|chat|idle --addr ADDR:PORT [options] (see the source)"),
    }
}

fn raise_nofile() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointers to a rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn new_selector() -> Box<Sel> {
    Box::new(Sel::new())
}

/// Connects (blocking connect, then non-blocking use).
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| fail(&format!("connect {addr}: {e}")));
    s.set_nodelay(true).ok();
    s.set_nonblocking(true).unwrap();
    s
}

/// Non-blocking read: Some(n) (0 = EOF), None when nothing is there.
fn try_recv(mut s: &TcpStream, buf: &mut [u8]) -> Option<usize> {
    match s.read(buf) {
        Ok(n) => Some(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => None,
        Err(e) => fail(&format!("recv: {e}")),
    }
}

/// Non-blocking write of a prefix of `out`, removed once sent.
fn try_send(mut s: &TcpStream, out: &mut Vec<u8>) {
    match s.write(out) {
        Ok(n) => drop(out.drain(..n)),
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
        Err(e) => fail(&format!("send: {e}")),
    }
}

struct EchoConn {
    s: TcpStream,
    out: Vec<u8>,
    sent_msgs: u64,
    recv_bytes: u64,
    stamps: VecDeque<Instant>,
}

fn echo(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    inflight: usize,
    messages: u64,
    limit: Duration,
) {
    let mut sel = new_selector();
    let mut cs: Vec<EchoConn> = Vec::new();
    for i in 0..conns {
        let s = connect(addr);
        sel.register(s.as_raw_fd(), Events::BOTH, i).unwrap();
        cs.push(EchoConn {
            s,
            out: Vec::new(),
            sent_msgs: 0,
            recv_bytes: 0,
            stamps: VecDeque::new(),
        });
    }
    let start = Instant::now();
    let mut queued = 0u64;
    for (i, c) in cs.iter_mut().enumerate() {
        for _ in 0..inflight {
            if queued < messages {
                queue_msg(i, c, size);
                queued += 1;
            }
        }
    }
    let mut done = 0u64;
    let mut lat = Vec::with_capacity(messages as usize);
    let mut buf = vec![0u8; 65536];
    while done < messages && start.elapsed() < limit {
        sel.select(Some(Duration::from_millis(100))).unwrap();
        while let Some((key, ev)) = sel.next_ready() {
            let i = key.data;
            let c = &mut cs[i];
            if ev.is_writable() && !c.out.is_empty() {
                try_send(&c.s, &mut c.out);
            }
            if ev.is_readable() {
                loop {
                    match try_recv(&c.s, &mut buf) {
                        Some(0) => fail("server closed an echo connection"),
                        Some(n) => {
                            if let Some(off) = check::verify(i, size, c.recv_bytes, &buf[..n]) {
                                fail(&format!("connection {i}: corrupt echo at byte {off}"));
                            }
                            let before = c.recv_bytes / size as u64;
                            c.recv_bytes += n as u64;
                            let after = c.recv_bytes / size as u64;
                            for _ in before..after {
                                let t = c.stamps.pop_front().unwrap_or(start);
                                lat.push(t.elapsed().as_micros() as u64);
                                done += 1;
                                if queued < messages {
                                    queue_msg(i, c, size);
                                    queued += 1;
                                }
                            }
                            if n < buf.len() {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                if !c.out.is_empty() {
                    try_send(&c.s, &mut c.out);
                }
            }
            let want = if c.out.is_empty() { Events::READ } else { Events::BOTH };
            if key.events != want {
                sel.modify(c.s.as_raw_fd(), want, i).unwrap();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "{{\"mode\":\"echo\",\"conns\":{conns},\"size\":{size},\"inflight\":{inflight},\"messages\":{done},\"seconds\":{secs:.4},\"msgs_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{},\"complete\":{}}}",
        done as f64 / secs,
        check::percentile(&lat, 50.0),
        check::percentile(&lat, 99.0),
        done == messages
    );
    if done < messages {
        std::process::exit(1);
    }
}

fn queue_msg(i: usize, c: &mut EchoConn, size: usize) {
    let at = c.out.len();
    c.out.resize(at + size, 0);
    check::fill(i, c.sent_msgs, &mut c.out[at..]);
    c.sent_msgs += 1;
    c.stamps.push_back(Instant::now());
}

struct ChatConn {
    s: TcpStream,
    line: Vec<u8>,
    order: check::Order,
    welcomed: bool,
    out: Vec<u8>,
    next_seq: u64,
}

fn chat(
    addr: SocketAddr,
    receivers: usize,
    senders: usize,
    lines: u64,
    window: u64,
    limit: Duration,
) {
    let total = receivers + senders;
    let mut sel = new_selector();
    let mut cs: Vec<ChatConn> = Vec::new();
    for i in 0..total {
        let s = connect(addr);
        sel.register(s.as_raw_fd(), Events::READ, i).unwrap();
        cs.push(ChatConn {
            s,
            line: Vec::new(),
            order: check::Order::default(),
            welcomed: false,
            out: Vec::new(),
            next_seq: 0,
        });
    }
    // Senders are the first `senders` connections; each line goes to the
    // other total-1 clients.
    let expected: u64 =
        (0..total).map(|me| lines * (senders - usize::from(me < senders)) as u64).sum();
    let mut buf = vec![0u8; 65536];
    let start = Instant::now();
    let mut sending_started = None;
    loop {
        let delivered: u64 = cs.iter().map(|c| c.order.delivered).sum();
        if delivered >= expected || start.elapsed() > limit {
            break;
        }
        let all_in = cs.iter().all(|c| c.welcomed);
        if all_in {
            sending_started.get_or_insert_with(Instant::now);
            // A sender may run `window` lines ahead of its slowest receiver.
            for s in 0..senders {
                let slowest = (0..total)
                    .filter(|&r| r != s)
                    .map(|r| cs[r].order.next_of(s))
                    .min()
                    .unwrap_or(lines);
                let c = &mut cs[s];
                while c.next_seq < lines && c.next_seq < slowest + window {
                    c.out.extend_from_slice(format!("m {s} {}\n", c.next_seq).as_bytes());
                    c.next_seq += 1;
                }
                if !c.out.is_empty() {
                    try_send(&c.s, &mut c.out);
                    let want = if c.out.is_empty() { Events::READ } else { Events::BOTH };
                    sel.modify(c.s.as_raw_fd(), want, s).unwrap();
                }
            }
        }
        sel.select(Some(Duration::from_millis(100))).unwrap();
        while let Some((key, ev)) = sel.next_ready() {
            let i = key.data;
            let c = &mut cs[i];
            if ev.is_writable() && !c.out.is_empty() {
                try_send(&c.s, &mut c.out);
            }
            if !ev.is_readable() {
                continue;
            }
            loop {
                match try_recv(&c.s, &mut buf) {
                    Some(0) => fail(&format!("server closed chat connection {i}")),
                    Some(n) => {
                        for &b in &buf[..n] {
                            if b != b'\n' {
                                c.line.push(b);
                                continue;
                            }
                            if c.line.starts_with(b"* welcome") {
                                c.welcomed = true;
                            } else if let Some((sender, seq)) = check::parse_chat(&c.line) {
                                c.order.see(sender, seq);
                            } else if c.line.starts_with(b"error: ")
                                || c.line.ends_with(b"(not reading)")
                            {
                                fail(&format!("server said: {}", String::from_utf8_lossy(&c.line)));
                            }
                            c.line.clear();
                        }
                        if n < buf.len() {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
    }
    let t0 = sending_started.unwrap_or(start);
    let secs = t0.elapsed().as_secs_f64();
    let delivered: u64 = cs.iter().map(|c| c.order.delivered).sum();
    let dups: u64 = cs.iter().map(|c| c.order.duplicates).sum();
    let reordered: u64 = cs.iter().map(|c| c.order.out_of_order).sum();
    let missing: u64 =
        (0..total).map(|me| cs[me].order.missing((0..senders).filter(|&s| s != me), lines)).sum();
    println!(
        "{{\"mode\":\"chat\",\"receivers\":{receivers},\"senders\":{senders},\"lines\":{lines},\"deliveries\":{delivered},\"expected\":{expected},\"seconds\":{secs:.4},\"deliveries_per_sec\":{:.1},\"missing\":{missing},\"duplicates\":{dups},\"out_of_order\":{reordered}}}",
        delivered as f64 / secs
    );
    if missing > 0 || dups > 0 || reordered > 0 {
        std::process::exit(1);
    }
}

fn idle(addr: SocketAddr, conns: usize, active: usize, size: usize, limit: Duration) {
    let mut sel = new_selector();
    let mut idle_conns = Vec::new();
    for i in 0..conns {
        let s = connect(addr);
        sel.register(s.as_raw_fd(), Events::READ, i).unwrap();
        idle_conns.push(s);
    }
    println!("{{\"mode\":\"idle\",\"connected\":{conns}}}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Idle connections only drain what the server sends (chat notices).
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    if active > 0 {
        // A few active clients doing blocking round trips while the idle
        // ones sit registered in the server: the per-message cost at this
        // many fds.
        let cs: Vec<TcpStream> = (0..active)
            .map(|_| {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).ok();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s
            })
            .collect();
        let mut msg = vec![0u8; size];
        let mut back = vec![0u8; size];
        let mut done = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            for (i, mut c) in cs.iter().enumerate() {
                check::fill(i, done, &mut msg);
                c.write_all(&msg).unwrap();
                c.read_exact(&mut back).unwrap();
                if back != msg {
                    fail("corrupt echo");
                }
                done += 1;
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{{\"mode\":\"idle-active\",\"idle\":{conns},\"active\":{active},\"messages\":{done},\"seconds\":{secs:.4},\"msgs_per_sec\":{:.1}}}",
            done as f64 / secs
        );
    } else {
        while start.elapsed() < limit {
            sel.select(Some(Duration::from_millis(200))).unwrap();
            while let Some((key, _)) = sel.next_ready() {
                let _ = try_recv(&idle_conns[key.data], &mut buf);
            }
        }
    }
}
