//! Returns 0 and does nothing else; linked like picosel's static programs.
#![no_std]
#![no_main]

// Keep libc linked, as the programs do.
use libc as _;

/// The C entry point.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Referenced by the precompiled `core` even under panic=abort; never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
