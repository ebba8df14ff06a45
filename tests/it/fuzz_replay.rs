//! Replays the committed fuzz seeds (`fuzz/seeds/TARGET/`), the named inputs that once failed
//! (`fuzz/regressions/TARGET/WHAT-IT-FOUND`), and the grown corpus (`fuzz/corpus/TARGET/`,
//! outside git) where it exists locally, through the same entry points the fuzz targets call,
//! on the stable toolchain: no input may panic.

use crate::support::root;

#[test]
fn every_fuzz_corpus_input_runs_without_panicking() {
    let mut total = 0;
    for (name, target) in envaudit::fuzz::TARGETS {
        let seeds = root().join("fuzz/seeds").join(name);
        let seeded =
            std::fs::read_dir(&seeds).unwrap_or_else(|e| panic!("{}: {e}", seeds.display()));
        let local = |dir: &str| std::fs::read_dir(root().join(dir).join(name)).into_iter();
        let regressions = local("fuzz/regressions").flatten();
        let grown = local("fuzz/corpus").flatten();
        let mut n = 0;
        for e in seeded.chain(regressions).chain(grown) {
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

/// Every named regression belongs to a fuzz target that exists, and the inputs of the
/// round-trip findings still reach the property they once broke (they parse).
#[test]
fn named_fuzz_regressions_are_replayed() {
    let dir = root().join("fuzz/regressions");
    let mut n = 0;
    for target in std::fs::read_dir(&dir).unwrap() {
        let target = target.unwrap();
        let name = target.file_name().into_string().unwrap();
        if name == "README.md" {
            continue;
        }
        assert!(
            envaudit::fuzz::TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/regressions/{name} names no fuzz target"
        );
        n += std::fs::read_dir(target.path()).unwrap().count();
    }
    assert!(n >= 5, "only {n} named regressions");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    for p in [
        "pep508/nameless-local-path-is-not-pep508",
        "pep508/marker-value-with-quote-does-not-round-trip",
    ] {
        assert!(
            read(p).parse::<envaudit::python::Requirement>().is_ok(),
            "{p}"
        );
    }
    // the input the fuzzer found: `docker-archive:a` is no HOST[:PORT]
    let found = read("image_reference/registry-host-named-like-a-transport");
    assert!(found.parse::<envaudit::model::ImageSource>().is_err());
    // a real registry host named like a transport keeps its `docker://` when printed
    let named = read("image_reference/registry-named-like-a-transport-prints-with-docker-scheme");
    let parsed: envaudit::model::ImageSource = named.parse().unwrap();
    assert_eq!(parsed.to_string(), named);
}
