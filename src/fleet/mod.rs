//! Fleet inventory: every environment image of an organisation, scanned by many workers,
//! merged into one database, queried by package.
//!
//! The pieces (see docs/fleet.md):
//! - [`record`]: the JSON-lines file each worker appends its results to (`fleet scan
//!   --out`), one [`record::ScanRecord`] per line, a torn last line ignored;
//! - [`shard_of`]: which worker of `N` scans an image, by its platform manifest's digest,
//!   never by its position in a listing (the listing changes between workers);
//! - [`db`]: the inventory, an embedded SQLite database the results are merged into
//!   (`fleet merge`), and the queries over it (`fleet query`);
//! - [`spec`]: the package queries (`[ECO:]NAME[SPEC]`, purls);
//! - [`locked`]: the lockfiles' environments and runs, by image.

pub mod db;
pub mod facts;
pub mod locked;
pub mod record;
pub mod scan;
pub mod spec;

use crate::model::Digest;

/// The shard (`0..shards`) that owns the image whose platform manifest is `manifest`: the
/// digest's first 8 bytes, big-endian, modulo `shards`. A digest is already uniform, so
/// every worker computes the same partition from the digest alone. `shards` of 0 is
/// treated as 1.
pub fn shard_of(manifest: &Digest, shards: u32) -> u32 {
    let hex = manifest.hex();
    let prefix = hex.get(..16).unwrap_or(hex);
    let n = u64::from_str_radix(prefix, 16).unwrap_or(0);
    u32::try_from(n % u64::from(shards.max(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_by_digest() {
        let d = |s: &str| Digest::sha256_of(s.as_bytes());
        let digests: Vec<Digest> = (0..400).map(|i| d(&i.to_string())).collect();
        for n in [1u32, 2, 3, 7] {
            let mut counts = vec![0u32; n as usize];
            for x in &digests {
                let s = shard_of(x, n);
                assert!(s < n);
                assert_eq!(s, shard_of(x, n), "stable");
                counts[s as usize] += 1;
            }
            // Uniform enough: every shard gets work.
            assert!(counts.iter().all(|&c| c > 400 / n / 2), "{counts:?}");
        }
        assert_eq!(shard_of(&digests[0], 0), 0);
    }
}
