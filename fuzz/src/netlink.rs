//! Target `netlink`: arbitrary bytes as a datagram from the kernel, through
//! `picosel::net::netlink::parse`, against a plain reference parser written
//! with index arithmetic and `Vec`s.
//!
//! Checked, besides "never panics": the parser yields exactly the
//! reference's messages (links with name, index, flags; addresses with
//! address, prefix, label; done, errors, other types; `Malformed` where a
//! length does not fit, and nothing after it); every slice it returns lies
//! inside the input; it stops after at most one message per 16 bytes (+1).
//! The seeds (fuzz/corpus/netlink/) are real datagrams of this kernel,
//! captured by fuzz/capture_netlink.py.

use picosel::net::netlink::{self, Message};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, PartialEq)]
enum Want {
    Link { index: u32, name: Vec<u8>, flags: u32, removed: bool },
    Addr { index: u32, addr: IpAddr, prefix: u8, label: Vec<u8>, removed: bool },
    Done,
    Error(i32),
    Truncated,
    Malformed,
    Other(u16),
}

fn rd32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn rd16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

/// `(type, payload)` attributes from `start` in `m`, as the kernel's RTA_OK
/// macros walk them.
fn reference_attrs(m: &[u8], mut i: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while let (Some(len), Some(kind)) = (rd16(m, i), rd16(m, i + 2)) {
        let len = len as usize;
        if len < 4 || i + len > m.len() {
            break;
        }
        out.push((kind & 0x3fff, m[i + 4..i + len].to_vec()));
        i += (len + 3) & !3;
    }
    out
}

fn cstr(v: &[u8]) -> Vec<u8> {
    v.iter().take_while(|&&c| c != 0).copied().collect()
}

fn reference_ip(family: u8, v: &[u8]) -> Option<IpAddr> {
    match (family, v.len()) {
        (2, 4) => Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        (10, 16) => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?))),
        _ => None,
    }
}

fn reference(d: &[u8]) -> Vec<Want> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        let (Some(len), Some(kind)) = (rd32(d, i), rd16(d, i + 4)) else {
            out.push(Want::Malformed);
            return out;
        };
        let len = len as usize;
        if len < 16 || len > d.len() - i {
            out.push(Want::Malformed);
            return out;
        }
        let m = &d[i..i + len];
        let parsed = match kind {
            16 | 17 if m.len() >= 32 => {
                let name = reference_attrs(m, 32).into_iter().rfind(|a| a.0 == 3);
                Some(Want::Link {
                    index: rd32(m, 20).unwrap(),
                    flags: rd32(m, 24).unwrap(),
                    name: name.map_or(Vec::new(), |a| cstr(&a.1)),
                    removed: kind == 17,
                })
            }
            20 | 21 if m.len() >= 24 => {
                let (family, prefix, index) = (m[16], m[17], rd32(m, 20).unwrap());
                let (mut local, mut address, mut label) = (None, None, Vec::new());
                for (k, v) in reference_attrs(m, 24) {
                    match k {
                        1 => address = reference_ip(family, &v),
                        2 => local = reference_ip(family, &v),
                        3 => label = cstr(&v),
                        _ => {}
                    }
                }
                local.or(address).map(|addr| Want::Addr {
                    index,
                    addr,
                    prefix,
                    label,
                    removed: kind == 21,
                })
            }
            16 | 17 | 20 | 21 => None,
            3 => Some(Want::Done),
            4 => {
                out.push(Want::Truncated);
                return out;
            }
            2 => match rd32(m, 16) {
                Some(0) => Some(Want::Other(2)),
                Some(e) => Some(Want::Error((e as i32).saturating_neg())),
                None => None,
            },
            k => Some(Want::Other(k)),
        };
        match parsed {
            Some(w) => out.push(w),
            None => {
                out.push(Want::Malformed);
                return out;
            }
        }
        i += (len + 3) & !3;
    }
    out
}

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, n) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (n >= o && n + inner.len() <= o + outer.len())
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut got = Vec::new();
    for m in netlink::parse(data) {
        assert!(got.len() <= data.len() / 16 + 1, "more messages than the input can hold");
        got.push(match m {
            Message::Link(l) => {
                assert!(inside(data, l.name), "name outside the input");
                Want::Link {
                    index: l.index,
                    name: l.name.to_vec(),
                    flags: l.flags,
                    removed: l.removed,
                }
            }
            Message::Addr(a) => {
                assert!(inside(data, a.label), "label outside the input");
                Want::Addr {
                    index: a.index,
                    addr: a.addr,
                    prefix: a.prefix,
                    label: a.label.to_vec(),
                    removed: a.removed,
                }
            }
            Message::Done => Want::Done,
            Message::Error(e) => Want::Error(e.raw_os_error()),
            Message::Truncated => Want::Truncated,
            Message::Malformed => Want::Malformed,
            Message::Other { kind } => Want::Other(kind),
            other => panic!("a message the reference does not know: {other:?}"),
        });
    }
    assert_eq!(got, reference(data));
}
