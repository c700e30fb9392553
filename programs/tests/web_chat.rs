//! chat-server's `--web` side driven over loopback: the page and the HTTP
//! errors, the request head's limits, the Host and Origin rules, and
//! WebSocket clients (a small masked-frame client below) chatting with a
//! line client.

mod common;
use common::{Peer, WAIT, bin, command};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A chat-server with `--bind 127.0.0.1:0 --web 127.0.0.1:0`.
struct Srv {
    child: Child,
    addr: SocketAddr,
    web: SocketAddr,
}

impl Drop for Srv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Srv {
    let mut cmd = command(&bin("chat-server"));
    cmd.args(["--bind", "127.0.0.1:0", "--web", "127.0.0.1:0"]).args(args);
    let mut child = common::spawn(cmd.stdout(Stdio::piped()));
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send(line);
        }
    });
    let what = || "chat-server printed no addresses".to_string();
    let first = common::recv_line(&rx, &mut child, what);
    let second = common::recv_line(&rx, &mut child, what);
    let addr = first.strip_prefix("listening on ").unwrap().split(' ').next().unwrap();
    let web = second.strip_prefix("web page on http://").unwrap().trim_end_matches('/');
    Srv { child, addr: addr.parse().unwrap(), web: web.parse().unwrap() }
}

/// Sends `req` and reads the answer to the end.
fn http(addr: SocketAddr, req: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

fn status(resp: &[u8]) -> String {
    let text = String::from_utf8_lossy(resp);
    text.lines().next().unwrap_or("").to_string()
}

/// The header `name` of an answer.
fn header(resp: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(resp);
    let head = text.split("\r\n\r\n").next().unwrap();
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn body(resp: &[u8]) -> &[u8] {
    let at = resp.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head");
    &resp[at + 4..]
}

#[test]
fn page_and_http_errors() {
    let s = start(&[]);
    let get = http(s.web, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(status(&get), "HTTP/1.1 200 OK");
    let csp = header(&get, "Content-Security-Policy").expect("CSP");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let len: usize = header(&get, "Content-Length").unwrap().parse().unwrap();
    assert_eq!(body(&get).len(), len);
    // The page, compressed at build time (tests/web.rs checks it inflates
    // to the page's source).
    assert_eq!(header(&get, "Content-Encoding").as_deref(), Some("gzip"));
    assert_eq!(body(&get), progs::web::PAGE_GZ);
    assert_eq!(header(&get, "Connection").as_deref(), Some("close"));

    let head = http(s.web, b"HEAD / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");
    assert_eq!(status(&head), "HTTP/1.1 200 OK");
    assert_eq!(header(&head, "Content-Length").unwrap().parse::<usize>().unwrap(), len);
    assert!(body(&head).is_empty());

    let cases: [(&[u8], &str); 8] = [
        // A client that says it takes no gzip: the page has no other form.
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n", "406"),
        (b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip;q=0, br\r\n\r\n", "406"),
        (b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "404"),
        (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "405"),
        (b"garbage\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\n\r\n", "400"), // no Host
        (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "400"), // no upgrade
        (b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", "403"),
    ];
    for (req, code) in cases {
        let resp = http(s.web, req);
        assert!(status(&resp).starts_with(&format!("HTTP/1.1 {code} ")), "{}", status(&resp));
        assert_eq!(header(&resp, "Connection").as_deref(), Some("close"));
    }
    let mut big = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 3000));
    big.extend_from_slice(b"\r\n\r\n");
    let resp = http(s.web, &big);
    assert!(status(&resp).starts_with("HTTP/1.1 431 "), "{}", status(&resp));
    let v12 = upgrade_request(s.web, "Sec-WebSocket-Version: 12\r\n", "");
    assert!(status(&http(s.web, v12.as_bytes())).starts_with("HTTP/1.1 426 "));
}

#[test]
fn a_slow_head_is_closed_within_the_limit() {
    let s = start(&[]);
    let mut c = TcpStream::connect(s.web).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let t0 = Instant::now();
    c.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out); // EOF (or a reset) when the server closes it
    let took = t0.elapsed();
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(took >= Duration::from_secs(4) && took < Duration::from_secs(7), "{took:?}");
    // Meanwhile and after, the server answers others.
    assert_eq!(status(&http(s.web, b"GET / HTTP/1.0\r\n\r\n")), "HTTP/1.1 200 OK");
}

/// A GET /ws with the test key, `version` (or the usual one) and `extra`
/// headers.
fn upgrade_request(web: SocketAddr, version: &str, extra: &str) -> String {
    let version = if version.is_empty() { "Sec-WebSocket-Version: 13\r\n" } else { version };
    let host = if extra.contains("Host:") { String::new() } else { format!("Host: {web}\r\n") };
    format!(
        "GET /ws HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{version}{extra}\r\n"
    )
}

/// A WebSocket client: masked frames out, the server's frames in (text
/// frames split into lines).
#[derive(Debug)]
struct Ws {
    s: TcpStream,
    buf: Vec<u8>,
    lines: std::collections::VecDeque<String>,
}

enum Frame {
    Text(Vec<u8>),
    Other(u8, Vec<u8>),
    Eof,
}

impl Ws {
    /// Connects and upgrades; `Err(status line)` if refused.
    fn open(web: SocketAddr, extra: &str) -> Result<Ws, String> {
        let mut s = TcpStream::connect(web).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(upgrade_request(web, "", extra).as_bytes()).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(&mut chunk).unwrap();
            if n == 0 {
                return Err(status(&buf));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = buf[..end].to_vec();
        if status(&head) != "HTTP/1.1 101 Switching Protocols" {
            return Err(status(&head));
        }
        let accept = header(&head, "Sec-WebSocket-Accept");
        assert_eq!(accept.as_deref(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        buf.drain(..end);
        Ok(Ws { s, buf, lines: Default::default() })
    }

    fn send_frame(&mut self, first: u8, payload: &[u8], masked: bool) {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut f = vec![first];
        let m = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&mask);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.s.write_all(&f).unwrap();
    }

    fn text(&mut self, t: &str) {
        self.send_frame(0x81, t.as_bytes(), true);
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.s.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed (timeout?): {e}"),
        }
    }

    /// The next frame from the server (which never masks).
    fn frame(&mut self) -> Frame {
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "a server frame is masked");
                let (len, at) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => {
                        (u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize, 10)
                    }
                    n if n < 126 => (n as usize, 2),
                    _ => (usize::MAX, 0),
                };
                if len != usize::MAX && self.buf.len() >= at + len {
                    let first = self.buf[0];
                    assert_eq!(first & 0x80, 0x80, "a fragment");
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return match first & 0x0f {
                        1 => Frame::Text(payload),
                        op => Frame::Other(op, payload),
                    };
                }
            }
            if !self.fill() {
                return Frame::Eof;
            }
        }
    }

    /// The next line of the server's text frames (each a whole number of
    /// lines); None at a close frame or EOF.
    fn line(&mut self) -> Option<String> {
        while self.lines.is_empty() {
            match self.frame() {
                Frame::Text(p) => {
                    let t = String::from_utf8(p).expect("text frames are UTF-8");
                    assert!(t.ends_with('\n'), "a frame is whole lines: {t:?}");
                    self.lines.extend(t.lines().map(str::to_string));
                }
                Frame::Other(9 | 10, _) => {}
                Frame::Other(_, _) | Frame::Eof => return None,
            }
        }
        self.lines.pop_front()
    }

    fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        loop {
            match self.line() {
                Some(l) if pred(&l) => return l,
                Some(_) => {}
                None => panic!("closed while waiting for {what}"),
            }
        }
    }

    /// The close frame's code, skipping text frames; then EOF.
    fn close_code(&mut self) -> u16 {
        loop {
            match self.frame() {
                Frame::Text(_) | Frame::Other(9 | 10, _) => {}
                Frame::Other(8, p) => {
                    assert!(p.len() >= 2, "close frame without a code");
                    let code = u16::from_be_bytes([p[0], p[1]]);
                    assert!(matches!(self.frame(), Frame::Eof), "bytes after the close frame");
                    return code;
                }
                Frame::Other(op, _) => panic!("unexpected opcode {op}"),
                Frame::Eof => panic!("EOF without a close frame"),
            }
        }
    }
}

/// Joins a line client and waits for its welcome.
fn join_line(s: &Srv) -> (Peer, String) {
    let mut p = Peer::connect(s.addr);
    let w = p.line().expect("welcome");
    (p, w.split("you are ").nth(1).unwrap().split(';').next().unwrap().to_string())
}

/// Opens a web client, waits for its welcome; its nick.
fn join_web(s: &Srv) -> (Ws, String) {
    let mut w = Ws::open(s.web, "").expect("upgrade");
    let l = w.until("welcome", |l| l.starts_with("* welcome, you are "));
    (w, l.split("you are ").nth(1).unwrap().split(';').next().unwrap().to_string())
}

#[test]
fn web_and_line_clients_chat_both_ways() {
    let s = start(&[]);
    let (mut nc, ncnick) = join_line(&s);
    let (mut w, wnick) = join_web(&s);
    assert!(wnick.starts_with("127.0.0.1:"), "{wnick}");
    nc.until("web join", |l| l == format!("* {wnick} joined"));
    for i in 0..20 {
        w.text(&format!("from web {i}"));
        nc.send(&format!("from nc {i}\n"));
    }
    // The browser gets its own lines back too (the page echoes nothing
    // itself): both sequences, each in order.
    let (mut own, mut theirs) = (0, 0);
    for i in 0..20 {
        assert_eq!(
            nc.until("web line", |l| !l.starts_with("* ")),
            format!("{wnick}: from web {i}")
        );
    }
    while own < 20 || theirs < 20 {
        let l = w.until("chat line", |l| !l.starts_with("* "));
        if l.starts_with(&format!("{wnick}: ")) {
            assert_eq!(l, format!("{wnick}: from web {own}"));
            own += 1;
        } else {
            assert_eq!(l, format!("{ncnick}: from nc {theirs}"));
            theirs += 1;
        }
    }
    w.text("two\nlines\r\n");
    assert_eq!(nc.line().unwrap(), format!("{wnick}: two"));
    assert_eq!(nc.line().unwrap(), format!("{wnick}: lines"));
    w.text("/nick webby");
    assert_eq!(w.until("own notice", |l| l.starts_with("* you")), "* you are now webby");
    nc.until("nick notice", |l| l == format!("* {wnick} is now webby"));
    w.text("/who");
    let who = w.until("who", |l| l.starts_with("* online"));
    assert!(who.contains("webby") && who.contains(&ncnick), "{who}");
    nc.send("/nick plain\n");
    w.until("nc's nick", |l| l == format!("* {ncnick} is now plain"));
    w.text("caf\u{e9} \u{1b}[31m");
    assert_eq!(nc.until("sanitised", |l| !l.starts_with("* ")), "webby: caf\u{e9} ?[31m");
    // A TCP close without a close frame: it left.
    drop(w);
    nc.until("leave notice", |l| l == "* webby left");
}

#[test]
fn protocol_errors_close_with_their_codes() {
    let s = start(&[]);
    let (mut w, _) = join_web(&s);
    w.send_frame(0x81, b"unmasked", false);
    assert_eq!(w.close_code(), 1002);
    let (mut w, _) = join_web(&s);
    w.send_frame(0x81, b"bad \xff utf-8", true);
    assert_eq!(w.close_code(), 1007);
    let (mut w, _) = join_web(&s);
    w.send_frame(0x82, b"binary", true);
    assert_eq!(w.close_code(), 1003);
    let (mut w, _) = join_web(&s);
    w.send_frame(0x81, &vec![b'a'; 5000], true);
    assert_eq!(w.close_code(), 1009);
}

#[test]
fn long_lines_ping_close_and_quit() {
    let s = start(&["--max-line", "10"]);
    let (mut nc, _) = join_line(&s);
    let (mut w, wnick) = join_web(&s);
    w.text("this is longer than ten bytes");
    assert_eq!(w.until("error", |l| !l.starts_with("* ")), "error: line too long");
    w.text("short\nthis one is too long\nok");
    assert_eq!(nc.until("short", |l| !l.starts_with("* ")), format!("{wnick}: short"));
    assert_eq!(w.until("own line", |l| !l.starts_with("* ")), format!("{wnick}: short"));
    assert_eq!(w.until("error", |l| !l.starts_with("* ")), "error: line too long");
    assert_eq!(w.until("own line", |l| !l.starts_with("* ")), format!("{wnick}: ok"));
    assert_eq!(nc.until("ok", |l| !l.starts_with("* ")), format!("{wnick}: ok"));

    w.send_frame(0x89, b"ping!", true);
    loop {
        match w.frame() {
            Frame::Other(10, p) => break assert_eq!(p, b"ping!"),
            Frame::Text(_) => {}
            _ => panic!("no pong"),
        }
    }
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"done");
    w.send_frame(0x88, &close, true);
    assert_eq!(w.close_code(), 1000);
    nc.until("leave notice", |l| l == format!("* {wnick} left"));

    let (mut w, wnick) = join_web(&s);
    w.text("/quit");
    assert_eq!(w.until("bye", |l| l.starts_with("* b")), "* bye");
    assert_eq!(w.close_code(), 1000);
    nc.until("leave notice", |l| l == format!("* {wnick} left"));
}

/// A text message in fragments (with a ping between them, as RFC 6455
/// allows) is one line; a continuation without a start, or a new message
/// inside a fragmented one, is a protocol error (1002).
#[test]
fn fragmented_messages_are_reassembled() {
    let s = start(&[]);
    let (mut nc, _) = join_line(&s);
    let (mut w, wnick) = join_web(&s);
    nc.until("web join", |l| l == format!("* {wnick} joined"));
    w.send_frame(0x01, b"frag", true); // text, not the last fragment
    w.send_frame(0x00, b"men", true); // continuation
    w.send_frame(0x89, b"in between", true); // a ping between fragments
    w.send_frame(0x80, b"ted", true); // the last continuation
    assert_eq!(
        nc.until("reassembled line", |l| !l.starts_with("* ")),
        format!("{wnick}: fragmented")
    );
    let mut pong = false;
    let mut own = false;
    while !(pong && own) {
        match w.frame() {
            Frame::Other(10, p) => {
                assert_eq!(p, b"in between");
                pong = true;
            }
            Frame::Text(t) => {
                let want = format!("{wnick}: fragmented");
                own |= String::from_utf8_lossy(&t).lines().any(|l| l == want);
            }
            _ => panic!("no pong or own line"),
        }
    }
    w.send_frame(0x80, b"no start", true);
    assert_eq!(w.close_code(), 1002);
    let (mut w, _) = join_web(&s);
    w.send_frame(0x01, b"one", true);
    w.send_frame(0x81, b"another", true);
    assert_eq!(w.close_code(), 1002);
}

#[test]
fn host_and_origin_rules() {
    let s = start(&[]);
    let foreign = "Origin: http://evil.example\r\n";
    assert!(Ws::open(s.web, foreign).unwrap_err().starts_with("HTTP/1.1 403 "));
    let own = format!("Origin: http://{}\r\n", s.web);
    Ws::open(s.web, &own).expect("own origin");
    let named = "Host: router.lan:8080\r\nOrigin: http://router.lan:8080\r\n";
    assert!(Ws::open(s.web, named).unwrap_err().starts_with("HTTP/1.1 403 "));

    let s = start(&[
        "--web-origin",
        "http://evil.example",
        "--web-host",
        "router.lan",
        "--max-clients",
        "2",
    ]);
    let _a = Ws::open(s.web, foreign).expect("--web-origin lets it in");
    let mut b = Ws::open(s.web, named).expect("--web-host lets it in");
    b.until("welcome", |l| l.starts_with("* welcome"));
    // --max-clients counts web and line clients alike.
    let mut full = Peer::connect(s.addr);
    assert_eq!(full.line().as_deref(), Some("error: server full"));
    let mut w = Ws::open(s.web, "").expect("upgrade");
    assert_eq!(w.line().as_deref(), Some("error: server full"));
}

#[test]
fn help_names_the_web_options() {
    let out = common::output(command(&bin("chat-server")).arg("--help"));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    for opt in ["--web ADDR:PORT", "--web-host NAME", "--web-origin ORIGIN"] {
        assert!(text.contains(opt), "--help lacks {opt}");
    }
}

#[test]
fn floods_both_ways_stay_in_order() {
    let s = start(&[]);
    let (mut nc, ncnick) = join_line(&s);
    let (mut w, wnick) = join_web(&s);
    nc.until("web join", |l| l == format!("* {wnick} joined"));
    // The web client reads late: frames are cut by its full socket and go
    // on later, and the sender is paused meanwhile.
    let n = 3000;
    let batch: String = (0..n).map(|i| format!("m {i}\n")).collect();
    nc.send(&batch);
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..n {
        assert_eq!(w.until("flood line", |l| !l.starts_with("* ")), format!("{ncnick}: m {i}"));
    }
    // The web client floods (two lines a message) a line client that
    // reads late: the web client is paused with a message half fed.
    let mut frames = Vec::new();
    let mask = [1u8, 2, 3, 4];
    for i in 0..n {
        let p = format!("x {i}\ny {i}");
        frames.extend_from_slice(&[0x81, 0x80 | p.len() as u8]);
        frames.extend_from_slice(&mask);
        frames.extend(p.bytes().enumerate().map(|(k, b)| b ^ mask[k % 4]));
    }
    w.s.write_all(&frames).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..n {
        assert_eq!(nc.until("x", |l| !l.starts_with("* ")), format!("{wnick}: x {i}"));
        assert_eq!(nc.until("y", |l| !l.starts_with("* ")), format!("{wnick}: y {i}"));
    }
}

#[test]
fn a_web_client_that_stops_reading_is_dropped() {
    let s = start(&["--stall-timeout", "1"]);
    let (mut nc, _) = join_line(&s);
    let (w, wnick) = join_web(&s);
    nc.until("web join", |l| l == format!("* {wnick} joined"));
    let batch: String = (0..20000).map(|i| format!("filler line {i}\n")).collect();
    nc.send(&batch);
    nc.until("drop notice", |l| l == format!("* {wnick} was disconnected (not reading)"));
    drop(w);
}

/// Wake-ups of process `pid` so far (voluntary context switches).
fn wakeups(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let v = status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"));
    v.unwrap().trim().parse().unwrap()
}

/// Web clients in the room cost nothing while idle: the HTTP sweep runs
/// only while HTTP connections wait (stopped within a period after the
/// last one upgraded), and nothing else ticks.
#[test]
fn idle_with_web_clients_makes_no_wake_ups() {
    let s = start(&[]);
    let (_nc, _) = join_line(&s);
    let (mut a, _) = join_web(&s);
    let (_b, bnick) = join_web(&s);
    a.until("b's join notice", |l| l == format!("* {bnick} joined"));
    if common::under_emulation() {
        return; // qemu's own threads make the count meaningless
    }
    let pid = s.child.id();
    let deadline = Instant::now() + WAIT;
    let mut before = wakeups(pid);
    loop {
        std::thread::sleep(Duration::from_millis(600)); // over the sweep's period
        let now = wakeups(pid);
        if now == before {
            break;
        }
        assert!(Instant::now() < deadline, "chat-server never went quiet");
        before = now;
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(wakeups(pid), before, "chat-server woke up while idle");
}

/// Frames sent right behind the handshake, in the same write, count.
#[test]
fn frames_right_behind_the_handshake_count() {
    let s = start(&[]);
    let (mut nc, _) = join_line(&s);
    let mut c = TcpStream::connect(s.web).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut req = upgrade_request(s.web, "", "").into_bytes();
    let mask = [9u8, 8, 7, 6];
    for text in ["/nick early", "first words"] {
        req.extend_from_slice(&[0x81, 0x80 | text.len() as u8]);
        req.extend_from_slice(&mask);
        req.extend(text.bytes().enumerate().map(|(k, b)| b ^ mask[k % 4]));
    }
    c.write_all(&req).unwrap();
    nc.until("nick notice", |l| l.ends_with(" is now early"));
    assert_eq!(nc.until("line", |l| !l.starts_with("* ")), "early: first words");
}

/// On SIGTERM a web client gets the notice and a close frame (1001).
#[test]
fn shutdown_closes_web_clients_with_going_away() {
    let mut s = start(&[]);
    let (mut w, _) = join_web(&s);
    // SAFETY (test): kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) }, 0);
    w.until("shutdown notice", |l| l == "* server shutting down");
    assert_eq!(w.close_code(), 1001);
    let deadline = Instant::now() + WAIT;
    while s.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "chat-server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}
