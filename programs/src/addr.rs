//! `ADDR:PORT` parsing for the command line, without `core`'s address
//! parser (about 4 KiB of a router binary).
//!
//! [`socket_addr`] takes exactly what `"...".parse::<SocketAddr>()` takes
//! and gives the same address: `127.0.0.1:8008` (four decimal octets, no
//! leading zeros), `[::1]:8008`, `[fe80::1%2]:80` (a numeric scope id),
//! `[::ffff:10.0.0.1]:53` (IPv4 in the last 32 bits); the port is decimal,
//! leading zeros allowed. The `addr` fuzz target checks the two against
//! each other on arbitrary input.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Parses `ADDR:PORT` as `core`'s `FromStr for SocketAddr` does.
///
/// ```
/// use core::net::SocketAddr;
/// for s in ["127.0.0.1:8008", "[::1]:0", "[fe80::1%2]:80", "1.2.3.04:1", "[::1]"] {
///     assert_eq!(progs::addr::socket_addr(s.as_bytes()), s.parse::<SocketAddr>().ok());
/// }
/// ```
pub fn socket_addr(s: &[u8]) -> Option<SocketAddr> {
    let mut p = Parser { s };
    let addr = match p.atomically(Parser::socket_v4) {
        Some(a) => SocketAddr::V4(a),
        None => SocketAddr::V6(p.atomically(Parser::socket_v6)?),
    };
    if p.s.is_empty() { Some(addr) } else { None }
}

/// A cursor over the input. Every `read_*` either consumes what it read
/// and returns `Some`, or (through [`Parser::atomically`]) leaves the
/// cursor where it was.
struct Parser<'a> {
    s: &'a [u8],
}

impl Parser<'_> {
    fn atomically<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.s;
        let r = f(self);
        if r.is_none() {
            self.s = start;
        }
        r
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        match self.s.split_first() {
            Some((&b, rest)) if b == c => {
                self.s = rest;
                Some(())
            }
            _ => None,
        }
    }

    fn digit(&mut self, radix: u32) -> Option<u32> {
        let (&b, rest) = self.s.split_first()?;
        let d = char::from(b).to_digit(radix)?;
        self.s = rest;
        Some(d)
    }

    /// A number of at most `max_digits` digits (any number of them when
    /// `None`, failing past `max`); `0` followed by more digits only when
    /// `zero_prefix`.
    fn number(
        &mut self,
        radix: u32,
        max_digits: Option<usize>,
        zero_prefix: bool,
        max: u32,
    ) -> Option<u32> {
        self.atomically(|p| {
            let leading_zero = p.s.first() == Some(&b'0');
            let mut n: u64 = 0;
            let mut count = 0;
            while let Some(d) = p.digit(radix) {
                n = n * u64::from(radix) + u64::from(d);
                count += 1;
                match max_digits {
                    Some(m) if count > m => return None,
                    None if n > u64::from(max) => return None,
                    _ => {}
                }
            }
            if count == 0 || (!zero_prefix && leading_zero && count > 1) || n > u64::from(max) {
                return None;
            }
            u32::try_from(n).ok()
        })
    }

    /// `sep` then `f`, or just `f` for the first item (`index` 0).
    fn item<T>(
        &mut self,
        sep: u8,
        index: usize,
        f: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        self.atomically(|p| {
            if index > 0 {
                p.eat(sep)?;
            }
            f(p)
        })
    }

    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.atomically(|p| {
            let mut octets = [0u8; 4];
            for (i, o) in octets.iter_mut().enumerate() {
                *o = p.item(b'.', i, |p| p.number(10, Some(3), false, 255))? as u8;
            }
            Some(Ipv4Addr::from(octets))
        })
    }

    /// Up to `groups.len()` groups; an IPv4 address may stand for the last
    /// two. How many were read, and whether an IPv4 address ended them.
    fn groups(&mut self, groups: &mut [u16]) -> (usize, bool) {
        let limit = groups.len();
        for i in 0..limit {
            if i + 1 < limit {
                if let Some(v4) = self.item(b':', i, Parser::ipv4) {
                    let [a, b, c, d] = v4.octets();
                    if let Some(pair) = groups.get_mut(i..i + 2) {
                        pair.copy_from_slice(&[
                            u16::from_be_bytes([a, b]),
                            u16::from_be_bytes([c, d]),
                        ]);
                    }
                    return (i + 2, true);
                }
            }
            match self.item(b':', i, |p| p.number(16, Some(4), true, 0xffff)) {
                Some(g) => {
                    if let Some(slot) = groups.get_mut(i) {
                        *slot = g as u16;
                    }
                }
                None => return (i, false),
            }
        }
        (limit, false)
    }

    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        self.atomically(|p| {
            let mut head = [0u16; 8];
            let (head_len, head_v4) = p.groups(&mut head);
            if head_len == 8 {
                return Some(Ipv6Addr::from(head));
            }
            if head_v4 {
                return None;
            }
            p.eat(b':')?;
            p.eat(b':')?;
            let mut tail = [0u16; 7];
            let limit = 7usize.saturating_sub(head_len);
            let (tail_len, _) = p.groups(tail.get_mut(..limit)?);
            let from = 8usize.checked_sub(tail_len)?;
            head.get_mut(from..)?.copy_from_slice(tail.get(..tail_len)?);
            Some(Ipv6Addr::from(head))
        })
    }

    fn port(&mut self) -> Option<u16> {
        self.atomically(|p| {
            p.eat(b':')?;
            p.number(10, None, true, 0xffff).map(|n| n as u16)
        })
    }

    fn socket_v4(&mut self) -> Option<SocketAddrV4> {
        let ip = self.ipv4()?;
        Some(SocketAddrV4::new(ip, self.port()?))
    }

    fn socket_v6(&mut self) -> Option<SocketAddrV6> {
        self.eat(b'[')?;
        let ip = self.ipv6()?;
        let scope = self
            .atomically(|p| {
                p.eat(b'%')?;
                p.number(10, None, true, u32::MAX)
            })
            .unwrap_or(0);
        self.eat(b']')?;
        Some(SocketAddrV6::new(ip, self.port()?, 0, scope))
    }
}

/// The `addr` fuzz target's check: [`socket_addr`] agrees with `core`'s
/// parser on `data` (as text when it is UTF-8; bytes that are not cannot
/// parse) and never panics.
pub fn check_against_core(data: &[u8]) {
    let ours = socket_addr(data);
    match core::str::from_utf8(data) {
        Ok(s) => assert_eq!(ours, s.parse::<SocketAddr>().ok(), "input {data:?}"),
        Err(_) => assert_eq!(ours, None, "input {data:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_core() {
        let cases = [
            "127.0.0.1:8008",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "256.0.0.1:1",
            "1.2.3:4",
            "1.2.3.4.5:6",
            "01.2.3.4:5",
            "1.2.3.4:",
            "1.2.3.4:65536",
            "1.2.3.4:0000080",
            "1.2.3.4",
            ":80",
            "",
            "[::]:0",
            "[::1]:8008",
            "[1::]:2",
            "[1:2:3:4:5:6:7:8]:9",
            "[1:2:3:4:5:6:7:8:9]:9",
            "[1:2:3:4:5:6:7::]:1",
            "[::1:2:3:4:5:6:7]:1",
            "[1:2:3:4:5:6:1.2.3.4]:1",
            "[::ffff:10.0.0.1]:53",
            "[::1.2.3.4]:1",
            "[1.2.3.4]:1",
            "[::1.2.3]:1",
            "[fe80::1%2]:80",
            "[fe80::1%]:80",
            "[fe80::1%4294967296]:80",
            "[12345::]:1",
            "[::0001]:1",
            "[::00001]:1",
            "[a:b:c:d:e:f:A:B]:1",
            "[:::]:1",
            "[1:::2]:1",
            "[::1]",
            "[::1]:",
            "[::1]:80 ",
            "1.2.3.4:+80",
            "[::ffff:1.2.3.4.5]:1",
            "[1:2:3:4:5:6:7:1.2.3.4]:1",
            "[1::2::3]:1",
            "[::1:2:3:4:5:6:1.2.3.4]:1",
        ];
        for c in cases {
            check_against_core(c.as_bytes());
        }
        check_against_core(b"1.2.3.4:\xff");
    }
}
