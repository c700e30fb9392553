//! The programs are `no_std`: nothing else links the C library for them
//! (the `libc` crate leaves that to `std` when its `std` feature is on,
//! as it is when the tests' dev-dependencies unify features). On 32-bit ARM
//! the precompiled `core` also refers to the EHABI personality routines
//! (`__aeabi_unwind_cpp_pr0`), which live in libgcc_eh.
fn main() {
    println!("cargo:rustc-link-lib=c");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("arm") {
        println!("cargo:rustc-link-lib=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
