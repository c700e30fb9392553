//! link-watch as a process, in a network namespace of its own: started
//! under `unshare -n`, with `ip` run inside the same namespace through
//! `nsenter`; each change to a veth pair must come out as its line. Needs
//! root (as on CI); without it the test says so and checks nothing.

mod common;
use common::WAIT;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    /// `link-watch ARGS` in a new network namespace, or None without the
    /// privilege to make one.
    fn start(args: &[&str]) -> Option<Watcher> {
        let probe = common::try_spawn(Command::new("unshare").args(["-n", "true"]))
            .and_then(|mut c| c.wait());
        if !probe.is_ok_and(|s| s.success()) {
            eprintln!("skipped: cannot create a network namespace (needs root and unshare(1))");
            return None;
        }
        let mut cmd = Command::new("unshare");
        cmd.arg("-n");
        if let Ok(runner) = std::env::var("PICOSEL_TEST_RUNNER") {
            cmd.args(runner.split_whitespace());
        }
        let bin = match std::env::var_os("PICOSEL_TEST_BIN_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => std::path::Path::new(&dir).join("link-watch").into_os_string(),
            None => env!("CARGO_BIN_EXE_link-watch").into(),
        };
        cmd.arg(bin).args(args).stdout(Stdio::piped());
        let mut child = common::spawn(&mut cmd);
        let out: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Some(Watcher { child, lines, seen: Vec::new() })
    }

    /// Runs `ip ARGS` in the watcher's namespace.
    fn ip(&self, args: &str) {
        let pid = self.child.id().to_string();
        let mut cmd = Command::new("nsenter");
        let st =
            common::spawn(cmd.args(["-t", &pid, "-n", "ip"]).args(args.split(' '))).wait().unwrap();
        assert!(st.success(), "ip {args}: {st}");
    }

    /// Reads lines until `want` has come; lines about link-local IPv6
    /// addresses (which the kernel adds and removes by itself) are skipped.
    fn expect(&mut self, want: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(" fe80:") => {}
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line == want {
                        return;
                    }
                }
                Err(_) => {
                    let state = common::child_state(self.child.id());
                    panic!("no line {want:?} within {WAIT:?}; saw {:#?}; {state}", self.seen)
                }
            }
        }
    }

    /// All of `want`, in any order (the kernel reports the two ends of a
    /// veth pair in either order).
    fn expect_all(&mut self, want: &[&str]) {
        let from = self.seen.len();
        for w in want {
            if !self.seen.get(from..).unwrap_or(&[]).iter().any(|l| l == w) {
                self.expect(w);
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn link_watch_prints_each_change_of_a_veth_pair() {
    let Some(mut w) = Watcher::start(&["--dump"]) else { return };
    // --dump: the namespace's one link, down.
    w.expect("lo down");
    w.ip("link add pv0 type veth peer name pv1");
    w.expect_all(&["pv0 down", "pv1 down"]);
    w.ip("link set pv0 up"); // up, but no carrier: no line
    w.ip("link set pv1 up");
    w.expect_all(&["pv1 up", "pv0 up"]);
    w.ip("addr add 10.1.2.3/24 dev pv0");
    w.expect("pv0 addr add 10.1.2.3/24");
    w.ip("-6 addr add fd00::3/64 dev pv0 nodad");
    w.expect("pv0 addr add fd00::3/64");
    w.ip("addr del 10.1.2.3/24 dev pv0");
    w.expect("pv0 addr del 10.1.2.3/24");
    w.ip("link set pv1 down");
    w.expect_all(&["pv1 down", "pv0 down"]);
    // Nothing was printed twice for one change (the kernel sends several
    // messages for some of them).
    let ups = w.seen.iter().filter(|l| *l == "pv0 up").count();
    assert_eq!(ups, 1, "{:#?}", w.seen);
    // SIGTERM ends it with 0.
    // SAFETY (test): kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(w.child.id() as i32, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(st) = w.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "link-watch did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status}");
}
