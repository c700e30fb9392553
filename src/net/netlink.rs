//! rtnetlink (`NETLINK_ROUTE`): link and address changes as they happen,
//! and dumps of the current state, parsed without allocating.
//!
//! [`Netlink::open`] joins the multicast groups a daemon asks for; the
//! socket is non-blocking and close-on-exec, so it goes into a selector or
//! loop like any other fd. Each readiness, [`Netlink::recv`] takes one
//! datagram and [`parse`] turns it into [`Message`]s: [`Link`] (an
//! interface appeared, changed or went away, with its name, index and
//! flags) and [`Addr`] (an address added or removed, with its prefix).
//!
//! The parser reads kernel output, so it trusts nothing in it: every length
//! field is checked against the bytes actually there, a message that does
//! not fit ends the datagram with [`Message::Malformed`], an attribute that
//! does not fit ends that message's attributes, and no slice it returns
//! reaches outside the input. It is fuzzed (`fuzz/`, target `netlink`).
//!
//! Two things a watcher must handle, both reported, never hidden: a
//! datagram larger than the buffer ([`Message::Truncated`] after what fit),
//! and a socket receive buffer that overflowed while the program was busy
//! (`recv` fails with `ENOBUFS`): events were lost either way, and a fresh
//! dump ([`Netlink::request_links`], [`Netlink::request_addrs`]) tells the
//! current state again.

use super::Fd;
use crate::{Errno, Error, RawFd, sys};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::BitOr;

// The kernel's ABI numbers (include/uapi/linux/{netlink,rtnetlink,
// if_link,if_addr,if}.h); stable since Linux 2.2.
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Interface flag `IFF_UP`: administratively up (`ip link set X up`).
pub const IFF_UP: u32 = 0x1;
/// Interface flag `IFF_RUNNING`: operationally up.
pub const IFF_RUNNING: u32 = 0x40;
/// Interface flag `IFF_LOWER_UP`: the driver signals carrier (cable in,
/// peer up).
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// The multicast groups a [`Netlink`] socket joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Groups(u32);

impl Groups {
    /// No group: the socket only gets answers to its own requests.
    pub const NONE: Groups = Groups(0);
    /// Links appearing, changing (up, down, carrier, rename) and going away
    /// (`RTMGRP_LINK`).
    pub const LINK: Groups = Groups(0x1);
    /// IPv4 addresses added and removed (`RTMGRP_IPV4_IFADDR`).
    pub const IPV4_ADDR: Groups = Groups(0x10);
    /// IPv6 addresses added and removed (`RTMGRP_IPV6_IFADDR`).
    pub const IPV6_ADDR: Groups = Groups(0x100);

    /// The kernel's group mask.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl BitOr for Groups {
    type Output = Groups;
    fn bitor(self, rhs: Groups) -> Groups {
        Groups(self.0 | rhs.0)
    }
}

/// A link (network interface) as a message describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link<'a> {
    /// The interface index.
    pub index: u32,
    /// The interface name (`IFLA_IFNAME`, without its NUL), empty if the
    /// message had none.
    pub name: &'a [u8],
    /// The interface flags (`IFF_UP`, `IFF_RUNNING`, `IFF_LOWER_UP`, ...).
    pub flags: u32,
    /// True for `RTM_DELLINK`: the interface went away.
    pub removed: bool,
}

impl Link<'_> {
    /// Administratively up and with carrier: what "the link is up" means
    /// to a script that reacts to a WAN cable or peer going away.
    pub const fn is_up(&self) -> bool {
        !self.removed && self.flags & IFF_UP != 0 && self.flags & IFF_LOWER_UP != 0
    }
}

/// An interface address as a message describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr<'a> {
    /// The interface index.
    pub index: u32,
    /// The address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: IpAddr,
    /// The prefix length (`/24`).
    pub prefix: u8,
    /// The IPv4 label (`IFA_LABEL`, e.g. `eth0:1`), empty if none.
    pub label: &'a [u8],
    /// True for `RTM_DELADDR`: the address was removed.
    pub removed: bool,
}

/// One message of a netlink datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// `RTM_NEWLINK` or `RTM_DELLINK`.
    Link(Link<'a>),
    /// `RTM_NEWADDR` or `RTM_DELADDR`.
    Addr(Addr<'a>),
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// `NLMSG_ERROR` with a non-zero code: the kernel refused a request.
    Error(Errno),
    /// `NLMSG_OVERRUN`, or a datagram cut off by a short buffer: messages
    /// were lost; a new dump tells the current state.
    Truncated,
    /// A message that does not hold what its type promises, or a header
    /// whose length does not fit: nothing after it in the datagram is read.
    Malformed,
    /// Any other message type (acknowledgements, routes, ...).
    Other {
        /// `nlmsg_type`.
        kind: u16,
    },
}

/// The messages of one datagram: an iterator over [`Message`]s. Ends after
/// the last whole message, or after a [`Message::Malformed`] or
/// [`Message::Truncated`].
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
    /// The datagram was longer than the buffer: say so at the end.
    truncated: bool,
}

/// Parses the messages of a datagram as the kernel wrote it.
///
/// ```
/// use picosel::net::netlink::{self, Message};
/// // NLMSG_DONE: a 16-byte header and a 4-byte payload, native endian.
/// let mut done = Vec::new();
/// for v in [20u32] { done.extend(v.to_ne_bytes()); }
/// done.extend(3u16.to_ne_bytes()); // type
/// done.extend(2u16.to_ne_bytes()); // flags
/// done.extend([0u8; 12]); // seq, pid, payload
/// assert_eq!(netlink::parse(&done).collect::<Vec<_>>(), [Message::Done]);
/// // A header whose length points past the end is not trusted.
/// done[0] = 200;
/// assert_eq!(netlink::parse(&done).collect::<Vec<_>>(), [Message::Malformed]);
/// ```
pub fn parse(datagram: &[u8]) -> Messages<'_> {
    Messages { rest: datagram, truncated: false }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([*s.first()?, *s.get(1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, *s.get(3)?]))
}

/// Netlink's 4-byte alignment.
const fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// The `(type, payload)` attributes (`rtattr`) in `b`; stops at the first
/// one whose length does not fit.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    core::iter::from_fn(move || {
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)?;
        let payload = b.get(4..len)?;
        b = b.get(align4(len)..).unwrap_or(&[]);
        Some((kind & 0x3fff, payload))
    })
}

/// `payload` up to its first NUL.
fn c_str(payload: &[u8]) -> &[u8] {
    let end = payload.iter().position(|&c| c == 0).unwrap_or(payload.len());
    payload.get(..end).unwrap_or(&[])
}

fn link(body: &[u8], removed: bool) -> Option<Link<'_>> {
    let index = u32_at(body, 4)?;
    let flags = u32_at(body, 8)?;
    let mut name: &[u8] = &[];
    for (kind, payload) in attrs(body.get(IFINFOMSG_LEN..)?) {
        if kind == IFLA_IFNAME {
            name = c_str(payload);
        }
    }
    Some(Link { index, name, flags, removed })
}

fn ip(family: u8, payload: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => {
            let o: [u8; 4] = payload.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(o)))
        }
        AF_INET6 => {
            let o: [u8; 16] = payload.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

fn addr(body: &[u8], removed: bool) -> Option<Addr<'_>> {
    let family = *body.first()?;
    let prefix = *body.get(1)?;
    let index = u32_at(body, 4)?;
    let (mut local, mut address, mut label) = (None, None, &[][..]);
    for (kind, payload) in attrs(body.get(IFADDRMSG_LEN..)?) {
        match kind {
            IFA_LOCAL => local = ip(family, payload),
            IFA_ADDRESS => address = ip(family, payload),
            IFA_LABEL => label = c_str(payload),
            _ => {}
        }
    }
    Some(Addr { index, addr: local.or(address)?, prefix, label, removed })
}

impl<'a> Iterator for Messages<'a> {
    type Item = Message<'a>;

    fn next(&mut self) -> Option<Message<'a>> {
        if self.rest.is_empty() {
            return self.truncated.then(|| {
                self.truncated = false;
                Message::Truncated
            });
        }
        let stop = |m: &mut Messages<'a>, msg| {
            (m.rest, m.truncated) = (&[], false);
            Some(msg)
        };
        let len = u32_at(self.rest, 0).map_or(0, |l| l as usize);
        let (Some(kind), Some(msg)) = (u16_at(self.rest, 4), self.rest.get(..len)) else {
            return stop(self, Message::Malformed);
        };
        if len < NLMSG_HDRLEN {
            return stop(self, Message::Malformed);
        }
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        let body = msg.get(NLMSG_HDRLEN..).unwrap_or(&[]);
        let parsed = match kind {
            RTM_NEWLINK | RTM_DELLINK => link(body, kind == RTM_DELLINK).map(Message::Link),
            RTM_NEWADDR | RTM_DELADDR => addr(body, kind == RTM_DELADDR).map(Message::Addr),
            NLMSG_DONE => Some(Message::Done),
            NLMSG_OVERRUN => return stop(self, Message::Truncated),
            NLMSG_ERROR => match u32_at(body, 0).map(|e| e as i32) {
                Some(0) => Some(Message::Other { kind }),
                Some(e) => Some(Message::Error(Errno::from_raw_os_error(e.saturating_neg()))),
                None => None,
            },
            _ => Some(Message::Other { kind }),
        };
        match parsed {
            Some(m) => Some(m),
            None => stop(self, Message::Malformed),
        }
    }
}

/// A `NETLINK_ROUTE` socket: link and address events, and dumps.
///
/// ```no_run
/// use picosel::net::netlink::{Groups, Message, Netlink};
/// use picosel::{DefaultSelector, Events};
///
/// let mut nl = Netlink::open(Groups::LINK | Groups::IPV4_ADDR | Groups::IPV6_ADDR)?;
/// let mut sel: DefaultSelector<(), 4> = DefaultSelector::new();
/// sel.register(nl.as_raw_fd(), Events::READ, ())?;
/// nl.request_links()?; // the current state first, then the changes
/// let mut buf = [0u8; 8192];
/// loop {
///     sel.select(None)?;
///     while let Some(messages) = nl.recv(&mut buf)? {
///         for m in messages {
///             if let Message::Link(l) = m {
///                 println!("{} {}", String::from_utf8_lossy(l.name), if l.is_up() { "up" } else { "down" });
///             }
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Netlink {
    fd: Fd,
    seq: u32,
}

impl Netlink {
    /// Opens a route socket that receives the events of `groups`
    /// (`Groups::NONE` for requests only).
    pub fn open(groups: Groups) -> Result<Netlink, Error> {
        Ok(Netlink { fd: Fd(sys::netlink_route_socket(groups.bits())?), seq: 0 })
    }

    fn request(&mut self, kind: u16, body_len: usize) -> Result<(), Errno> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + body_len;
        let mut msg = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        let fields = [
            (0, &(len as u32).to_ne_bytes()[..]),
            (4, &kind.to_ne_bytes()[..]),
            (6, &(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes()[..]),
            (8, &self.seq.to_ne_bytes()[..]),
        ];
        for (at, bytes) in fields {
            if let Some(dst) = msg.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        // The family (first body byte) stays 0, AF_UNSPEC: every family.
        let msg = msg.get(..len).unwrap_or(&[]);
        sys::retry_on_intr(|| sys::netlink_send(self.fd.0, msg)).map(drop)
    }

    /// Asks for every link; they arrive as [`Message::Link`]s, then
    /// [`Message::Done`]. One dump at a time per socket: wait for `Done`
    /// before the next request (the kernel answers `EBUSY` otherwise).
    pub fn request_links(&mut self) -> Result<(), Errno> {
        self.request(RTM_GETLINK, IFINFOMSG_LEN)
    }

    /// Asks for every address (IPv4 and IPv6): [`Message::Addr`]s, then
    /// [`Message::Done`].
    pub fn request_addrs(&mut self) -> Result<(), Errno> {
        self.request(RTM_GETADDR, IFADDRMSG_LEN)
    }

    /// Takes one datagram into `buf` and returns its messages, or `None`
    /// when none is waiting. A datagram larger than `buf` yields what fit,
    /// then [`Message::Truncated`] (8 KiB holds any event; dumps of many
    /// links may need 32 KiB). `ENOBUFS` means the socket's receive buffer
    /// overflowed and events were lost: dump again.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Option<Messages<'b>>, Errno> {
        match sys::retry_on_intr(|| sys::netlink_recv(self.fd.0, buf)) {
            Ok(len) => {
                let got = buf.get(..len.min(buf.len())).unwrap_or(&[]);
                Ok(Some(Messages { rest: got, truncated: len > got.len() }))
            }
            Err(e) if e.is_would_block() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The socket's fd, to register for `READ`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn header(out: &mut Vec<u8>, len: usize, kind: u16) {
        out.extend((len as u32).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(0u16.to_ne_bytes());
        out.extend([0u8; 8]);
    }

    fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
        out.extend(((4 + payload.len()) as u16).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(payload);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    fn link_msg(kind: u16, index: u32, flags: u32, name: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend([0u8, 0]);
        body.extend(1u16.to_ne_bytes());
        body.extend(index.to_ne_bytes());
        body.extend(flags.to_ne_bytes());
        body.extend(0u32.to_ne_bytes());
        attr(&mut body, IFLA_IFNAME, name);
        let mut out = Vec::new();
        header(&mut out, NLMSG_HDRLEN + body.len(), kind);
        out.extend(body);
        out
    }

    fn addr_msg(kind: u16, family: u8, prefix: u8, index: u32, ip: &[u8]) -> Vec<u8> {
        let mut body = Vec::from([family, prefix, 0, 0]);
        body.extend(index.to_ne_bytes());
        attr(&mut body, IFA_ADDRESS, ip);
        attr(&mut body, IFA_LOCAL, ip);
        attr(&mut body, IFA_LABEL, b"eth0\0");
        let mut out = Vec::new();
        header(&mut out, NLMSG_HDRLEN + body.len(), kind);
        out.extend(body);
        out
    }

    #[test]
    fn links_and_addresses_parse() {
        let mut d = link_msg(RTM_NEWLINK, 3, IFF_UP | IFF_LOWER_UP | IFF_RUNNING, b"wan\0");
        d.extend(link_msg(RTM_DELLINK, 4, 0, b"veth0\0"));
        d.extend(addr_msg(RTM_NEWADDR, AF_INET, 24, 3, &[192, 168, 1, 1]));
        d.extend(addr_msg(
            RTM_DELADDR,
            AF_INET6,
            64,
            3,
            &[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ));
        let got: Vec<_> = parse(&d).collect();
        let wan = Link {
            index: 3,
            name: b"wan",
            flags: IFF_UP | IFF_LOWER_UP | IFF_RUNNING,
            removed: false,
        };
        assert_eq!(got[0], Message::Link(wan));
        assert!(wan.is_up());
        assert_eq!(
            got[1],
            Message::Link(Link { index: 4, name: b"veth0", flags: 0, removed: true })
        );
        let Message::Addr(a) = got[2] else { panic!("{got:?}") };
        assert_eq!(
            (a.addr, a.prefix, a.label, a.removed),
            ("192.168.1.1".parse().unwrap(), 24, &b"eth0"[..], false)
        );
        let Message::Addr(a) = got[3] else { panic!("{got:?}") };
        assert_eq!((a.addr, a.prefix, a.removed), ("fd00::1".parse().unwrap(), 64, true));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn lying_lengths_never_reach_past_the_input() {
        let good = link_msg(RTM_NEWLINK, 1, IFF_UP, b"lo\0");
        for cut in 0..good.len() {
            // Every prefix of a message: a clean stop, never a panic.
            let got: Vec<_> = parse(&good[..cut]).collect();
            assert!(cut == 0 || got == [Message::Malformed], "cut {cut}: {got:?}");
        }
        let mut long = good.clone();
        long[0] = 0xff; // length past the end
        assert_eq!(parse(&long).collect::<Vec<_>>(), [Message::Malformed]);
        let mut short = good.clone();
        short[0] = 8; // shorter than a header
        short[1..4].fill(0);
        assert_eq!(parse(&short).collect::<Vec<_>>(), [Message::Malformed]);
        let mut bad_attr = good.clone();
        bad_attr[NLMSG_HDRLEN + IFINFOMSG_LEN] = 0xf0; // attribute longer than the message
        let got: Vec<_> = parse(&bad_attr).collect();
        assert_eq!(
            got,
            [Message::Link(Link { index: 1, name: b"", flags: IFF_UP, removed: false })]
        );
    }

    #[test]
    fn errors_done_and_overrun() {
        let mut d = Vec::new();
        header(&mut d, NLMSG_HDRLEN + 4, NLMSG_ERROR);
        d.extend((-16i32).to_ne_bytes()); // -EBUSY
        header(&mut d, NLMSG_HDRLEN, NLMSG_DONE);
        let got: Vec<_> = parse(&d).collect();
        assert_eq!(got, [Message::Error(Errno::EBUSY), Message::Done]);
        let mut o = Vec::new();
        header(&mut o, NLMSG_HDRLEN, NLMSG_OVERRUN);
        header(&mut o, NLMSG_HDRLEN, NLMSG_DONE);
        assert_eq!(parse(&o).collect::<Vec<_>>(), [Message::Truncated]);
        let cut = Messages { rest: &d[..NLMSG_HDRLEN + 4], truncated: true };
        assert_eq!(cut.collect::<Vec<_>>(), [Message::Error(Errno::EBUSY), Message::Truncated]);
    }
}
