#![no_main]
// chat-server's shared log against a plain model: appends, late notices,
// readers taking runs in pieces (fuzz/src/chatlog.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| picosel_fuzz::chatlog::run(data));
