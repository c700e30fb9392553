//! chat-server driven by plain TCP clients.

mod common;
use common::{Peer, Server, bin};
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
    let s = server(&[]);
    let (stalled, snick) = join(&s);
    let (mut a, _) = join(&s);
    let (mut b, _) = join(&s);
    a.until("join", |l| l.ends_with("joined"));
    let rss_before = s.rss_kib();
    // ~3 MB of chat while `stalled` never reads.
    let line = "y".repeat(500);
    let total = 6000;
    let mut writer = b.stream.try_clone().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..total {
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
