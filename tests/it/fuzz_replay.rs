//! Replays the committed fuzz seeds (`fuzz/seeds/TARGET/`), and the grown corpus
//! (`fuzz/corpus/TARGET/`, outside git) where it exists locally, through the same entry points
//! the fuzz targets call, on the stable toolchain: no input may panic.

use crate::support::root;

#[test]
fn every_fuzz_corpus_input_runs_without_panicking() {
    let mut total = 0;
    for (name, target) in envaudit::fuzz::TARGETS {
        let seeds = root().join("fuzz/seeds").join(name);
        let seeded =
            std::fs::read_dir(&seeds).unwrap_or_else(|e| panic!("{}: {e}", seeds.display()));
        let grown = std::fs::read_dir(root().join("fuzz/corpus").join(name))
            .into_iter()
            .flatten();
        let mut n = 0;
        for e in seeded.chain(grown) {
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
        assert!(n > 0, "no fuzz seeds for `{name}`");
        total += n;
    }
    assert!(total >= 200, "only {total} corpus inputs");
}
