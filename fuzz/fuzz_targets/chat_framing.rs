#![no_main]
// The chat server's line framing: any byte stream, split anywhere, frames
// like the whole stream; no panic; fixed memory (progs::framing).
libfuzzer_sys::fuzz_target!(|data: &[u8]| progs::framing::check_framing(data));
