//! The programs are `no_std`: nothing else links the C library for them
//! (the `libc` crate leaves that to `std` when its `std` feature is on,
//! as it is when the tests' dev-dependencies unify features).
fn main() {
    println!("cargo:rustc-link-lib=c");
    println!("cargo:rerun-if-changed=build.rs");
}
