#![no_main]
// The chat's WebSocket reader: any client bytes, split anywhere, give the
// same messages and errors as the whole and as a plain decoder; no panic
// (fuzz/src/ws_frame.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| picosel_fuzz::ws_frame::run(data));
