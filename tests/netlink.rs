//! rtnetlink on a real kernel, in a network namespace the test creates for
//! itself (a thread that `unshare`s its network namespace; the `ip`
//! commands it runs inherit it): a veth pair is created, brought up and
//! down, given addresses and removed, and each change must arrive as the
//! exact event. Needs CAP_SYS_ADMIN (root, as on CI); without it the test
//! says so and checks nothing.

use picosel::net::Netlink;
use picosel::net::netlink::{Addr, Groups, Link, Message};
use picosel::{DefaultSelector, Events};
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

/// Owned copies of the messages, so a test can keep what it saw.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Link { index: u32, name: String, up: bool, admin_up: bool, removed: bool },
    Addr { index: u32, addr: IpAddr, prefix: u8, removed: bool },
    Done,
    Other(String),
}

fn own(m: Message<'_>) -> Seen {
    match m {
        Message::Link(l @ Link { index, name, flags, removed, .. }) => Seen::Link {
            index,
            name: String::from_utf8_lossy(name).into_owned(),
            up: l.is_up(),
            admin_up: flags & picosel::net::netlink::IFF_UP != 0,
            removed,
        },
        Message::Addr(Addr { index, addr, prefix, removed, .. }) => {
            Seen::Addr { index, addr, prefix, removed }
        }
        Message::Done => Seen::Done,
        other => Seen::Other(format!("{other:?}")),
    }
}

struct Watch {
    nl: Netlink,
    sel: DefaultSelector<(), 2>,
    seen: Vec<Seen>,
}

impl Watch {
    fn new() -> Watch {
        let nl = Netlink::open(Groups::LINK | Groups::IPV4_ADDR | Groups::IPV6_ADDR).unwrap();
        let mut sel = DefaultSelector::new();
        sel.register(nl.as_raw_fd(), Events::READ, ()).unwrap();
        Watch { nl, sel, seen: Vec::new() }
    }

    /// Reads messages until one matches `want` (10 s at most); returns it.
    fn until(&mut self, what: &str, want: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 16384];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {what} within 10 s; saw {:#?}", self.seen);
            self.sel.select(Some(left)).unwrap();
            while self.sel.next_ready().is_some() {}
            while let Some(messages) = self.nl.recv(&mut buf).unwrap() {
                for m in messages {
                    let s = own(m);
                    assert!(
                        !matches!(s, Seen::Other(ref o) if o.contains("Malformed") || o.contains("Truncated")),
                        "{s:?}"
                    );
                    self.seen.push(s.clone());
                    if want(&s) {
                        return s;
                    }
                }
            }
        }
    }
}

fn ip(args: &str) {
    let st = Command::new("ip").args(args.split(' ')).status().expect("ip(8) runs");
    assert!(st.success(), "ip {args}: {st}");
}

fn link_named<'a>(
    name: &'a str,
    pred: impl Fn(bool, bool, bool) -> bool + 'a,
) -> impl Fn(&Seen) -> bool + 'a {
    move |s| matches!(s, Seen::Link { name: n, up, admin_up, removed, .. } if n == name && pred(*up, *admin_up, *removed))
}

#[test]
fn link_and_address_changes_arrive_as_events_in_a_namespace_of_our_own() {
    let result = std::thread::spawn(|| {
        // SAFETY: unshare(CLONE_NEWNET) moves only this thread into a new,
        // empty network namespace; it takes no pointers.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            let e = std::io::Error::last_os_error();
            eprintln!("skipped: cannot create a network namespace ({e}); needs CAP_SYS_ADMIN");
            return;
        }
        let mut w = Watch::new();
        ip("link add pv0 type veth peer name pv1");
        let Seen::Link { index, up, .. } = w.until("pv0 new", link_named("pv0", |_, _, r| !r))
        else {
            unreachable!()
        };
        assert!(!up, "a new veth is down");
        ip("link set pv0 up");
        // Up, but no carrier while the peer is down.
        w.until("pv0 admin up", link_named("pv0", |up, admin, _| admin && !up));
        ip("link set pv1 up");
        w.until("pv0 carrier", link_named("pv0", |up, _, _| up));

        ip("addr add 10.1.2.3/24 dev pv0");
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let got = w.until(
            "10.1.2.3 added",
            |s| matches!(s, Seen::Addr { addr, removed: false, .. } if *addr == v4),
        );
        assert_eq!(got, Seen::Addr { index, addr: v4, prefix: 24, removed: false });
        ip("-6 addr add fd00::3/64 dev pv0 nodad");
        let v6: IpAddr = "fd00::3".parse().unwrap();
        let got = w.until(
            "fd00::3 added",
            |s| matches!(s, Seen::Addr { addr, removed: false, .. } if *addr == v6),
        );
        assert_eq!(got, Seen::Addr { index, addr: v6, prefix: 64, removed: false });
        ip("addr del 10.1.2.3/24 dev pv0");
        let got = w.until(
            "10.1.2.3 removed",
            |s| matches!(s, Seen::Addr { addr, removed: true, .. } if *addr == v4),
        );
        assert_eq!(got, Seen::Addr { index, addr: v4, prefix: 24, removed: true });

        ip("link set pv1 down");
        w.until("pv0 lost carrier", link_named("pv0", |up, admin, _| admin && !up));

        // A dump tells the current state, then Done.
        let mut d = Watch {
            nl: Netlink::open(Groups::NONE).unwrap(),
            sel: DefaultSelector::new(),
            seen: Vec::new(),
        };
        d.sel.register(d.nl.as_raw_fd(), Events::READ, ()).unwrap();
        d.nl.request_links().unwrap();
        d.until("links dump end", |s| *s == Seen::Done);
        let mut names: Vec<&str> = d
            .seen
            .iter()
            .filter_map(|s| match s {
                Seen::Link { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        names.sort();
        assert_eq!(names, ["lo", "pv0", "pv1"], "{:?}", d.seen);
        d.seen.clear();
        d.nl.request_addrs().unwrap();
        d.until("address dump end", |s| *s == Seen::Done);
        assert!(
            d.seen.contains(&Seen::Addr { index, addr: v6, prefix: 64, removed: false }),
            "{:?}",
            d.seen
        );
        assert!(
            !d.seen.iter().any(|s| matches!(s, Seen::Addr { addr, .. } if *addr == v4)),
            "{:?}",
            d.seen
        );

        ip("link del pv0");
        w.until("pv0 removed", link_named("pv0", |_, _, removed| removed));
    })
    .join();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
