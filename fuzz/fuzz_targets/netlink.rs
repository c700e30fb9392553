#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| picosel_fuzz::netlink::run(data));
