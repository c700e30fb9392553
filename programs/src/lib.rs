//! What picosel's programs share: their runtime, the command line, the chat
//! line framing and broadcast log, and the `no_std` entry point.
//!
//! - [`os`]: stdio (`read`, `write_all`, the [`out!`] and [`err!`] macros),
//!   the command line from `/proc/self/cmdline` ([`os::args`]), local time
//!   and its `asctime` form, `isatty`, `getpid`, `exit`, `abort`, and the
//!   signal numbers the programs handle.
//! - [`fmt`]: formatting into fixed byte buffers ([`fmt::BufWriter`],
//!   [`fmt::format_into`]).
//! - [`ring`]: [`ring::ByteRing`], a fixed-capacity byte FIFO for
//!   per-connection output.
//! - [`cli`]: argument parsing; [`framing`] and [`chatlog`]: the chat
//!   server's line framing and broadcast log.
//! - [`entry!`]: the C `main` and panic handler of a `no_std` binary.
//!
//! Every program is a `#![no_std]`, `#![no_main]` binary over picosel and
//! libc alone, statically linkable for a router. The crate's only `unsafe`
//! code is a private `sys` module of thin libc wrappers under [`os`]; the
//! binaries themselves forbid `unsafe`.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chatlog;
pub mod cli;
pub mod fmt;
pub mod framing;
pub mod os;
pub mod ring;
#[allow(unsafe_code)]
mod sys;

/// Defines the C `main` of a `no_std` program as a call to `$run() -> i32`,
/// plus the panic handler (abort) and the `rust_eh_personality` symbol that
/// the precompiled `core` refers to even under `panic = "abort"` (never
/// called).
#[macro_export]
macro_rules! entry {
    ($run:path) => {
        /// The C entry point; the arguments are read from /proc/self/cmdline.
        #[unsafe(no_mangle)]
        pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
            $run()
        }

        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            $crate::os::abort()
        }

        /// Never called: only the symbol is needed to link.
        #[unsafe(no_mangle)]
        pub extern "C" fn rust_eh_personality() {}
    };
}

/// Prints to stdout, like `print!`, without `std` (output over 1 KiB is cut).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        let _ = $crate::os::write_fmt($crate::os::STDOUT, format_args!($($arg)*));
    };
}

/// Prints to stderr, like `eprint!`, without `std`.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        let _ = $crate::os::write_fmt($crate::os::STDERR, format_args!($($arg)*));
    };
}
