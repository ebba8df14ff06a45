//! Version ordering per ecosystem, so that `envaudit diff` can tell an upgrade from a downgrade.
//!
//! [`compare`] picks the ordering of the package's ecosystem:
//!
//! | ecosystem | ordering | checked against |
//! | --- | --- | --- |
//! | pip | PEP 440 (`compare_pip`) | `packaging.version.Version` |
//! | conda | conda's `VersionOrder` (`compare_conda`) | py-rattler's `rattler.Version` |
//! | deb | dpkg's `verrevcmp` on epoch, upstream, revision (`compare_deb`) | `dpkg --compare-versions` |
//! | apk | apk-tools' token comparison (`compare_apk`) | hand-written pairs |
//!
//! The vectors are in `tests/vectors/version_order.json`, made by
//! `scripts/gen-version-vectors.py`. The apk ordering was also run once against every
//! non-fuzzy row of apk-tools' own `test/unit/version.data` (GPL, so not vendored) and agreed.
//!
//! Every function here is total and never panics, whatever the input. A string that the
//! ecosystem's own tool would reject (`packaging` raises `InvalidVersion`, conda raises
//! `InvalidVersionSpec`, dpkg reports a syntax *error*) sorts below every valid version, and
//! two such strings compare by their bytes. apk is the exception: apk-tools compares invalid
//! versions too, up to where they turn invalid, and `compare_apk` does the same. Numbers of
//! any length are compared by value, where the tools would overflow or use bignums.
//!
//! Known differences from the reference tools:
//! - conda accepts `*` in a version (`1.0*` sorts below `1.0dev`) and so does this module;
//!   rattler rejects such strings, so the vectors hold none.
//! - pip: `packaging` matches case-insensitively with Unicode folding (`ſ` for `s`, `K` for
//!   `k`); here only ASCII letters fold.
//! - deb: bytes above 0x7f are weighed as dpkg does with a signed `char` (x86 Debian).

use std::cmp::Ordering;

use crate::catalog::apk_version::compare_apk;
use crate::catalog::deb_version::compare_deb;
use crate::conda::version::compare_conda;
use crate::model::Ecosystem;
use crate::python::version::compare_pip;

/// Order two version strings of `ecosystem`; see the module documentation.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    match ecosystem {
        Ecosystem::Pip => compare_pip(a, b),
        Ecosystem::Conda => compare_conda(a, b),
        Ecosystem::Deb => compare_deb(a, b),
        Ecosystem::Apk => compare_apk(a, b),
    }
}

/// Valid versions above invalid ones; two invalid ones by their bytes.
pub(crate) fn valid_first<T>(
    a: &str,
    pa: Option<T>,
    b: &str,
    pb: Option<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (pa, pb) {
        (Some(x), Some(y)) => cmp(&x, &y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// A non-negative integer of any length, kept as its ASCII digits without leading zeros, so
/// that ordering is by value and equality is string equality.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Number(pub(crate) String);

impl Number {
    /// `digits` must be ASCII digits (an empty run is zero).
    pub(crate) fn from_digits(digits: &[u8]) -> Self {
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        Number(digits[start..].iter().map(|&d| char::from(d)).collect())
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{self, Equal, Greater, Less};

    use super::*;

    fn check(cmp: fn(&str, &str) -> Ordering, cases: &[(&str, &str, Ordering)]) {
        for &(a, b, expected) in cases {
            assert_eq!(cmp(a, b), expected, "{a:?} vs {b:?}");
            assert_eq!(cmp(b, a), expected.reverse(), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn pip_orders_by_pep_440() {
        check(
            compare_pip,
            &[
                ("1.0", "1.0.0", Equal),
                ("v1.0", "1.0", Equal),
                ("1.0RC1", "1.0rc1", Equal),
                ("1.0c1", "1.0rc1", Equal),
                ("1.0pre1", "1.0preview1", Equal),
                ("1.0alpha1", "1.0.a.1", Equal),
                ("1.0-1", "1.0.post1", Equal),
                ("1.0.post", "1.0.post0", Equal),
                ("0!1.0", "1.0", Equal),
                ("1.0.dev0", "1.0a0", Less),
                ("1.0a1", "1.0b1", Less),
                ("1.0b1", "1.0rc1", Less),
                ("1.0rc1", "1.0", Less),
                ("1.0a1.dev1", "1.0a1", Less),
                ("1.0", "1.0.post1.dev1", Less),
                ("1.0.post1.dev1", "1.0.post1", Less),
                ("1.0", "1.0+local", Less),
                ("1.0+abc", "1.0+1", Less),
                ("1.0+1.2", "1.0+1.10", Less),
                ("1.0+abc", "1.0+abc.1", Less),
                ("2.0.0+cu118", "2.0.0+cu121", Less),
                ("1.9", "1.10", Less),
                ("1!0.1", "2.0", Greater),
                ("12345678901234567890", "12345678901234567891", Less),
            ],
        );
    }

    #[test]
    fn pip_legacy_versions_sort_below_valid_ones() {
        check(
            compare_pip,
            &[
                ("not a version", "0", Less),
                ("1.0-", "0.0.1", Less),
                ("1.0+", "0.0.1", Less),
                ("1.0+a..b", "1.0+a.b", Less),
                ("foo", "bar", Greater),
                ("", "0", Less),
            ],
        );
    }

    #[test]
    fn conda_orders_by_version_order() {
        // The sequence from conda's VersionOrder documentation, ascending.
        let docs = [
            "0.4",
            "0.4.0",
            "0.4.1.rc",
            "0.4.1.RC",
            "0.4.1",
            "0.5a1",
            "0.5b3",
            "0.5C1",
            "0.5",
            "0.9.6",
            "0.960923",
            "1.0",
            "1.1dev1",
            "1.1_",
            "1.1a1",
            "1.1.0dev1",
            "1.1.dev1",
            "1.1.a1",
            "1.1.0rc1",
            "1.1.0",
            "1.1.0post1",
            "1.1post1",
            "1996.07.12",
            "1!0.4.1",
            "1!3.1.1.6",
            "2!0.4.1",
        ];
        let equal = [
            ("0.4", "0.4.0"),
            ("0.4.1.rc", "0.4.1.RC"),
            ("1.1.0dev1", "1.1.dev1"),
        ];
        for pair in docs.windows(2) {
            let expected = if equal.contains(&(pair[0], pair[1])) {
                Equal
            } else {
                Less
            };
            check(compare_conda, &[(pair[0], pair[1], expected)]);
        }
        check(
            compare_conda,
            &[
                ("1.7.1_dev", "1.7.1", Less),
                ("1.7.1-1", "1.7.1_1", Equal),
                ("2023.01.01", "2023.1.1", Equal),
                ("1.0*", "1.0dev", Less),
                ("1.0+a", "1.0", Less),
                ("1.0+1", "1.0", Greater),
                ("1.1.1w", "1.1.1k", Greater),
            ],
        );
    }

    #[test]
    fn conda_invalid_versions_sort_below_valid_ones() {
        check(
            compare_conda,
            &[
                ("", "0", Less),
                ("1..0", "0", Less),
                ("1!2!3", "0", Less),
                ("1+2+3", "0", Less),
                ("a!1", "0", Less),
                ("+1", "0", Less),
                ("1.0_1-2", "0", Less),
                ("1.0 beta", "0", Less),
            ],
        );
    }

    #[test]
    fn deb_orders_like_dpkg() {
        check(
            compare_deb,
            &[
                ("1.0", "1.0-0", Equal),
                ("0:1.0", "1.0", Equal),
                ("1.00", "1.0", Equal),
                ("1.0~rc1", "1.0", Less),
                ("1.0~~", "1.0~", Less),
                ("1.0", "1.0a", Less),
                ("1.0a", "1.0+", Less),
                ("1.0+", "1.0.1", Less),
                ("1:0.9", "2.0", Greater),
                ("1:2.3-4ubuntu1~22.04", "1:2.3-4ubuntu1", Less),
                ("1:2.3-4ubuntu1~20.04", "1:2.3-4ubuntu1~22.04", Less),
                ("2.36-9+deb12u4", "2.36-9+deb12u7", Less),
                ("1.0-1-2", "1.0-1-1", Greater),
                ("+1:1.0", "1:1.0", Equal),
                ("-0:1.0", "1.0", Equal),
                (" 1.0 ", "1.0", Equal),
                ("99999999999999999999", "99999999999999999998", Greater),
            ],
        );
    }

    #[test]
    fn deb_versions_dpkg_refuses_sort_below_valid_ones() {
        check(
            compare_deb,
            &[
                ("", "0", Less),
                ("1.0-", "0", Less),
                ("-1", "0", Less),
                (":1.0", "0", Less),
                ("1:", "0", Less),
                ("a:1.0", "0", Less),
                ("-1:1.0", "0", Less),
                ("2147483648:1.0", "0", Less),
                ("1.0 1", "0", Less),
            ],
        );
        // Warnings only: compared all the same.
        check(
            compare_deb,
            &[("a", "b", Less), ("2147483647:0", "1", Greater)],
        );
    }

    #[test]
    fn apk_orders_like_apk_tools() {
        check(
            compare_apk,
            &[
                ("1.0", "1.0.0", Less),
                ("1", "1.0", Less),
                ("01", "1", Equal),
                ("1.01", "1.1", Less),
                ("1.001", "1.01", Less),
                ("1.0", "1.00", Less),
                ("1.0a", "1.0.1", Less),
                ("1.0_rc1", "1.0", Less),
                ("1.0_alpha", "1.0_beta", Less),
                ("1.0_rc1", "1.0_rc", Greater),
                ("1.0", "1.0_p1", Less),
                ("1.0_p1", "1.0.1", Less),
                ("1.0", "1.0-r0", Less),
                ("2.9.1-r3", "2.9.1-r10", Less),
                ("2.9.1_rc1-r5", "2.9.1-r3", Less),
                ("1.0~1234-r1", "1.0~2345-r0", Less),
                ("1.0~abc", "1.0", Greater),
                ("99999999999999999999", "99999999999999999998", Greater),
            ],
        );
    }

    #[test]
    fn apk_rejects_what_apk_tools_rejects() {
        for v in [
            "",
            "a",
            "1.0-x",
            "1.0-r",
            "1.0_foo",
            "1.0_",
            "1a2",
            "1.0a.1",
            "1.0bc",
            "1..2",
            "1.0-r1.2",
            "1.0A",
            "1.0~",
            "1.0~12ab_p1",
            "1.0-r1~12ab",
            "1.0 ",
        ] {
            assert!(
                !crate::catalog::apk_version::is_valid(&crate::catalog::apk_version::parse(v)),
                "{v:?}"
            );
        }
        for v in ["0", "1.0a_rc1_p2~12ab-r3", "2.9.1-r3", "1.0_git20230101"] {
            assert!(
                crate::catalog::apk_version::is_valid(&crate::catalog::apk_version::parse(v)),
                "{v:?}"
            );
        }
    }

    #[test]
    fn apk_compares_invalid_versions_up_to_where_they_turn_invalid() {
        check(
            compare_apk,
            &[
                ("23_foo", "4_beta", Greater),
                ("1.0", "1.0bc", Less),
                ("1.0_foo", "1.0", Less),
                ("1.0_foo", "1.0_bar", Greater),
                ("", "0", Less),
                ("a", "b", Less),
            ],
        );
    }

    #[test]
    fn dispatch_follows_the_ecosystem() {
        // `1.0-1` is a post release for pip, `1.0_1` for conda, a Debian revision for deb.
        assert_eq!(compare(Ecosystem::Pip, "1.0-1", "1.0.post1"), Equal);
        assert_eq!(compare(Ecosystem::Conda, "1.0a", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Deb, "1.0~a", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Apk, "1.0_p1", "1.0"), Greater);
    }

    #[derive(serde::Deserialize)]
    struct Vectors {
        pip: Vec<(String, String, String)>,
        conda: Vec<(String, String, String)>,
        deb: Vec<(String, String, String)>,
        apk: Vec<(String, String, String)>,
        invalid: Invalid,
    }

    #[derive(serde::Deserialize)]
    struct Invalid {
        pip: Vec<String>,
        conda: Vec<String>,
        deb: Vec<String>,
    }

    fn disagreements(ecosystem: Ecosystem, pairs: &[(String, String, String)]) -> Vec<String> {
        pairs
            .iter()
            .filter_map(|(a, b, op)| {
                let got = match compare(ecosystem, a, b) {
                    Less => "<",
                    Equal => "=",
                    Greater => ">",
                };
                (got != op).then(|| format!("{ecosystem}: {a:?} {op} {b:?}, got {got}"))
            })
            .collect()
    }

    #[test]
    fn agrees_with_reference_vectors() {
        let vectors: Vectors =
            serde_json::from_str(include_str!("../tests/vectors/version_order.json"))
                .expect("vector file is valid JSON");
        let mut failures = Vec::new();
        for (ecosystem, pairs) in [
            (Ecosystem::Pip, &vectors.pip),
            (Ecosystem::Conda, &vectors.conda),
            (Ecosystem::Deb, &vectors.deb),
            (Ecosystem::Apk, &vectors.apk),
        ] {
            assert!(
                pairs.len() >= 50,
                "{ecosystem}: only {} vectors",
                pairs.len()
            );
            failures.extend(disagreements(ecosystem, pairs));
        }
        for (ecosystem, rejected, lowest_valid) in [
            (Ecosystem::Pip, &vectors.invalid.pip, "0"),
            (Ecosystem::Conda, &vectors.invalid.conda, "0"),
            (Ecosystem::Deb, &vectors.invalid.deb, "0"),
        ] {
            for v in rejected {
                if compare(ecosystem, v, lowest_valid) != Less {
                    failures.push(format!(
                        "{ecosystem}: {v:?} is rejected by the tool, not here"
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    const ECOSYSTEMS: [Ecosystem; 4] = [
        Ecosystem::Pip,
        Ecosystem::Conda,
        Ecosystem::Deb,
        Ecosystem::Apk,
    ];

    proptest::proptest! {
        #[test]
        fn any_strings_compare_antisymmetrically(a in ".{0,24}", b in ".{0,24}") {
            for eco in ECOSYSTEMS {
                proptest::prop_assert_eq!(compare(eco, &a, &a), Equal);
                proptest::prop_assert_eq!(compare(eco, &a, &b), compare(eco, &b, &a).reverse());
            }
        }

        #[test]
        fn version_like_strings_compare_antisymmetrically(
            a in "[0-9a-eprvA-Z.+!_~:*-]{0,16}",
            b in "[0-9a-eprvA-Z.+!_~:*-]{0,16}",
        ) {
            for eco in ECOSYSTEMS {
                proptest::prop_assert_eq!(compare(eco, &a, &a), Equal);
                proptest::prop_assert_eq!(compare(eco, &a, &b), compare(eco, &b, &a).reverse());
            }
        }
    }
}
