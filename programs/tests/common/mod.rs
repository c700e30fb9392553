//! Starting the real programs and talking to them over loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A command for program `bin`, prefixed by `PICOSEL_TEST_RUNNER` when set
/// (e.g. `qemu-arm-static` when the tests run under emulation).
pub fn command(bin: &str) -> Command {
    match std::env::var("PICOSEL_TEST_RUNNER") {
        Ok(r) if !r.trim().is_empty() => {
            let mut parts = r.split_whitespace();
            let mut c = Command::new(parts.next().unwrap());
            c.args(parts).arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

pub fn under_emulation() -> bool {
    std::env::var("PICOSEL_TEST_RUNNER").is_ok_and(|r| !r.trim().is_empty())
}

/// Spawns `cmd`; every test starts its programs through this.
///
/// Under emulation the child is also checked to exec within [`EXEC_WAIT`]:
/// qemu-user runs a spawn from this multi-threaded harness as a plain fork
/// of the whole emulator, and now and then (1 in 73 runs of tests/others.rs
/// under qemu-arm 7.2) that fork deadlocks before it execs anything, its
/// threads in futex waits: CI saw it as a server that "printed no first
/// line". Such a child is killed and the command spawned once more. A child
/// that did exec is never retried: a program that starts and fails still
/// fails the test. (A command with `pre_exec` is spawned by a fork that
/// `cmd.spawn()` itself waits on to exec: this cannot bound that.)
pub fn spawn(cmd: &mut Command) -> Child {
    try_spawn(cmd).unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

/// As [`spawn`], with the error of a program that cannot be started.
pub fn try_spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let child = cmd.spawn()?;
    if !under_emulation() {
        return Ok(child);
    }
    exec_within(child, EXEC_WAIT).or_else(|state| {
        // Straight to fd 2, not eprintln!, which the test harness captures
        // and shows only if the test fails: the retry is worth seeing in CI.
        let line = format!("{cmd:?} never exec'd within {EXEC_WAIT:?}, spawned again; {state}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        cmd.spawn()
    })
}

/// How long a child under emulation may take to exec (it takes milliseconds).
const EXEC_WAIT: Duration = Duration::from_secs(10);

/// `child` once it has exec'd (or exited); else its state, after killing and
/// reaping it. There is no signal for an exec, so this polls /proc, bounded.
fn exec_within(mut child: Child, limit: Duration) -> Result<Child, String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if execd(child.id()) != Some(false) {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let state = child_state(child.id());
    let _ = child.kill();
    let _ = child.wait();
    Err(state)
}

/// Whether process `pid`, a child of this one, has exec'd: false while its
/// command line is still this harness's (a fork that has not exec'd yet),
/// None while it has none (its exec is under way, or it exited). Under qemu-user the
/// harness's own argv lacks the `qemu-arm-static` before it that the
/// emulator's real command line has: hence "ends with".
fn execd(pid: u32) -> Option<bool> {
    let theirs = std::fs::read(format!("/proc/{pid}/cmdline")).ok().filter(|c| !c.is_empty())?;
    let mut ours = Vec::new();
    for a in std::env::args_os() {
        ours.extend_from_slice(a.as_encoded_bytes());
        ours.push(0);
    }
    Some(!theirs.ends_with(&ours))
}

/// What child `pid` is doing, for the message of a wait that timed out:
/// whether it exec'd, its command line, its state and where each of its
/// threads sleeps (wchan).
pub fn child_state(pid: u32) -> String {
    let read = |f: &str| std::fs::read_to_string(format!("/proc/{pid}/{f}")).unwrap_or_default();
    let execd = match execd(pid) {
        Some(true) => "exec'd",
        Some(false) => "NEVER exec'd (still a fork of the test harness)",
        None => "exec'ing or exited",
    };
    let cmdline = read("cmdline").replace('\0', " ");
    let status = read("status");
    let field =
        |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("?").trim().to_string();
    let mut threads = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let f = |n: &str| std::fs::read_to_string(t.path().join(n)).unwrap_or_default();
            // stat: "tid (comm) S ...": the state follows the last ')'.
            let stat = f("stat");
            let st = stat.rsplit_once(") ").map_or("?", |(_, r)| &r[..1]);
            threads.push(format!("{} {st} {}", t.file_name().to_string_lossy(), f("wchan")));
        }
    }
    format!(
        "child {pid} {execd}: cmdline {:?}, State {}, wchan {}, threads [{}]",
        cmdline.trim_end(),
        field("State:"),
        read("wchan"),
        threads.join(", ")
    )
}

/// The next line a reader thread of `child`'s stdout sends on `rx`, within
/// [`WAIT`]; else `child` is killed and the test fails with `what` and
/// what the child was doing.
pub fn recv_line(
    rx: &mpsc::Receiver<String>,
    child: &mut Child,
    what: impl Fn() -> String,
) -> String {
    rx.recv_timeout(WAIT).unwrap_or_else(|_| {
        let state = child_state(child.id());
        let _ = child.kill();
        panic!("{} within {WAIT:?}; {state}", what())
    })
}

/// Waits at most `limit` for `child` to exit, then collects its output
/// (which must fit in the pipes: it is read only after the exit).
pub fn output_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let state = child_state(child.id());
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("program did not exit within {limit:?}: {out:?}; {state}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// As `cmd.output()` (stdin /dev/null, stdout and stderr captured), spawned
/// with [`spawn`] and bounded by [`WAIT`].
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    output_within(spawn(cmd), WAIT)
}

/// A running server; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub first_line: String,
}

impl Server {
    pub fn start(bin: &str, args: &[&str]) -> Server {
        Server::start_with_stderr(bin, args, Stdio::inherit())
    }

    /// As [`start`](Self::start), with the server's stderr going to
    /// `stderr` (`Stdio::piped()`: read it from `child.stderr`).
    pub fn start_with_stderr(bin: &str, args: &[&str], stderr: Stdio) -> Server {
        let mut child = spawn(command(bin).args(args).stdout(Stdio::piped()).stderr(stderr));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = recv_line(&rx, &mut child, || format!("{bin} printed no first line"));
        let addr_text = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let addr = addr_text.parse().unwrap();
        Server { child, addr, first_line: line }
    }

    /// Spawns `cmd`, a server told to listen on a loopback port 0, without
    /// reading its stdout (which a test may have closed or filled): the port
    /// is found in /proc, as the LISTEN entry of /proc/net/tcp whose inode is
    /// one of the child's socket fds. No output to wait for, so this polls,
    /// bounded by [`WAIT`], and fails at once if the child exits first.
    pub fn spawn_quiet(mut cmd: Command) -> Server {
        let mut child = spawn(&mut cmd);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(port) = listening_port(child.id()) {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                return Server { child, addr, first_line: String::new() };
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("server exited before it listened: {st}");
            }
            assert!(
                Instant::now() < deadline,
                "server never listened; {}",
                child_state(child.id())
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY (test): kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Waits for the exit status, bounded by [`WAIT`].
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.wait_exit_within(WAIT)
    }

    /// Waits at most `limit` for the exit status.
    pub fn wait_exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within {limit:?}; {}",
                child_state(self.child.id())
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident memory in KiB (VmRSS), from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap())
            .unwrap()
    }
}

/// The IPv4 port process `pid` listens on (see [`Server::spawn_quiet`]).
fn listening_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| {
            let link = std::fs::read_link(e.ok()?.path()).ok()?;
            Some(link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|l| {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let f: Vec<&str> = l.split_whitespace().collect();
        let listening = f.get(3) == Some(&"0A");
        if !listening || !inodes.iter().any(|i| f.get(9) == Some(&i.as_str())) {
            return None;
        }
        u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of program `name`: `$PICOSEL_TEST_BIN_DIR/name` when that is
/// set (e.g. `target/router/armv7-unknown-linux-musleabihf/release`, to test
/// the router builds under `PICOSEL_TEST_RUNNER`), else cargo's own build.
pub fn bin(name: &str) -> String {
    if let Some(dir) = std::env::var_os("PICOSEL_TEST_BIN_DIR").filter(|d| !d.is_empty()) {
        return std::path::Path::new(&dir).join(name).to_string_lossy().into_owned();
    }
    match name {
        "chat-server" => env!("CARGO_BIN_EXE_chat-server"),
        "chat-client" => env!("CARGO_BIN_EXE_chat-client"),
        "echo-server" => env!("CARGO_BIN_EXE_echo-server"),
        "time-server" => env!("CARGO_BIN_EXE_time-server"),
        "watch-client" => env!("CARGO_BIN_EXE_watch-client"),
        "link-watch" => env!("CARGO_BIN_EXE_link-watch"),
        _ => panic!("no such program {name}"),
    }
    .to_string()
}

/// A line-oriented test client with bounded waits.
pub struct Peer {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Peer { reader: BufReader::new(stream.try_clone().unwrap()), stream }
    }

    pub fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).unwrap();
    }

    /// The next line, without its newline; None at EOF.
    pub fn line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => Some(String::from_utf8_lossy(&buf).trim_end_matches('\n').to_string()),
            Err(e) => panic!("read failed (timeout?): {e}"),
        }
    }

    /// Reads lines until one satisfies `pred`; returns it.
    pub fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        loop {
            match self.line() {
                Some(l) if pred(&l) => return l,
                Some(_) => continue,
                None => panic!("EOF while waiting for {what}"),
            }
        }
    }

    /// Reads to EOF, returning everything.
    pub fn rest(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_to_string(&mut s).unwrap();
        s
    }
}

/// Raises this process's soft fd limit to at least `want` (up to the hard
/// limit; raising is harmless to the other tests). The children inherit it.
/// False if the hard limit is lower.
#[allow(clippy::unnecessary_cast)] // rlim_t is 32 bits on 32-bit ARM
pub fn raise_fd_limit(want: u64) -> bool {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY (test): valid pointer to a rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return false;
    }
    if lim.rlim_cur as u64 >= want {
        return true;
    }
    if (lim.rlim_max as u64) < want {
        return false;
    }
    lim.rlim_cur = want as _;
    // SAFETY (test): as above.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

/// A TCP port on 127.0.0.1 that refuses connections for as long as the
/// returned fd lives: a socket bound to it (without `SO_REUSEADDR`) but not
/// listening. Nobody else can bind the port meanwhile, unlike a listener
/// that was bound and dropped, whose port another test binding port 0 may
/// get in between.
pub fn refusing_port() -> (std::os::fd::OwnedFd, std::net::SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY (test): plain integers; the new fd is owned by the OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY (test): `fd` is a new socket nothing else owns.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY (test): sockaddr_in is plain data; all-zero is valid.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let ptr = (&mut sin as *mut libc::sockaddr_in).cast::<libc::sockaddr>();
    // SAFETY (test): `ptr` and `len` describe `sin`, alive for both calls.
    unsafe {
        assert_eq!(libc::bind(fd, ptr, len), 0, "bind: {}", std::io::Error::last_os_error());
        assert_eq!(libc::getsockname(fd, ptr, &mut len), 0);
    }
    let port = u16::from_be(sin.sin_port);
    (owned, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}
