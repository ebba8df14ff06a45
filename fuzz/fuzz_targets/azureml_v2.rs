#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| envaudit::fuzz::azureml_v2(data));
