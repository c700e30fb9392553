//! chat-server under floods, slow consumers, connect bursts and nick
//! rules (issue 13), driven over loopback with the real binary.

mod common;
use common::{Peer, Server, WAIT, bin, raise_fd_limit};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn server(args: &[&str]) -> Server {
    let mut all = vec!["--bind", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Server::start(&bin("chat-server"), &all)
}

/// Connects and waits for the welcome line; returns the default nick.
fn join(s: &Server) -> (Peer, String) {
    let mut p = Peer::connect(s.addr);
    let welcome = p.line().expect("welcome");
    let nick =
        welcome.split("you are ").nth(1).and_then(|r| r.split(';').next()).unwrap().to_string();
    (p, nick)
}

/// Waits (reading `p`) until `p` has seen the join notices of `nicks`.
fn saw_joins(p: &mut Peer, nicks: &[&str]) {
    for n in nicks {
        p.until("join notice", |l| l == format!("* {n} joined"));
    }
}

fn is_chat(l: &str) -> bool {
    !l.starts_with("* ") && !l.starts_with("error: ")
}

fn set_buf(s: &TcpStream, opt: libc::c_int, bytes: libc::c_int) {
    // SAFETY (test): valid pointer and length for an int socket option.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    assert_eq!(rc, 0);
}

/// Bytes the server has received from `client` but not read yet: the
/// receive queue of the server's end of that connection, from /proc. The
/// entry is the one with both ends: the client's port alone may also
/// name an old connection to another server, still in TIME_WAIT (this
/// test failed so, now and then, while other tests ran).
fn server_unread_from(client: &TcpStream) -> u64 {
    let hex = |a: std::net::SocketAddr| {
        format!("{:08X}:{:04X}", u32::from_le_bytes([127, 0, 0, 1]), a.port())
    };
    let (server, me) = (hex(client.peer_addr().unwrap()), hex(client.local_addr().unwrap()));
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .find_map(|l| {
            // sl local_address rem_address st tx_queue:rx_queue ...
            let f: Vec<&str> = l.split_whitespace().collect();
            let ends = (f.get(1).copied(), f.get(2).copied());
            (ends == (Some(server.as_str()), Some(me.as_str())))
                .then(|| f[4].split(':').nth(1).map(str::to_string))
        })
        .flatten()
        .map(|rx| u64::from_str_radix(&rx, 16).unwrap())
        .expect("the server's end of the connection")
}

/// Issue 13: one client pastes 10,000 lines at once while another reads
/// steadily (paced, with a small receive buffer). The reader gets every
/// line, in order, and is not dropped; the flooder is slowed instead: the
/// server leaves its input unread in the kernel meanwhile.
#[test]
fn a_flood_slows_the_flooder_not_a_steady_reader() {
    // The reader's pause below may be long under emulation: the soft limit
    // (a reader that takes nothing is dropped) is not what this tests.
    let s = server(&["--stall-timeout", "60"]);
    let (mut reader, _) = join(&s);
    set_buf(&reader.stream, libc::SO_RCVBUF, 65536);
    let (flooder, fnick) = join(&s);
    saw_joins(&mut reader, &[&fnick]);
    let total = 10_000;
    let mut batch = String::new();
    for i in 0..total {
        batch.push_str(&format!("{i:05} {}\n", "f".repeat(60)));
    }
    let mut w = flooder.stream.try_clone().unwrap();
    let feeder = std::thread::spawn(move || w.write_all(batch.as_bytes()).unwrap());
    let mut held_back = false;
    for i in 0..total {
        let l = reader.until("chat line", is_chat);
        assert_eq!(l, format!("{fnick}: {i:05} {}", "f".repeat(60)), "lost or reordered");
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(2)); // the pace of a slow reader
        }
        if i == 999 {
            // The reader stops for a while: the log, its socket and the
            // kernel's buffers hold far less than the flood, so the server
            // must stop reading the flooder, whose input then waits in the
            // kernel (whichever side is the slow one on this machine).
            let deadline = Instant::now() + common::WAIT;
            while !held_back && Instant::now() < deadline {
                held_back = server_unread_from(&flooder.stream) > 0;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    feeder.join().unwrap();
    // Under emulation the server, not the reader, is the slow one, and
    // whether the flood is seen waiting in the kernel is down to timing
    // (as before this test paused its reader); the order and loss checks
    // above hold everywhere.
    if !common::under_emulation() {
        assert!(held_back, "the server read the flood while the reader took nothing");
    }
    reader.send("/who\n");
    assert!(reader.until("who", |l| l.starts_with("* online")).starts_with("* online (2):"));
}

/// Issue 13: three clients paste 5,000 lines each and read all along:
/// each gets the other two's 10,000 lines in order, and nobody is dropped.
#[test]
fn three_pasting_clients_each_get_everything() {
    // Under qemu this stalled in about one run in four: a run of log
    // messages that reached the end of the ring came out empty, so a reader
    // got nothing more (chat_parts.rs: a_run_ends_at_the_end_of_the_ring).
    let s = server(&[]);
    let mut peers: Vec<(Peer, String)> = (0..3).map(|_| join(&s)).collect();
    let nicks: Vec<String> = peers.iter().map(|p| p.1.clone()).collect();
    let n0 = [nicks[1].as_str(), nicks[2].as_str()];
    saw_joins(&mut peers[0].0, &n0);
    saw_joins(&mut peers[1].0, &[&nicks[2]]);
    let lines = 5000;
    let mut threads = Vec::new();
    for (k, (p, _)) in peers.into_iter().enumerate() {
        set_buf(&p.stream, libc::SO_RCVBUF, 65536);
        let mut w = p.stream.try_clone().unwrap();
        threads.push(std::thread::spawn(move || {
            let batch: String =
                (0..lines).map(|i| format!("p {k} {i} {}\n", "x".repeat(40))).collect();
            w.write_all(batch.as_bytes()).unwrap();
        }));
        let nicks = nicks.clone();
        threads.push(std::thread::spawn(move || read_pastes(p, k, &nicks, lines)));
    }
    for t in threads {
        t.join().unwrap();
    }
}

fn read_pastes(mut p: Peer, me: usize, nicks: &[String], lines: usize) {
    let mut next = [0usize; 3];
    for _ in 0..lines * 2 {
        let l = p.until("chat line", is_chat);
        let (nick, text) = l.split_once(": ").unwrap();
        let mut f = text.split(' ');
        assert_eq!(f.next(), Some("p"), "{l}");
        let k: usize = f.next().unwrap().parse().unwrap();
        let i: usize = f.next().unwrap().parse().unwrap();
        assert!(k != me && nick == nicks[k], "{l}");
        assert_eq!(i, next[k], "client {me}: lost or reordered from {k}");
        next[k] += 1;
    }
}

/// Issue 13: a client that stops reading is dropped after the stall
/// timeout, not before; what it gets ends with complete lines and the
/// notice saying why; the others are told and go on.
#[test]
fn a_stalled_client_is_dropped_after_the_timeout_with_a_notice() {
    let s = server(&["--stall-timeout", "1"]);
    let (stalled, snick) = join(&s);
    set_buf(&stalled.stream, libc::SO_RCVBUF, 4096);
    let (mut reader, _) = join(&s);
    let (sender, sender_nick) = join(&s);
    saw_joins(&mut reader, &[&sender_nick]);
    // Much more than the log and the kernel buffers hold for `stalled`.
    let line = "z".repeat(300);
    let batch: String = (0..1000).map(|i| format!("{i:04} {line}\n")).collect();
    let mut w = sender.stream.try_clone().unwrap();
    let started = Instant::now();
    let feeder = std::thread::spawn(move || w.write_all(batch.as_bytes()).unwrap());
    let mut got = 0;
    let mut dropped = None;
    while got < 1000 {
        let l = reader.line().expect("the reader was closed");
        if l == format!("* {snick} was disconnected (not reading)") {
            dropped = Some(started.elapsed());
        } else if is_chat(&l) {
            assert_eq!(l, format!("{sender_nick}: {got:04} {line}"), "lost or reordered");
            got += 1;
        }
    }
    feeder.join().unwrap();
    let after = dropped.expect("the stalled client was never dropped");
    assert!(after >= Duration::from_millis(900), "dropped after {after:?}, before the timeout");
    let mut rest = String::new();
    let mut r = stalled.reader;
    r.read_to_string(&mut rest).unwrap();
    let (body, last) = rest.trim_end_matches('\n').rsplit_once('\n').unwrap();
    assert_eq!(last, "* you are being disconnected: not reading for 1 s");
    assert!(rest.ends_with('\n'));
    for l in body.lines().filter(|l| !l.starts_with("* ")) {
        assert!(l.len() == sender_nick.len() + 2 + 5 + 300, "a cut line: {l:?}");
    }
}

/// Issue 13: a last line without a newline before end of input (or a
/// half-close) is delivered, then the leave notice.
#[test]
fn a_final_line_without_newline_is_delivered() {
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (b, bnick) = join(&s);
    saw_joins(&mut a, &[&bnick]);
    (&b.stream).write_all(b"first\nno newline at the end").unwrap();
    b.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(a.until("chat", is_chat), format!("{bnick}: first"));
    assert_eq!(a.until("chat", is_chat), format!("{bnick}: no newline at the end"));
    a.until("leave", |l| l == format!("* {bnick} left"));
}

/// Issue 13: 1,000 serial connects (each connection kept open, as `nc`
/// clients arriving one after another) are all accepted quickly: every
/// pending connection per readiness, and join notices that do not cost a
/// send to everyone per connect. The old server took about 7 s (SYN
/// retries once its listen queue overflowed).
#[test]
fn a_thousand_serial_connects_are_quick() {
    if !raise_fd_limit(2100) {
        eprintln!("fd limit below 2100 and not raisable: skipped");
        return;
    }
    let s = server(&["--max-clients", "1000"]);
    let started = Instant::now();
    let conns: Vec<TcpStream> = (0..1000).map(|_| TcpStream::connect(s.addr).unwrap()).collect();
    for (i, mut c) in conns.iter().enumerate() {
        c.set_read_timeout(Some(WAIT)).unwrap();
        let mut byte = [0u8; 1];
        while byte[0] != b'\n' {
            assert_eq!(c.read(&mut byte).unwrap(), 1, "no welcome for connection {i}");
        }
    }
    let took = started.elapsed();
    let limit = if common::under_emulation() { 60 } else { 4 };
    assert!(took < Duration::from_secs(limit), "1,000 serial connects took {took:?}");
    // Nobody of the burst was dropped: the first 600 or so once fell out of
    // the log while the newcomers' welcomes went by (`make bench`'s idle
    // chat load). A client gets a line from the server for everyone else's
    // arrival; it must not be told it is being disconnected.
    let mut c = &conns[0];
    c.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(6).filter(|w| w == b"joined").count() >= 999 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(!text.contains("disconnected"), "the first client of the burst was dropped");
    assert_eq!(text.matches("joined").count(), 999, "join notices the first client got");
}

/// Issue 13: nicks are unique without regard to ASCII case and cannot look
/// like an address (another client's default nick).
#[test]
fn nicks_ignore_case_and_never_look_like_an_address() {
    let s = server(&[]);
    let (mut a, _) = join(&s);
    let (mut b, bnick) = join(&s);
    a.send("/nick bob\n");
    assert_eq!(a.until("reply", |l| l.starts_with("* you are")), "* you are now bob");
    for taken in ["BOB", "Bob", "bob"] {
        b.send(&format!("/nick {taken}\n"));
        assert_eq!(b.until("reply", |l| l.starts_with("error")), "error: that nick is taken");
    }
    for addr in [bnick.as_str(), "1.2.3.4:5678", "[::1]:5"] {
        b.send(&format!("/nick {addr}\n"));
        assert!(b.until("reply", |l| l.starts_with("error")).starts_with("error: a nick is"));
    }
    for addr in ["1.2.3.4", "127.0.0.1", "10"] {
        b.send(&format!("/nick {addr}\n"));
        let l = b.until("reply", |l| l.starts_with("error"));
        assert_eq!(l, "error: a nick cannot look like an address");
    }
    // TAB separates a command from its argument, like a space.
    b.send("/nick\tbob2\n");
    assert_eq!(b.until("reply", |l| l.starts_with("* you are")), "* you are now bob2");
    // In chat lines a TAB is kept (the only control character that is).
    b.send("a\tb\x01c\n");
    assert_eq!(a.until("chat", is_chat), "bob2: a\tb?c");
}

/// Issue 13: flooders that do not read themselves cannot hold the room up
/// for good: the stall timeout drops them, room frees, and the others chat
/// on. (With `--echo-self` each is owed its own lines as well as the
/// other's, so both surely fall behind; a flooder that is owed nothing it
/// cannot take is not dropped, it just floods at the readers' pace.)
#[test]
fn flooders_that_do_not_read_are_dropped_and_the_room_goes_on() {
    let s = server(&["--stall-timeout", "1", "--echo-self"]);
    let (mut reader, _) = join(&s);
    let (a, anick) = join(&s);
    let (b, bnick) = join(&s);
    saw_joins(&mut reader, &[&anick, &bnick]);
    let mut feeders = Vec::new();
    for p in [&a, &b] {
        set_buf(&p.stream, libc::SO_RCVBUF, 4096);
        let mut w = p.stream.try_clone().unwrap();
        let batch: String = (0..3000).map(|i| format!("{i} {}\n", "w".repeat(200))).collect();
        // The server may close them before they are done: errors are fine.
        feeders.push(std::thread::spawn(move || drop(w.write_all(batch.as_bytes()))));
    }
    let mut gone = 0;
    while gone < 2 {
        let l = reader.line().expect("the reader was closed");
        if l == format!("* {anick} was disconnected (not reading)")
            || l == format!("* {bnick} was disconnected (not reading)")
        {
            gone += 1;
        }
    }
    reader.send("/who\n");
    assert!(reader.until("who", |l| l.starts_with("* online")).starts_with("* online (1):"));
    let (mut d, _) = join(&s);
    reader.send("after the flood\n");
    assert!(d.until("chat", is_chat).ends_with(": after the flood"));
    for f in feeders {
        f.join().unwrap();
    }
}

/// Both slow-consumer limits are in `--help`.
#[test]
fn help_shows_the_soft_and_hard_limits() {
    let out = common::output(common::command(&bin("chat-server")).arg("--help"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("--stall-timeout SECONDS") && text.contains("--hard-limit BYTES"),
        "{text}"
    );
}

/// Join notices that go out late, in a batch, still go only to those who
/// were there before: a newcomer never hears of the ones who came before
/// it, and hears from nobody before hearing that they joined.
#[test]
fn batched_join_notices_go_only_to_those_already_there() {
    let s = server(&[]);
    let (mut a, anick) = join(&s);
    let (mut b, bnick) = join(&s); // within a's batch, most likely
    b.send("hello\n");
    assert_eq!(a.line().unwrap(), format!("* {bnick} joined"));
    assert_eq!(a.line().unwrap(), format!("{bnick}: hello"));
    a.send("/who\n");
    a.until("who", |l| l.starts_with("* online"));
    let (mut c, _) = join(&s);
    c.send("/who\n");
    let who = c.line().unwrap();
    assert!(who.starts_with("* online (3):") && who.contains(&anick), "{who}");
}

/// Wake-ups of process `pid` so far: its voluntary context switches (each
/// blocking wait that ends counts one), from /proc.
fn wakeups(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap()
}

/// An idle room costs nothing: the soft limit's check runs only while a
/// client waits for its socket to take what it is owed. (Measured over a
/// window longer than the check's period, a second.)
#[test]
fn an_idle_room_makes_no_wake_ups() {
    let s = server(&[]);
    let (mut a, nick_a) = join(&s);
    let (_b, _) = join(&s);
    // Everything of the joins has arrived: a's own join notice of b.
    let notice = a.line().expect("b's join notice");
    assert!(notice.starts_with("* "), "{notice} (a is {nick_a})");
    if common::under_emulation() {
        return; // qemu's own threads make the count meaningless
    }
    // Counted from when it has gone to sleep (it may still be finishing the
    // pass that sent the notice): the count holds still for 100 ms.
    let deadline = Instant::now() + WAIT;
    let mut before = wakeups(s.pid());
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = wakeups(s.pid());
        if now == before {
            break;
        }
        assert!(Instant::now() < deadline, "chat-server never went quiet");
        before = now;
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(wakeups(s.pid()), before, "chat-server woke up while the room was idle");
}
