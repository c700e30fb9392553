//! What picosel's programs share: their runtime, the command line, the chat
//! line framing and broadcast log, and the `no_std` entry point.
//!
//! - [`os`]: process start-up ([`os::init`]: valid stdio, ignored
//!   signals), stdio (`read`, `write_all`, the [`out!`] and [`err!`]
//!   macros, and the never-blocking [`log_out!`] and [`log_err!`] for the
//!   servers' lines),
//!   the command line from `/proc/self/cmdline` ([`os::args`]), local time
//!   and its `asctime` form, `isatty`, `getpid`, `exit`, `abort`, and the
//!   signal numbers the programs handle.
//! - [`fmt`]: text into fixed byte buffers without `core::fmt`
//!   ([`fmt::Show`], [`fmt::BufWriter`], [`put!`]).
//! - [`ring`]: [`ring::ByteRing`], a fixed-capacity byte FIFO for
//!   per-connection output.
//! - [`cli`]: argument parsing ([`addr`]: `ADDR:PORT` without `core`'s
//!   parser); [`listen`]: the servers' listeners (TCP,
//!   Unix socket files, abstract names) and their streams; [`framing`] and
//!   [`chatlog`]: the chat server's line framing and broadcast log.
//! - [`storage`]: [`storage::TakeOnce`], a `static` handed out once, for
//!   state kept in zero-initialised `.bss` rather than on the stack.
//! - [`web`]: the chat's web page, HTTP request heads and responses, and
//!   WebSocket framing (RFC 6455), as pure code over caller buffers.
//! - [`entry!`]: the C `main` and panic handler of a `no_std` binary.
//!
//! Every program is a `#![no_std]`, `#![no_main]` binary over picosel and
//! libc alone, statically linkable for a router. The crate's only `unsafe`
//! code is a private `sys` module of thin libc wrappers under [`os`] (and
//! [`storage::TakeOnce`]); the binaries themselves forbid `unsafe`.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod addr;
pub mod chatlog;
pub mod cli;
pub mod fmt;
pub mod framing;
pub mod help;
pub mod listen;
pub mod os;
pub mod ring;
pub mod storage;
#[allow(unsafe_code)]
mod sys;
pub mod web;

/// Defines the C `main` of a `no_std` program as a call to `$run() -> i32`,
/// plus the panic handler (abort) and the `rust_eh_personality` symbol that
/// the precompiled `core` refers to even under `panic = "abort"` (never
/// called).
///
/// `entry!(server: run)` or `entry!(client: run)`: before `run`, `main`
/// calls [`os::init`] with that [`os::Role`] (stdio made valid, `SIGPIPE`
/// ignored, and for a server `SIGHUP`, `SIGUSR1`, `SIGUSR2`, `SIGTTOU`
/// ignored); after
/// it, a server reports log lines it had to drop ([`os::report_dropped`]).
#[macro_export]
macro_rules! entry {
    (server: $run:path) => {
        $crate::entry!(@main $run, $crate::os::Role::Server);
    };
    (client: $run:path) => {
        $crate::entry!(@main $run, $crate::os::Role::Client);
    };
    (@main $run:path, $role:expr) => {
        /// The C entry point; the arguments are read from /proc/self/cmdline.
        #[unsafe(no_mangle)]
        pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
            $crate::os::init($role);
            let code = $run();
            if $role == $crate::os::Role::Server {
                $crate::os::report_dropped(env!("CARGO_BIN_NAME"));
            }
            code
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

/// The program's help text, packed by the build script: `NAME` is the
/// file `programs/help/NAME.txt` (where a line `@X` stands for
/// `help/_X.txt`, e.g. `@server-signals`). For [`cli::fail`](crate::cli::fail).
#[macro_export]
macro_rules! help {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/help/", $name, ".bpe"))
    };
}

/// The name of the program the macro is expanded in, for messages.
#[doc(hidden)]
#[macro_export]
macro_rules! prog_name {
    () => {
        match option_env!("CARGO_BIN_NAME") {
            Some(name) => name,
            None => "picosel",
        }
    };
}

/// Prints its pieces ([`fmt::Show`]: `&str`, integers, `Errno`, addresses,
/// ...) to stdout, like `print!` without `std` or `core::fmt` (output over 1
/// KiB is cut): `out!("Received: ", text, "\n")`. Waits for the reader as
/// long as it takes; if stdout fails (`EPIPE`: the reader has gone) the
/// program says so on stderr and exits with status 1
/// ([`os::print_parts`]). For interactive output; a server's lines go
/// through [`log_out!`].
#[macro_export]
macro_rules! out {
    ($($piece:expr),* $(,)?) => {
        $crate::os::print_parts($crate::prog_name!(), &[$(&$piece as &dyn $crate::fmt::Show),*])
    };
}

/// Prints its pieces to stderr, like `eprint!` (see [`out!`]); a failure is
/// ignored. Blocking: for the messages of clients and of command-line
/// errors; a server's lines go through [`log_err!`].
#[macro_export]
macro_rules! err {
    ($($piece:expr),* $(,)?) => {
        let _ = $crate::os::write_parts($crate::os::STDERR, &[$(&$piece as &dyn $crate::fmt::Show),*]);
    };
}

/// Logs `PROG: E` on stderr, like `log_err!(PROG, ": ", e, "\n")`, and
/// evaluates to 1, the exit status of a failure ([`os::log_failure`]).
#[macro_export]
macro_rules! log_failure {
    ($e:expr) => {
        $crate::os::log_failure($crate::prog_name!(), &$e)
    };
}

/// A server's status line on stdout, from pieces as for [`out!`], written
/// only if that can be done without waiting; otherwise dropped and counted
/// ([`os::log_parts`]).
#[macro_export]
macro_rules! log_out {
    ($($piece:expr),* $(,)?) => {
        let _ = $crate::os::log_parts($crate::os::STDOUT, $crate::prog_name!(), &[$(&$piece as &dyn $crate::fmt::Show),*]);
    };
}

/// A server's log line on stderr, from pieces as for [`out!`], written only
/// if that can be done without waiting; otherwise dropped and counted
/// ([`os::log_parts`]).
#[macro_export]
macro_rules! log_err {
    ($($piece:expr),* $(,)?) => {
        let _ = $crate::os::log_parts($crate::os::STDERR, $crate::prog_name!(), &[$(&$piece as &dyn $crate::fmt::Show),*]);
    };
}
