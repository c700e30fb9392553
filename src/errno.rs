//! A `no_std` errno value with its symbolic name and message.

use core::fmt;

/// An operating-system error number, as read from `errno` after a failed
/// system call.
///
/// `Display` prints the symbolic name and a short message, for example
/// `EBADF: bad file descriptor`, without needing `std` or `strerror(3)`.
///
/// ```
/// use picosel::Errno;
/// let e = Errno::from_raw_os_error(9);
/// assert_eq!(e, Errno::EBADF);
/// assert_eq!((e.name(), e.raw_os_error()), ("EBADF", 9));
/// assert_eq!(e.to_string(), "EBADF: bad file descriptor");
/// # #[cfg(feature = "std")]
/// assert_eq!(std::io::Error::from(e).raw_os_error(), Some(9));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident = $msg:literal,)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $msg, ".")]
                pub const $name: Errno = Errno(libc::$name);
            )*
        }

        /// The numbers the table knows, in its order (each below 256 on
        /// every Linux architecture; checked below).
        const NUMBERS: [u8; [$(libc::$name),*].len()] = [$(libc::$name as u8),*];
        const _: () = {
            $(assert!(libc::$name > 0 && libc::$name < 256, "errno numbers are stored as u8");)*
        };

        /// `NAME\0message\0` for each number of [`NUMBERS`], in the same
        /// order: one string, where an array of `&str` pairs would cost
        /// 16 bytes an entry on 32-bit targets (or a jump table per
        /// function indexed by number).
        const TEXT: &str = concat!($(stringify!($name), "\0", $msg, "\0",)*);
    };
}

/// Where `raw` is in [`NUMBERS`].
const fn index(raw: i32) -> Option<usize> {
    let mut rest: &[u8] = &NUMBERS;
    let mut i = 0;
    while let [n, tail @ ..] = rest {
        if *n as i32 == raw {
            return Some(i);
        }
        rest = tail;
        i += 1;
    }
    None
}

/// The `k`-th NUL-terminated piece of [`TEXT`] (`2 * i`: the name of entry
/// `i`, `2 * i + 1`: its message); `None` past the end.
const fn piece(mut k: usize) -> Option<&'static str> {
    let mut start: &[u8] = TEXT.as_bytes();
    let mut rest = start;
    let mut len = 0;
    while let [b, tail @ ..] = rest {
        rest = tail;
        if *b != 0 {
            len += 1;
            continue;
        }
        if k == 0 {
            return match start.split_at_checked(len) {
                Some((p, _)) => match core::str::from_utf8(p) {
                    Ok(s) => Some(s),
                    Err(_) => None,
                },
                None => None,
            };
        }
        (k, start, len) = (k - 1, rest, 0);
    }
    None
}

impl Errno {
    /// The symbolic name (`"EBADF"`), or `"E?"` for a number this
    /// table does not know.
    pub const fn name(self) -> &'static str {
        match index(self.0) {
            Some(i) => match piece(2 * i) {
                Some(s) => s,
                None => "E?",
            },
            None => "E?",
        }
    }

    /// A short human-readable message (`"bad file descriptor"`).
    pub const fn message(self) -> &'static str {
        match index(self.0) {
            Some(i) => match piece(2 * i + 1) {
                Some(s) => s,
                None => "unknown error",
            },
            None => "unknown error",
        }
    }
}

errnos! {
    EPERM = "operation not permitted",
    ENOENT = "no such file or directory",
    ESRCH = "no such process",
    EINTR = "interrupted system call",
    EIO = "input/output error",
    ENXIO = "no such device or address",
    E2BIG = "argument list too long",
    EBADF = "bad file descriptor",
    ECHILD = "no child processes",
    EAGAIN = "resource temporarily unavailable",
    ENOMEM = "cannot allocate memory",
    EACCES = "permission denied",
    EFAULT = "bad address",
    EBUSY = "device or resource busy",
    EEXIST = "file exists",
    ENODEV = "no such device",
    ENOTDIR = "not a directory",
    EISDIR = "is a directory",
    EINVAL = "invalid argument",
    ENFILE = "too many open files in system",
    EMFILE = "too many open files",
    ENOTTY = "inappropriate ioctl for device",
    ENOSPC = "no space left on device",
    ESPIPE = "illegal seek",
    EPIPE = "broken pipe",
    ERANGE = "numerical result out of range",
    ENAMETOOLONG = "file name too long",
    ENOSYS = "function not implemented",
    ELOOP = "too many levels of symbolic links",
    ENOTSOCK = "socket operation on non-socket",
    EDESTADDRREQ = "destination address required",
    EMSGSIZE = "message too long",
    EPROTOTYPE = "protocol wrong type for socket",
    ENOPROTOOPT = "protocol not available",
    EPROTONOSUPPORT = "protocol not supported",
    EOPNOTSUPP = "operation not supported",
    EAFNOSUPPORT = "address family not supported by protocol",
    EADDRINUSE = "address already in use",
    EADDRNOTAVAIL = "cannot assign requested address",
    ENETDOWN = "network is down",
    ENETUNREACH = "network is unreachable",
    ECONNABORTED = "software caused connection abort",
    ECONNRESET = "connection reset by peer",
    ENOBUFS = "no buffer space available",
    EISCONN = "transport endpoint is already connected",
    ENOTCONN = "transport endpoint is not connected",
    ETIMEDOUT = "connection timed out",
    ECONNREFUSED = "connection refused",
    EHOSTUNREACH = "no route to host",
    EALREADY = "operation already in progress",
    EINPROGRESS = "operation now in progress",
}

impl Errno {
    /// `EWOULDBLOCK`, the same number as `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno(libc::EWOULDBLOCK);

    /// Wraps a raw errno number (as `std::io::Error::from_raw_os_error`).
    pub const fn from_raw_os_error(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The raw errno number (as `std::io::Error::raw_os_error`).
    pub const fn raw_os_error(self) -> i32 {
        self.0
    }

    /// True for `EAGAIN`/`EWOULDBLOCK`: the operation would have blocked.
    pub const fn is_would_block(self) -> bool {
        self.0 == libc::EAGAIN || self.0 == libc::EWOULDBLOCK
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "E?" => write!(f, "errno {}: {}", self.0, self.message()),
            name => write!(f, "{}: {}", name, self.message()),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "E?" => write!(f, "Errno({})", self.0),
            name => f.write_str(name),
        }
    }
}

impl core::error::Error for Errno {}

#[cfg(feature = "std")]
impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_its_name_and_message() {
        assert_eq!(NUMBERS.len() * 2, TEXT.split('\0').count() - 1);
        for (i, &n) in NUMBERS.iter().enumerate() {
            let e = Errno::from_raw_os_error(i32::from(n));
            assert_eq!(Some(e.name()), TEXT.split('\0').nth(2 * i));
            assert_eq!(Some(e.message()), TEXT.split('\0').nth(2 * i + 1));
        }
        assert_eq!(
            (Errno::EPERM.name(), Errno::EPERM.message()),
            ("EPERM", "operation not permitted")
        );
        assert_eq!(Errno::EINPROGRESS.name(), "EINPROGRESS");
        assert_eq!(Errno::ECONNREFUSED.message(), "connection refused");
        assert_eq!(Errno::EWOULDBLOCK.name(), "EAGAIN");
        let unknown = Errno::from_raw_os_error(0);
        assert_eq!((unknown.name(), unknown.message()), ("E?", "unknown error"));
        let unknown = Errno::from_raw_os_error(-300);
        assert_eq!((unknown.name(), unknown.message()), ("E?", "unknown error"));
        const { assert!(matches!(Errno::EBADF.name().as_bytes(), b"EBADF")) };
    }
}
