//! The command line shared by every program: `--bind ADDR:PORT` (or, for
//! the servers that take them, `unix:PATH`, `unix:@NAME` and repeated
//! `--bind`s, [`bind`] and [`add_bind`]), `--backend select|poll|epoll`,
//! `--help`, plus each program's own options.

use crate::listen::{Bind, Binds, MAX_BINDS};
use core::net::SocketAddr;
use picosel::backend::AnyBackend;
use picosel::net::UnixAddr;

/// What parsing found.
pub enum Parsed<'a> {
    /// A known option with its value (`None` for flags).
    Opt(&'a str, Option<&'a str>),
    /// A positional argument.
    Arg(&'a str),
}

/// Why the command line is unusable.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError<'a> {
    /// `--help` was given.
    Help,
    /// An option that the program does not know.
    Unknown(&'a str),
    /// An option that needs a value came last.
    MissingValue(&'a str),
    /// A value that does not parse.
    BadValue(&'a str, &'a str),
    /// A value that cannot be used, and why: `(option, value, why)`.
    Invalid(&'a str, &'a str, &'static str),
    /// Options that do not go together, and why.
    Conflict(&'static str),
}

/// Walks `args` (without the program name): `flags` are the options without
/// a value, `valued` those with one (`--opt V` or `--opt=V`).
pub fn parse<'a, I>(
    args: I,
    flags: &[&str],
    valued: &[&str],
    mut f: impl FnMut(Parsed<'a>) -> Result<(), CliError<'a>>,
) -> Result<(), CliError<'a>>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--help" || a == "-h" {
            return Err(CliError::Help);
        }
        if !a.starts_with("--") {
            f(Parsed::Arg(a))?;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((name, v)) => (name, Some(v)),
            None => (a, None),
        };
        if flags.contains(&name) && inline.is_none() {
            f(Parsed::Opt(name, None))?;
        } else if valued.contains(&name) {
            let v = match inline {
                Some(v) => v,
                None => it.next().ok_or(CliError::MissingValue(name))?,
            };
            f(Parsed::Opt(name, Some(v)))?;
        } else {
            return Err(CliError::Unknown(a));
        }
    }
    Ok(())
}

/// Parses `ADDR:PORT` (`127.0.0.1:8008`, `[::1]:0`).
pub fn addr<'a>(opt: &'a str, v: &'a str) -> Result<SocketAddr, CliError<'a>> {
    crate::addr::socket_addr(v.as_bytes()).ok_or(CliError::BadValue(opt, v))
}

/// Parses a `--bind` value: `ADDR:PORT` (`127.0.0.1:8007`, `[::1]:0`),
/// `unix:PATH` (a socket file, at most 107 bytes) or `unix:@NAME` (a Linux
/// abstract name, at most 107 bytes). Anything else, an empty path or
/// name, or one too long is [`CliError::Invalid`] with the reason.
pub fn bind<'a>(opt: &'a str, v: &'a str) -> Result<Bind, CliError<'a>> {
    let bad = |why| CliError::Invalid(opt, v, why);
    let Some(rest) = v.strip_prefix("unix:") else {
        return crate::addr::socket_addr(v.as_bytes()).map(Bind::Tcp).ok_or(bad(BIND_FORMS));
    };
    let addr = match rest.strip_prefix('@') {
        Some("") => return Err(bad("the abstract name is empty (unix:@NAME)")),
        Some(n) if n.len() > UnixAddr::MAX_ABSTRACT => {
            return Err(bad("the abstract name is longer than 107 bytes"));
        }
        Some(n) => UnixAddr::abstract_name(n.as_bytes()),
        None if rest.is_empty() => return Err(bad("the path is empty (unix:PATH)")),
        None if rest.len() > UnixAddr::MAX_PATH => {
            return Err(bad("the path is longer than 107 bytes"));
        }
        None => UnixAddr::path(rest.as_bytes()),
    };
    addr.map(Bind::Unix).map_err(|_| bad(BIND_FORMS))
}

const BIND_FORMS: &str = "expected ADDR:PORT, unix:PATH or unix:@NAME";

/// Parses a `--bind` value ([`bind`]) and adds it to `binds` (the first
/// one replaces the default); more than [`MAX_BINDS`] is an error.
pub fn add_bind<'a>(binds: &mut Binds, opt: &'a str, v: &'a str) -> Result<(), CliError<'a>> {
    const _: () = assert!(MAX_BINDS == 4, "the message below says 4");
    if binds.push(bind(opt, v)?) {
        Ok(())
    } else {
        Err(CliError::Invalid(opt, v, "at most 4 --bind options are taken"))
    }
}

/// Parses a backend name.
pub fn backend<'a, const N: usize>(
    opt: &'a str,
    v: &'a str,
) -> Result<AnyBackend<N>, CliError<'a>> {
    AnyBackend::from_name(v).ok_or(CliError::BadValue(opt, v))
}

/// Parses a backend name into its `'static` spelling
/// ([`AnyBackend::NAMES`]): for a program whose loop is made in place (in
/// static storage) and switched with
/// [`set_backend`](picosel::EventLoop::set_backend), rather than carrying
/// an [`AnyBackend`] value, which is as large as its largest backend.
pub fn backend_name<'a>(opt: &'a str, v: &'a str) -> Result<&'static str, CliError<'a>> {
    let names = AnyBackend::<0>::NAMES;
    names.iter().copied().find(|&n| n == v).ok_or(CliError::BadValue(opt, v))
}

/// Parses an integer within `lo..=hi`.
pub fn number<'a>(opt: &'a str, v: &'a str, lo: u64, hi: u64) -> Result<u64, CliError<'a>> {
    match decimal(v.as_bytes()) {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(CliError::BadValue(opt, v)),
    }
}

/// A decimal number as `u64::from_str` reads it (ASCII digits after an
/// optional `+`), without core's parser for every radix and type: `None`
/// when there are no digits, something else, or more than `u64::MAX`.
///
/// ```
/// for s in ["0", "007", "+5", "18446744073709551615", "18446744073709551616", "", "+", "-1", "1a", " 1"] {
///     assert_eq!(progs::cli::decimal(s.as_bytes()), s.parse::<u64>().ok(), "{s:?}");
/// }
/// ```
pub fn decimal(s: &[u8]) -> Option<u64> {
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = b.checked_sub(b'0').filter(|&d| d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Parses seconds with an optional fraction (`5`, `0.2`) into milliseconds,
/// at least 1 ms and at most a day.
pub fn seconds_ms<'a>(opt: &'a str, v: &'a str) -> Result<u64, CliError<'a>> {
    let bad = CliError::BadValue(opt, v);
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad);
    }
    let w = if whole.is_empty() {
        0
    } else {
        decimal(whole.as_bytes()).ok_or(CliError::BadValue(opt, v))?
    };
    let mut ms = w.checked_mul(1000).ok_or(CliError::BadValue(opt, v))?;
    let mut scale = 100;
    for d in frac.bytes().take(3) {
        ms += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    if ms == 0 || ms > 86_400_000 {
        return Err(bad);
    }
    Ok(ms)
}

/// Reports a command-line problem: usage to stdout and exit 0 for `--help`,
/// else the problem and the usage to stderr and exit 2. `usage` is a
/// help text as the build script packs it ([`help!`](crate::help!)),
/// unpacked as it is written.
pub fn fail(e: CliError<'_>, usage: &[u8]) -> i32 {
    let help = e == CliError::Help;
    // The problem in up to six pieces and a newline, written by one call.
    let line: [&str; 6] = match e {
        CliError::Help => [""; 6],
        CliError::Unknown(a) => ["error: unknown option ", a, "", "", "", ""],
        CliError::MissingValue(a) => ["error: ", a, " needs a value", "", "", ""],
        CliError::BadValue(a, v) => ["error: bad value for ", a, ": ", v, "", ""],
        CliError::Invalid(a, v, why) => ["error: bad value for ", a, ": ", v, ": ", why],
        CliError::Conflict(why) => ["error: ", why, "", "", "", ""],
    };
    if !help {
        let [p0, p1, p2, p3, p4, p5] = line;
        crate::err!(p0, p1, p2, p3, p4, p5, "\n");
    }
    // One call, so one copy of the unpacker in a program.
    crate::help::unpack(usage, |text| match help {
        true => crate::os::print_bytes(crate::prog_name!(), text),
        false => {
            let _ = crate::os::write_all(crate::os::STDERR, text);
        }
    });
    if help { 0 } else { 2 }
}
