//! link-watch: one line per link or address change, as it happens, from
//! rtnetlink; what a router script reads to react to a WAN link going
//! down. See `--help`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use picosel::net::Netlink;
use picosel::net::netlink::{Addr, Groups, Link, Message};
use picosel::{EventLoop, Events, Token};
use progs::fmt::{BufWriter, Show};
use progs::{cli, err, log_err};

progs::entry!(server: run);

/// `--help`: the text is in `programs/help/link-watch.txt`.
const USAGE: &[u8] = progs::help!("link-watch");

/// Links remembered (name and state), for the address lines' names and to
/// print a link only when its state changes.
const LINKS: usize = 256;
/// Name bytes kept per link (IFNAMSIZ).
const NAME: usize = 16;

#[derive(Clone, Copy)]
struct Known {
    index: u32,
    up: bool,
    name: [u8; NAME],
    name_len: u8,
}

impl Known {
    fn name(&self) -> &[u8] {
        self.name.get(..usize::from(self.name_len)).unwrap_or(&[])
    }
}

/// What the next datagrams answer: the start-up dumps, then events only.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    LinkDump,
    AddrDump,
    Events,
}

struct Watch {
    nl: Netlink,
    links: [Option<Known>; LINKS],
    phase: Phase,
    dump: bool,
    /// After a loss, links are dumped again once the current dump ends.
    redump: bool,
}

type Loop = EventLoop<Watch, 2, 2>;

fn run() -> i32 {
    let mut argbuf = [0u8; 1024];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut dump = false;
    let parsed = cli::parse(args.skip(1), &["--dump"], &[], |p| match p {
        cli::Parsed::Opt("--dump", None) => {
            dump = true;
            Ok(())
        }
        cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => Err(cli::CliError::Unknown(o)),
    });
    if let Err(e) = parsed {
        return cli::fail(e, USAGE);
    }
    let mut nl = match Netlink::open(Groups::LINK | Groups::IPV4_ADDR | Groups::IPV6_ADDR) {
        Ok(nl) => nl,
        Err(e) => {
            err!("link-watch: cannot open rtnetlink: ", e, "\n");
            return 1;
        }
    };
    // The links are always read first: their names label the address lines.
    if let Err(e) = nl.request_links() {
        err!("link-watch: cannot ask for the links: ", e, "\n");
        return 1;
    }
    let mut lp = Loop::new();
    let setup = lp
        .register(nl.as_raw_fd(), Events::READ, on_netlink, Token(0))
        .and_then(|()| lp.add_signal(progs::os::SIGINT, on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, on_signal, Token(0)));
    if let Err(e) = setup {
        err!("link-watch: ", e, "\n");
        return 1;
    }
    let mut w = Watch { nl, links: [None; LINKS], phase: Phase::LinkDump, dump, redump: false };
    match lp.run(&mut w) {
        Ok(()) => 0,
        Err(e) => {
            err!("link-watch: ", e, "\n");
            1
        }
    }
}

fn on_signal(lp: &mut Loop, _w: &mut Watch, _signo: i32, _t: Token) {
    lp.stop();
}

fn on_netlink(lp: &mut Loop, w: &mut Watch, _fd: i32, _ev: Events, _t: Token) {
    let mut buf = [0u8; 32 * 1024];
    // A bounded number of datagrams per readiness, so a signal is not kept
    // waiting behind a flood of events.
    for _ in 0..64 {
        match w.nl.recv(&mut buf) {
            Ok(Some(messages)) => {
                for m in messages {
                    if !handle(w, m) {
                        lp.stop();
                        return;
                    }
                }
            }
            Ok(None) => return,
            Err(e) => {
                // ENOBUFS: the socket's buffer overflowed; anything else
                // is reported the same way and answered with a new dump.
                lost(w, e);
            }
        }
    }
}

/// Events were lost: say so and read the links again.
fn lost(w: &mut Watch, why: impl Show) {
    log_err!("link-watch: events lost (", why, "); reading the links again\n");
    if w.phase == Phase::Events {
        redump(w);
    } else {
        w.redump = true;
    }
}

fn redump(w: &mut Watch) {
    match w.nl.request_links() {
        Ok(()) => w.phase = Phase::LinkDump,
        Err(e) => {
            log_err!("link-watch: cannot ask for the links: ", e, "\n");
        }
    }
}

/// One message; false when the output is gone and the watch should end.
fn handle(w: &mut Watch, m: Message<'_>) -> bool {
    match m {
        Message::Link(l) => link(w, &l),
        Message::Addr(a) if w.phase == Phase::Events || (w.dump && w.phase == Phase::AddrDump) => {
            addr(w, &a)
        }
        Message::Done => {
            done(w);
            true
        }
        Message::Truncated | Message::Malformed => {
            lost(w, "a datagram that did not fit or did not parse");
            true
        }
        Message::Error(e) => {
            log_err!("link-watch: the kernel refused a request: ", e, "\n");
            true
        }
        _ => true,
    }
}

fn done(w: &mut Watch) {
    w.phase = match w.phase {
        Phase::LinkDump if w.redump => {
            w.redump = false;
            redump(w);
            return;
        }
        Phase::LinkDump if w.dump => match w.nl.request_addrs() {
            Ok(()) => Phase::AddrDump,
            Err(e) => {
                log_err!("link-watch: cannot ask for the addresses: ", e, "\n");
                Phase::Events
            }
        },
        _ => Phase::Events,
    };
}

/// Prints a link line when the link is new or its state changed (the
/// kernel sends several messages for one change).
fn link(w: &mut Watch, l: &Link<'_>) -> bool {
    let up = l.is_up();
    let at = w.links.iter().position(|k| k.is_some_and(|k| k.index == l.index));
    let known = at.and_then(|i| w.links.get(i).copied().flatten());
    if l.removed {
        if let Some(i) = at {
            if let Some(slot) = w.links.get_mut(i) {
                *slot = None;
            }
        }
        return match known {
            Some(k) if k.up => line(&[&Name(k.name()), &" down\n"]),
            _ => true,
        };
    }
    let mut k = Known { index: l.index, up, name: [0; NAME], name_len: 0 };
    let n = l.name.len().min(NAME);
    if let (Some(dst), Some(src)) = (k.name.get_mut(..n), l.name.get(..n)) {
        dst.copy_from_slice(src);
        k.name_len = n as u8;
    }
    let changed = known.is_none_or(|old| old.up != up || old.name() != k.name());
    let slot = at.or_else(|| w.links.iter().position(Option::is_none));
    match slot.and_then(|i| w.links.get_mut(i)) {
        Some(s) => *s = Some(k),
        None => {
            log_err!(
                "link-watch: more than ",
                LINKS,
                " links; not remembering ",
                Name(l.name),
                "\n"
            );
        }
    }
    let print = changed && (w.phase == Phase::Events || w.dump || known.is_some());
    if !print {
        return true;
    }
    line(&[&Name(l.name), &if up { " up\n" } else { " down\n" }])
}

fn addr(w: &mut Watch, a: &Addr<'_>) -> bool {
    let known = w.links.iter().flatten().find(|k| k.index == a.index);
    let how = if a.removed { "del" } else { "add" };
    let ip = a.addr;
    match known {
        Some(k) => line(&[&Name(k.name()), &" addr ", &how, &" ", &ip, &"/", &a.prefix, &"\n"]),
        None => line(&[&"if", &a.index, &" addr ", &how, &" ", &ip, &"/", &a.prefix, &"\n"]),
    }
}

/// Writes one line to stdout; false when stdout is gone (EPIPE, closed).
fn line(parts: &[&dyn Show]) -> bool {
    let mut buf = [0u8; 128];
    progs::os::write_all(progs::os::STDOUT, progs::fmt::concat(&mut buf, parts)).is_ok()
}

/// An interface name, printed as text (bytes that are not UTF-8 as `?`).
struct Name<'a>(&'a [u8]);

impl Show for Name<'_> {
    fn show(&self, w: &mut BufWriter<'_>) {
        for chunk in self.0.utf8_chunks() {
            w.push_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                w.push_byte(b'?');
            }
        }
    }
}
