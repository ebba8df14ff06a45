#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| envaudit::fuzz::fleet_query(data));
