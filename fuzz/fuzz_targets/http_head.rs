#![no_main]
// The chat's HTTP request heads: any bytes, split anywhere, parse like the
// whole and like a plain model; no panic (fuzz/src/http_head.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| picosel_fuzz::http_head::run(data));
