#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| picosel_fuzz::dispatch::run(data));
