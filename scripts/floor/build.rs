//! Links like programs/build.rs, so the floor is built the same way as the
//! programs: the C library (the `libc` crate links it for glibc but leaves
//! it to `std` for musl) and, on 32-bit ARM, libgcc_eh.
fn main() {
    println!("cargo:rustc-link-lib=c");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("arm") {
        println!("cargo:rustc-link-lib=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
