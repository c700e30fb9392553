//! chat-server driven by plain TCP clients.

mod common;
use common::{Peer, Server, bin, raise_fd_limit};
use std::collections::HashMap;
use std::io::Write;

fn server(args: &[&str]) -> Server {
    let mut all = vec!["--bind", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Server::start(&bin("chat-server"), &all)
}

/// Connects and waits for the welcome line (then the server has it).
fn join(s: &Server) -> (Peer, String) {
    let mut p = Peer::connect(s.addr);
    let welcome = p.line().expect("welcome");
    let nick =
        welcome.split("you are ").nth(1).and_then(|r| r.split(';').next()).unwrap().to_string();
    (p, nick)
}

fn is_chat(l: &str) -> bool {
    !l.starts_with("* ") && !l.starts_with("error: ")
}

fn broadcast_in_order(backend: &str, clients: usize, senders: usize, lines: usize) {
    let s = server(&["--backend", backend, "--max-clients", "200"]);
    assert!(s.first_line.trim_end().ends_with(&format!("({backend})")), "{}", s.first_line);
    let mut peers: Vec<(Peer, String)> = (0..clients).map(|_| join(&s)).collect();
    for (k, (p, _)) in peers.iter_mut().take(senders).enumerate() {
        let mut batch = String::new();
        for i in 0..lines {
            batch.push_str(&format!("m {k} {i}\n"));
        }
        p.send(&batch);
    }
    let nicks: Vec<String> = peers.iter().map(|p| p.1.clone()).collect();
    for (me, (p, _)) in peers.iter_mut().enumerate() {
        let expect = lines * (senders - usize::from(me < senders));
        let mut next: HashMap<usize, usize> = HashMap::new();
        let mut got = 0;
        while got < expect {
            let l = p.until("chat line", is_chat);
            let (nick, text) = l.split_once(": ").unwrap();
            let mut f = text.split(' ');
            assert_eq!(f.next(), Some("m"));
            let k: usize = f.next().unwrap().parse().unwrap();
            let i: usize = f.next().unwrap().parse().unwrap();
            assert_ne!(k, me, "own line echoed");
            assert_eq!(nick, nicks[k], "wrong nick");
            let n = next.entry(k).or_default();
            assert_eq!(i, *n, "client {me}: sender {k} out of order or duplicated");
            *n += 1;
            got += 1;
        }
    }
}

#[test]
fn broadcast_to_52_clients_in_order_epoll() {
    broadcast_in_order("epoll", 52, 4, 25);
}

#[test]
fn broadcast_in_order_poll() {
    broadcast_in_order("poll", 20, 3, 20);
}

#[test]
fn broadcast_in_order_select() {
    broadcast_in_order("select", 20, 3, 20);
}

#[test]
fn nick_who_quit() {
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (mut b, bnick) = join(&s);
    a.until("join notice", |l| l == format!("* {bnick} joined"));
    a.send("/nick alice\n");
    assert_eq!(a.line().unwrap(), "* you are now alice");
    b.until("nick notice", |l| l.ends_with(" is now alice"));
    b.send("/nick alice\n");
    assert_eq!(b.line().unwrap(), "error: that nick is taken");
    b.send("/nick bad name!\n");
    assert!(b.line().unwrap().starts_with("error: a nick is"));
    b.send("/who\n");
    let who = b.line().unwrap();
    assert!(
        who.starts_with("* online (2):") && who.contains(" alice") && who.contains(&bnick),
        "{who}"
    );
    a.send("hi bob\n");
    assert_eq!(b.until("chat", is_chat), "alice: hi bob");
    b.send("/frobnicate\n");
    assert!(b.line().unwrap().starts_with("error: unknown command"));
    b.send("/quit\n");
    assert_eq!(b.line().unwrap(), "* bye");
    assert_eq!(b.line(), None, "closed after /quit");
    a.until("leave notice", |l| l == format!("* {bnick} left"));
}

#[test]
fn overlong_line_is_refused_to_its_sender_only() {
    let s = server(&["--max-line", "16"]);
    let (mut a, _) = join(&s);
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    a.send(&format!("{}\nshort one\n", "x".repeat(40)));
    assert_eq!(a.line().unwrap(), "error: line too long");
    let l = b.until("chat", is_chat);
    assert!(l.ends_with(": short one"), "{l}");
    // Exactly 16 bytes (with CRLF) passes.
    a.send("0123456789abcdef\r\n");
    assert!(b.until("chat", is_chat).ends_with(": 0123456789abcdef"));
}

#[test]
fn control_characters_are_never_relayed_raw() {
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    a.send("a\x1b[2Jb\x07c\td\x7f\r\n");
    let l = b.until("chat", is_chat);
    assert!(l.ends_with(": a?[2Jb?c\td?"), "{l:?}");
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything() {
    // The sender is paused while the log is full of what `stalled` has not
    // taken, until the stall timeout drops it.
    let s = server(&["--stall-timeout", "1"]);
    let (stalled, snick) = join(&s);
    let (mut a, _) = join(&s);
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    let rss_before = s.rss_kib();
    // ~3 MB of chat while `stalled` never reads.
    let line = "y".repeat(500);
    let total = 6000;
    let mut writer = b.stream.try_clone().unwrap();
    // The sender stays at most WINDOW lines (~32 KiB, half the server's
    // shared backlog) ahead of `a`, so `a` is never the slow one, however
    // the machine schedules this test; `stalled` falls behind for good.
    const WINDOW: usize = 64;
    let (ack, acks) = std::sync::mpsc::channel::<usize>();
    let feeder = std::thread::spawn(move || {
        let mut acked = 0;
        for i in 0..total {
            while i >= acked + WINDOW {
                acked = acks.recv_timeout(common::WAIT).expect("the reader stopped");
            }
            writer.write_all(format!("{i} {line}\n").as_bytes()).unwrap();
        }
    });
    let mut dropped_notice = false;
    let mut got = 0;
    while got < total {
        let l = a.line().expect("a lost the connection");
        if l == format!("* {snick} was disconnected (not reading)") {
            dropped_notice = true;
            continue;
        }
        if !is_chat(&l) {
            continue;
        }
        let text = l.split_once(": ").unwrap().1;
        let i: usize = text.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(i, got, "lost or reordered");
        got += 1;
        if got % 16 == 0 {
            let _ = ack.send(got);
        }
    }
    feeder.join().unwrap();
    assert!(dropped_notice, "the stalled client was never dropped");
    if !common::under_emulation() {
        let rss = s.rss_kib();
        assert!(rss < rss_before + 1024, "server memory grew from {rss_before} to {rss} KiB");
    }
    drop(stalled);
    // The server goes on.
    b.send("still here\n");
    assert!(a.until("chat", is_chat).ends_with(": still here"));
}

#[test]
fn one_read_of_more_lines_than_the_log_holds_reaches_everyone() {
    // 3,000 two-byte lines in one write from a client with a 32-byte nick:
    // one read of 4 KiB makes ~72 KiB of relayed lines, more than the
    // shared log holds, and none of it may be lost to a reader that keeps
    // up (the kernel buffers take all of it, so this does not depend on
    // when `a` reads).
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    let bnick = "n".repeat(32);
    b.send(&format!("/nick {bnick}\n"));
    b.until("nick", |l| l.starts_with("* you are now "));
    a.until("nick", |l| l.ends_with(&format!(" is now {bnick}")));
    b.send(&"x\n".repeat(3000));
    b.send("done\n");
    let want = format!("{bnick}: x");
    for i in 0..3000 {
        let l = a.until("chat", is_chat);
        assert_eq!(l, want, "line {i}");
    }
    assert_eq!(a.until("chat", is_chat), format!("{bnick}: done"));
}

#[test]
fn connection_past_max_clients_is_refused_and_the_others_continue() {
    let s = server(&["--max-clients", "3"]);
    let mut peers: Vec<(Peer, String)> = (0..3).map(|_| join(&s)).collect();
    let mut extra = Peer::connect(s.addr);
    assert_eq!(extra.line().unwrap(), "error: server full");
    assert_eq!(extra.line(), None);
    peers[0].0.send("after the refusal\n");
    assert!(peers[2].0.until("chat", is_chat).ends_with(": after the refusal"));
    // A freed place can be taken again.
    peers[1].0.send("/quit\n");
    peers[0].0.until("leave", |l| l.ends_with(" left"));
    let (_again, _) = join(&s);
}

#[test]
fn abrupt_reset_mid_line_loses_nothing_else() {
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (b, bnick) = join(&s);
    let (mut c, _) = join(&s);
    a.until("join", |l| l.ends_with("joined") && !l.contains(&bnick));
    (&b.stream).write_all(b"half a li").unwrap();
    let Peer { reader, stream } = b;
    drop(reader); // its fd is a dup: close it so the reset below is the last close
    drop(socket2_reset(stream));
    a.until("leave", |l| l == format!("* {bnick} left"));
    c.send("after reset\n");
    let l = a.until("chat", is_chat);
    assert!(l.ends_with(": after reset"), "the partial line leaked: {l}");
}

/// Closes with SO_LINGER 0: the peer sees a reset.
fn socket2_reset(s: std::net::TcpStream) -> std::net::TcpStream {
    use std::os::fd::AsRawFd;
    let lin = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY (test): valid pointer and length for SO_LINGER.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&lin as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as u32,
        )
    };
    assert_eq!(rc, 0);
    s
}

fn graceful_shutdown(sig: i32, backend: &str) {
    let mut s = server(&["--backend", backend]);
    let (mut slow, _) = join(&s);
    let (mut a, _) = join(&s);
    slow.until("join", |l| l.ends_with("joined"));
    // `slow` reads nothing while 200 lines queue up for it.
    for i in 0..200 {
        a.send(&format!("queued {i}\n"));
    }
    a.send("/who\n");
    a.until("who", |l| l.starts_with("* online"));
    s.signal(sig);
    let rest = slow.rest();
    let got: Vec<&str> = rest.lines().filter(|l| l.contains(": queued ")).collect();
    assert_eq!(got.len(), 200, "queued output was not flushed");
    assert!(rest.trim_end().ends_with("* server shutting down"), "{rest}");
    assert!(a.rest().contains("* server shutting down"));
    assert!(s.wait_exit().success());
}

#[test]
fn sigterm_flushes_queues_then_exits_0() {
    for backend in ["epoll", "poll", "select"] {
        graceful_shutdown(libc::SIGTERM, backend);
    }
}

#[test]
fn sigint_exits_0() {
    graceful_shutdown(libc::SIGINT, "epoll");
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let s = Server::start(&bin("chat-server"), &["--bind", "[::1]:0"]);
    assert!(s.first_line.starts_with("listening on [::1]:"), "{}", s.first_line);
    let (mut a, anick) = join(&s);
    assert!(anick.starts_with("[::1]:"), "{anick}");
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    a.send("over six\n");
    assert_eq!(b.until("chat", is_chat), format!("{anick}: over six"));
}

/// Per-client state is small: 1000 connected clients (the compile-time
/// maximum) and a broadcast to all of them fit in 2 MiB of the server's
/// own memory (RssAnon: stack, data; shared library pages aside).
#[test]
fn a_thousand_clients_fit_in_2_mib() {
    if common::under_emulation() {
        eprintln!("the RSS under emulation is the emulator's: skipped");
        return;
    }
    if !raise_fd_limit(2100) {
        eprintln!("fd limit below 2100 and not raisable: skipped");
        return;
    }
    let s = server(&["--max-clients", "1000"]);
    // One at a time, each after the previous one's welcome: a burst of
    // connects would overflow the listen backlog and wait out SYN retries.
    let mut quiet: Vec<std::net::TcpStream> = (0..999)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(s.addr).unwrap();
            c.set_read_timeout(Some(common::WAIT)).unwrap();
            let mut byte = [0u8; 1];
            while byte[0] != b'\n' {
                assert_eq!(std::io::Read::read(&mut c, &mut byte).unwrap(), 1, "no welcome");
            }
            c
        })
        .collect();
    let (mut last, lnick) = join(&s);
    last.send("/who\n");
    let who = last.until("who", |l| l.starts_with("* online"));
    assert!(who.starts_with("* online (1000):"), "{}", &who[..who.len().min(40)]);
    last.send("hello, thousand\n");
    // Every one of them gets it (after its welcome and the join notices).
    let want = format!("{lnick}: hello, thousand\n");
    for (i, c) in quiet.iter_mut().enumerate() {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(&want) {
            let n = std::io::Read::read(c, &mut buf).unwrap();
            assert!(n > 0, "client {i} was closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let anon: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap())
        .unwrap();
    assert!(anon <= 2048, "chat-server holds {anon} KiB with 1000 clients");
}

/// CPU time (user + system, in clock ticks) the process has used so far.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// During the shutdown grace period the server only writes: a client with
/// output still queued that sends more input does not make it spin, and
/// still gets everything once it reads.
#[test]
fn shutdown_with_output_pending_does_not_spin() {
    use std::os::fd::AsRawFd;
    let mut s = server(&[]);
    let (mut slow, _) = join(&s);
    let (mut a, _) = join(&s);
    slow.until("join", |l| l.ends_with("joined"));
    // A small receive buffer, so that ~48 KiB of chat stays queued in the
    // server (less than its 64 KiB backlog: `slow` is not dropped).
    let small: libc::c_int = 2048;
    // SAFETY (test): valid pointer and length for SO_RCVBUF.
    let rc = unsafe {
        libc::setsockopt(
            slow.stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    assert_eq!(rc, 0);
    let line = "q".repeat(470);
    for i in 0..100 {
        a.send(&format!("{i:03} {line}\n"));
    }
    a.send("/who\n");
    a.until("who", |l| l.starts_with("* online"));
    s.signal(libc::SIGTERM);
    a.until("shutdown notice", |l| l == "* server shutting down");
    slow.send("more input that is never read\n");
    let before = cpu_ticks(s.pid());
    std::thread::sleep(std::time::Duration::from_millis(500)); // a window to measure, not a wait
    let used = cpu_ticks(s.pid()) - before;
    let rest = slow.rest();
    let got = rest.lines().filter(|l| l.contains(&line)).count();
    assert_eq!(got, 100, "queued output was not flushed");
    assert!(rest.trim_end().ends_with("* server shutting down"));
    assert!(s.wait_exit().success());
    if !common::under_emulation() {
        assert!(used < 10, "the server used {used} ticks of CPU in 0.5 s of shutdown");
    }
}
