//! Replays the fuzz corpora (`fuzz/corpus/TARGET/`) through the same entry points the
//! fuzz targets call, on the stable toolchain: no input that the fuzzers kept may panic.

use crate::support::root;

#[test]
fn every_fuzz_corpus_input_runs_without_panicking() {
    let mut total = 0;
    for (name, target) in envaudit::fuzz::TARGETS {
        let dir = root().join("fuzz/corpus").join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut n = 0;
        for e in entries {
            let path = e.unwrap().path();
            // A running fuzzer may replace corpus entries while this reads them.
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            let result = std::panic::catch_unwind(|| target(&data));
            assert!(
                result.is_ok(),
                "fuzz target `{name}` panics on {}",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0, "fuzz corpus for `{name}` is empty");
        total += n;
    }
    assert!(total >= 200, "only {total} corpus inputs");
}
