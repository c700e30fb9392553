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

            /// The symbolic name (`"EBADF"`), or `"E?"` for a number this
            /// table does not know.
            pub const fn name(self) -> &'static str {
                match self.0 {
                    $(libc::$name => stringify!($name),)*
                    _ => "E?",
                }
            }

            /// A short human-readable message (`"bad file descriptor"`).
            pub const fn message(self) -> &'static str {
                match self.0 {
                    $(libc::$name => $msg,)*
                    _ => "unknown error",
                }
            }
        }
    };
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
