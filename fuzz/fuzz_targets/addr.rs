#![no_main]
// The programs' ADDR:PORT parser agrees with core's SocketAddr parser on any
// input, and never panics (progs::addr).
libfuzzer_sys::fuzz_target!(|data: &[u8]| progs::addr::check_against_core(data));
