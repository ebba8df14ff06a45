use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A platform `OS/ARCH[/VARIANT]`, e.g. `linux/amd64` or `linux/arm64/v8`, as in an OCI
/// image index. Written in lowercase; `arm64` and `arm64/v8` are the same platform.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// Why a string is not a platform.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid platform `{platform}`: expected `OS/ARCH` or `OS/ARCH/VARIANT`, e.g. `linux/amd64`"
)]
pub struct PlatformError {
    /// The text that failed to parse, as given.
    pub platform: String,
}

impl Platform {
    /// `linux/amd64`, what a reference resolves to when no platform is asked for.
    pub fn linux_amd64() -> Self {
        Self::new("linux", "amd64", None)
    }

    /// A platform from its parts, lowercased; an empty `variant` counts as none. The parts are not
    /// checked against a list of known values.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Self {
            os: os.to_ascii_lowercase(),
            architecture: architecture.to_ascii_lowercase(),
            variant: variant
                .filter(|v| !v.is_empty())
                .map(str::to_ascii_lowercase),
        }
    }

    /// The operating system, e.g. `linux`.
    pub fn os(&self) -> &str {
        &self.os
    }

    /// The CPU architecture in Go's spelling, as OCI uses it: `amd64`, `arm64`.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// The CPU variant (`v8` in `linux/arm64/v8`), or `None` if none was written.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// Whether an image built for `other` serves a request for `self`. A request without a
    /// variant takes any variant; `arm64` images without a variant are `v8`.
    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != other.architecture {
            return false;
        }
        match (self.normal_variant(), other.normal_variant()) {
            (None, _) => true,
            (Some(want), have) => have == Some(want),
        }
    }

    fn normal_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None) => Some("v8"),
            (_, v) => v,
        }
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PlatformError {
            platform: s.to_owned(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self::new(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
                Ok(Self::new(os, arch, Some(variant)))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

super::serde_via_string!(Platform, PlatformError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_with_and_without_variant() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(
            (p.os(), p.architecture(), p.variant()),
            ("linux", "arm64", Some("v8"))
        );
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(
            "Linux/AMD64".parse::<Platform>().unwrap().to_string(),
            "linux/amd64"
        );
    }

    #[test]
    fn malformed_platforms_are_rejected() {
        for s in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux/amd64/v1/x",
            "linux/am d64",
        ] {
            assert!(s.parse::<Platform>().is_err(), "{s}");
        }
        insta::assert_snapshot!(
            "amd64".parse::<Platform>().unwrap_err(),
            @"invalid platform `amd64`: expected `OS/ARCH` or `OS/ARCH/VARIANT`, e.g. `linux/amd64`"
        );
    }

    #[test]
    fn arm64_without_variant_is_v8() {
        let want: Platform = "linux/arm64/v8".parse().unwrap();
        let have: Platform = "linux/arm64".parse().unwrap();
        assert!(want.matches(&have));
        assert!(have.matches(&want));
        let v7: Platform = "linux/arm/v7".parse().unwrap();
        let v6: Platform = "linux/arm/v6".parse().unwrap();
        assert!(!v7.matches(&v6));
        assert!("linux/arm".parse::<Platform>().unwrap().matches(&v6));
        assert!(!Platform::linux_amd64().matches(&have));
    }
}
