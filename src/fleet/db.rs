//! The fleet inventory: an embedded SQLite database (`fleet merge --db`, `fleet scan --db`)
//! that users may query with SQL. docs/fleet.md ("Inventory database") documents every
//! table; [`SCHEMA`] is the schema itself.
//!
//! Design:
//! - **Natural keys, idempotent merges.** Every row is keyed by what it observes (a manifest
//!   digest, a reference and the time it was seen, a scan's subject and time), and written
//!   with `INSERT OR IGNORE` or an upsert, one transaction per [`Inventory::merge`] call, so
//!   merging the same records twice changes nothing, and merging files in any order gives
//!   the same database.
//! - **An image's content is one snapshot.** The rows of `layers`, `prefixes`, `packages`
//!   and `licenses` of a manifest hold the snapshot of its newest scan; an older scan's
//!   snapshot never replaces a newer one.
//! - **References keep their history.** `refs` holds one row per observation (reference,
//!   manifest, time); `current_refs` holds the newest; the `moves` view lists the
//!   observations where a reference's manifest changed.
//! - The library never prints; the CLI renders what these functions return.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use serde::Serialize;

use super::record::{self, ImageRecord, RecordError, ScanRecord, SeenRecord, UnreadableRecord};
use super::scan::Done;
use super::spec::PackageQuery;
use crate::model::{Digest, PackageName};

/// The inventory's schema version, in `meta` under `schema_version`; a newer one is refused.
pub const DB_SCHEMA_VERSION: u32 = 1;

/// The schema (version [`DB_SCHEMA_VERSION`]), as created in a new inventory.
pub const SCHEMA: &str = "
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE images (
  manifest TEXT PRIMARY KEY,
  registry TEXT NOT NULL,
  config TEXT,
  platform TEXT,
  os TEXT,
  completeness TEXT NOT NULL,
  snapshot TEXT NOT NULL,
  content_scanned_at TEXT NOT NULL,
  first_scanned TEXT NOT NULL,
  last_scanned TEXT NOT NULL
);
CREATE TABLE refs (
  reference TEXT NOT NULL,
  manifest TEXT NOT NULL,
  scanned_at TEXT NOT NULL,
  image_index TEXT,
  PRIMARY KEY (reference, manifest, scanned_at)
) WITHOUT ROWID;
CREATE TABLE current_refs (
  reference TEXT PRIMARY KEY,
  manifest TEXT NOT NULL,
  scanned_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX current_refs_manifest ON current_refs (manifest);
CREATE TABLE layers (
  manifest TEXT NOT NULL,
  position INTEGER NOT NULL,
  diff_id TEXT NOT NULL,
  PRIMARY KEY (manifest, position)
) WITHOUT ROWID;
CREATE INDEX layers_diff_id ON layers (diff_id);
CREATE TABLE prefixes (
  manifest TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  python TEXT,
  platform TEXT,
  PRIMARY KEY (manifest, path)
) WITHOUT ROWID;
CREATE TABLE packages (
  id INTEGER PRIMARY KEY,
  manifest TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  build TEXT,
  channel TEXT,
  prefix TEXT,
  base INTEGER,
  python_dist TEXT
);
CREATE INDEX images_completeness ON images (completeness);
CREATE INDEX packages_name ON packages (name, ecosystem);
CREATE INDEX packages_python_dist ON packages (python_dist) WHERE python_dist IS NOT NULL;
CREATE INDEX packages_manifest ON packages (manifest);
CREATE TABLE licenses (
  package INTEGER NOT NULL,
  license TEXT NOT NULL
);
CREATE INDEX licenses_package ON licenses (package);
CREATE TABLE package_counts (
  manifest TEXT NOT NULL,
  dimension TEXT NOT NULL,
  key TEXT NOT NULL,
  packages INTEGER NOT NULL,
  PRIMARY KEY (manifest, dimension, key)
) WITHOUT ROWID;
CREATE TABLE scans (
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  scanned_at TEXT NOT NULL,
  worker TEXT,
  source TEXT NOT NULL,
  PRIMARY KEY (kind, subject, scanned_at)
) WITHOUT ROWID;
CREATE TABLE unreadable (
  reference TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  scanned_at TEXT NOT NULL,
  worker TEXT,
  PRIMARY KEY (reference, scanned_at)
) WITHOUT ROWID;
CREATE VIEW moves AS
SELECT reference, previous_manifest, manifest, previous_scanned_at, scanned_at FROM (
  SELECT reference, manifest, scanned_at,
    LAG(manifest) OVER w AS previous_manifest,
    LAG(scanned_at) OVER w AS previous_scanned_at
  FROM refs
  WINDOW w AS (PARTITION BY reference ORDER BY scanned_at, manifest)
) WHERE previous_manifest IS NOT NULL AND previous_manifest != manifest;
";

/// Why the inventory could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum FleetDbError {
    /// SQLite failed.
    #[error("inventory `{path}`: {source}", path = .path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file does not exist (queries never create an inventory).
    #[error("no inventory at `{path}` (create one with `envaudit fleet merge FILE... --db {path}`)", path = .path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The database is not an envaudit inventory (no `meta` schema version).
    #[error("`{path}` is not an envaudit fleet inventory", path = .path.display())]
    NotInventory {
        /// The database file.
        path: PathBuf,
    },
    /// The inventory was written by a newer envaudit.
    #[error("inventory `{path}` has schema version {found}; this envaudit reads up to {DB_SCHEMA_VERSION}", path = .path.display())]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
    },
    /// A results file could not be read.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// What one [`Inventory::merge`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MergeStats {
    /// Records given.
    pub records: usize,
    /// Images (manifests) new to the inventory.
    pub new_images: usize,
    /// Images whose content a newer scan replaced.
    pub replaced_images: usize,
    /// New (reference, manifest, time) observations.
    pub new_observations: usize,
    /// References whose current manifest changed.
    pub moved_references: usize,
    /// New unreadable findings.
    pub new_unreadable: usize,
}

impl MergeStats {
    /// Whether the merge changed nothing.
    pub fn is_unchanged(&self) -> bool {
        self.new_images == 0
            && self.replaced_images == 0
            && self.new_observations == 0
            && self.moved_references == 0
            && self.new_unreadable == 0
    }
}

/// A package that matched a query, in one image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageMatch {
    /// The query as written.
    pub query: String,
    /// The image's platform manifest.
    pub manifest: String,
    /// The registry it was read from.
    pub registry: String,
    /// `pip`, `conda`, `deb`, `apk`.
    pub ecosystem: String,
    /// The normalised name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The conda build string.
    pub build: Option<String>,
    /// The environment prefix.
    pub prefix: Option<String>,
    /// The references that currently point at the image (sorted).
    pub references: Vec<String>,
}

/// A reference whose manifest changed between two scans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The reference.
    pub reference: String,
    /// The manifest it pointed at before.
    pub from: String,
    /// The manifest it pointed at after.
    pub to: String,
    /// When it was seen at `from` (the last observation before the move).
    pub from_scanned_at: String,
    /// When it was first seen at `to`.
    pub to_scanned_at: String,
}

/// An image of the inventory with its current references.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// The platform manifest.
    pub manifest: String,
    /// The registry.
    pub registry: String,
    /// When it was last scanned.
    pub last_scanned: String,
    /// `complete`, `partial: REASON` or `nothing-found` (of the content rows).
    pub completeness: String,
    /// The references currently pointing at it (sorted).
    pub references: Vec<String>,
}

impl ImageSummary {
    /// Its current references, comma-separated, or `no current reference`.
    #[must_use]
    pub fn references_text(&self) -> String {
        if self.references.is_empty() {
            "no current reference".to_owned()
        } else {
            self.references.join(", ")
        }
    }
}

/// Counts over the inventory (`fleet query --summary`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Images.
    pub images: u64,
    /// References with a current pointer.
    pub references: u64,
    /// References that could not be read (distinct).
    pub unreadable: u64,
    /// Per ecosystem: (ecosystem, packages, images holding one).
    pub ecosystems: Vec<Count>,
    /// Per licence as stated (`(none)` for packages that state none): packages, images.
    pub licenses: Vec<Count>,
    /// Per prefix (`(none)` for system packages): packages, images.
    pub prefixes: Vec<Count>,
}

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted.
    pub key: String,
    /// Package rows.
    pub packages: u64,
    /// Distinct images.
    pub images: u64,
}

/// An open inventory.
#[derive(Debug)]
pub struct Inventory {
    conn: Connection,
    path: PathBuf,
}

impl Inventory {
    /// Opens the inventory at `path`, creating it (and its schema) when missing.
    pub fn open(path: &Path) -> Result<Self, FleetDbError> {
        Self::open_with(path, true)
    }

    /// Opens an existing inventory; a missing file is [`FleetDbError::Missing`].
    pub fn open_existing(path: &Path) -> Result<Self, FleetDbError> {
        if !path.is_file() {
            return Err(FleetDbError::Missing {
                path: path.to_path_buf(),
            });
        }
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Self, FleetDbError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let sql = |source| FleetDbError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_mins(1))
            .map_err(sql)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(sql)?;
        let mut inv = Inventory {
            conn,
            path: path.to_path_buf(),
        };
        inv.check_schema()?;
        Ok(inv)
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> FleetDbError + '_ {
        |source| FleetDbError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn check_schema(&mut self) -> Result<(), FleetDbError> {
        let path = self.path.clone();
        let sql = |source| FleetDbError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(sql)?;
        let has_meta: bool = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?
            > 0;
        if tables == 0 {
            tx.execute_batch(SCHEMA).map_err(sql)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [DB_SCHEMA_VERSION.to_string()],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            return Ok(());
        }
        let version: Option<String> = if has_meta {
            tx.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?
        } else {
            None
        };
        let found = version
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| FleetDbError::NotInventory { path: path.clone() })?;
        if found > DB_SCHEMA_VERSION {
            return Err(FleetDbError::NewerSchema { path, found });
        }
        tx.commit().map_err(sql)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open SQLite connection, for callers that want SQL of their own.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Merges one results file ([`record::read`]: a torn last line is ignored); returns the
    /// stats and whether a torn last line was ignored. `source` in `scans` is the path as
    /// given.
    pub fn merge_file(&mut self, path: &Path) -> Result<(MergeStats, bool), FleetDbError> {
        let results = record::read(path)?;
        let stats = self.merge(&results.records, &path.display().to_string())?;
        Ok((stats, results.torn_last_line))
    }

    /// Merges records in one transaction. `source` names where they came from (a results
    /// file, or `fleet scan` writing directly) and is kept in `scans` for the first merge of
    /// each scan. Idempotent: merging the same records again changes nothing.
    pub fn merge(
        &mut self,
        records: &[ScanRecord],
        source: &str,
    ) -> Result<MergeStats, FleetDbError> {
        let path = self.path.clone();
        let sql = |source| FleetDbError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut stats = MergeStats {
            records: records.len(),
            ..MergeStats::default()
        };
        for r in records {
            match r {
                ScanRecord::Image(image) => merge_image(&tx, image, source, &mut stats),
                ScanRecord::Unreadable(u) => merge_unreadable(&tx, u, source, &mut stats),
                ScanRecord::Seen(seen) => merge_seen(&tx, seen, source, &mut stats),
            }
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(stats)
    }

    /// What the inventory already holds, for `fleet scan --db` to skip: the manifests
    /// scanned (but not those read incompletely, which are read again), each reference's
    /// current pointer and the references recorded unreadable.
    pub fn done(&self) -> Result<Done, FleetDbError> {
        let mut done = Done::default();
        let mut stmt = self
            .conn
            .prepare("SELECT manifest FROM images WHERE completeness NOT LIKE 'partial%'")
            .map_err(self.sql())?;
        for r in stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.sql())?
        {
            // Rows written by this module hold digests; anything else is not ours to skip.
            if let Ok(d) = r.map_err(self.sql())?.parse::<Digest>() {
                done.manifests.insert(d);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT reference, manifest, scanned_at FROM current_refs")
            .map_err(self.sql())?;
        for r in stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(self.sql())?
        {
            let (reference, manifest, at) = r.map_err(self.sql())?;
            if let Ok(d) = manifest.parse::<Digest>() {
                done.point(&[reference], &d, &at);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT reference FROM unreadable")
            .map_err(self.sql())?;
        for r in stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.sql())?
        {
            done.unreadable.insert(r.map_err(self.sql())?);
        }
        Ok(done)
    }

    /// Row counts of every table, by name (for tests and `merge`'s report).
    pub fn counts(&self) -> Result<BTreeMap<String, u64>, FleetDbError> {
        let mut out = BTreeMap::new();
        for t in [
            "images",
            "refs",
            "current_refs",
            "layers",
            "prefixes",
            "packages",
            "licenses",
            "package_counts",
            "scans",
            "unreadable",
        ] {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .map_err(self.sql())?;
            out.insert(t.to_owned(), u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    /// The packages matching any of `queries`, with their images and current references;
    /// sorted by query, then manifest, ecosystem, name, version, prefix.
    pub fn find(&self, queries: &[PackageQuery]) -> Result<Vec<PackageMatch>, FleetDbError> {
        let mut by_name = self
            .conn
            .prepare_cached(
                "SELECT p.manifest, i.registry, p.ecosystem, p.name, p.version, p.build, p.prefix
                 FROM packages p JOIN images i ON i.manifest = p.manifest
                 WHERE p.name = ?1 AND p.ecosystem = ?2",
            )
            .map_err(self.sql())?;
        // A conda package that installs a Python distribution (`python_dist`: conda's
        // `pytorch` is PyPI's `torch`) answers a PyPI query under its PyPI name.
        let mut by_dist = self
            .conn
            .prepare_cached(
                "SELECT p.manifest, i.registry, p.ecosystem, p.name, p.version, p.build, p.prefix
                 FROM packages p JOIN images i ON i.manifest = p.manifest
                 WHERE p.python_dist = ?1 AND p.ecosystem = 'conda'",
            )
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for q in queries {
            for arm in q.arms() {
                let eco = arm.ecosystem.to_string();
                // A fleet repeats a few versions of a package many times: match each once.
                let mut verdicts = std::collections::HashMap::<String, bool>::new();
                let row = |r: &rusqlite::Row<'_>| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                };
                let mut rows = by_name
                    .query_map(params![arm.name.as_str(), eco], row)
                    .map_err(self.sql())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(self.sql())?;
                if arm.ecosystem == crate::model::Ecosystem::Pip {
                    rows.extend(
                        by_dist
                            .query_map(params![arm.name.as_str()], row)
                            .map_err(self.sql())?
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(self.sql())?,
                    );
                }
                for (manifest, registry, ecosystem, name, version, build, prefix) in rows {
                    let hit = if let Some(&v) = verdicts.get(&version) {
                        v
                    } else {
                        let v = arm.matches(&version);
                        verdicts.insert(version.clone(), v);
                        v
                    };
                    if !hit {
                        continue;
                    }
                    out.push(PackageMatch {
                        query: q.text().to_owned(),
                        references: Vec::new(),
                        manifest,
                        registry,
                        ecosystem,
                        name,
                        version,
                        build,
                        prefix,
                    });
                }
            }
        }
        let refs = self.references_of(&out.iter().map(|m| m.manifest.as_str()).collect())?;
        for m in &mut out {
            if let Some(r) = refs.get(&m.manifest) {
                m.references.clone_from(r);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The current references of each of `manifests`, sorted, in one statement (a query that
    /// matches thousands of images would otherwise make a round trip each).
    fn references_of(
        &self,
        manifests: &std::collections::BTreeSet<&str>,
    ) -> Result<BTreeMap<String, Vec<String>>, FleetDbError> {
        let list = serde_json::to_string(manifests).unwrap_or_else(|_| "[]".to_owned());
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.manifest, c.reference FROM json_each(?1) j
                 JOIN current_refs c ON c.manifest = j.value ORDER BY c.manifest, c.reference",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([list], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sql())?;
        let mut out = BTreeMap::<String, Vec<String>>::new();
        for row in rows {
            let (manifest, reference) = row.map_err(self.sql())?;
            out.entry(manifest).or_default().push(reference);
        }
        Ok(out)
    }

    /// Every change of a reference's manifest between two scans (the `moves` view), by
    /// reference then time.
    pub fn moves(&self) -> Result<Vec<Move>, FleetDbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT reference, previous_manifest, manifest, previous_scanned_at, scanned_at
                 FROM moves ORDER BY reference, scanned_at",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Move {
                    reference: r.get(0)?,
                    from: r.get(1)?,
                    to: r.get(2)?,
                    from_scanned_at: r.get(3)?,
                    to_scanned_at: r.get(4)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Every image, by manifest, with its current references.
    pub fn images(&self) -> Result<Vec<ImageSummary>, FleetDbError> {
        self.images_where("1")
    }

    /// The images whose content was read incompletely (`partial`: a limit, a corrupt or
    /// truncated layer, a blob that failed its digest): a package query cannot rule them
    /// out.
    pub fn incomplete(&self) -> Result<Vec<ImageSummary>, FleetDbError> {
        // `partial: REASON`; a range, so that the index on `completeness` answers it.
        self.images_where("i.completeness >= 'partial:' AND i.completeness < 'partial;'")
    }

    fn images_where(&self, filter: &str) -> Result<Vec<ImageSummary>, FleetDbError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT i.manifest, i.registry, i.last_scanned, i.completeness,
                   group_concat(c.reference, char(10))
                 FROM images i LEFT JOIN current_refs c ON c.manifest = i.manifest
                 WHERE {filter}
                 GROUP BY i.manifest ORDER BY i.manifest"
            ))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                let refs: Option<String> = r.get(4)?;
                let mut references: Vec<String> = refs
                    .map(|s| s.split('\n').map(str::to_owned).collect())
                    .unwrap_or_default();
                references.sort();
                Ok(ImageSummary {
                    manifest: r.get(0)?,
                    registry: r.get(1)?,
                    last_scanned: r.get(2)?,
                    completeness: r.get(3)?,
                    references,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Counts by ecosystem, licence and prefix.
    pub fn summary(&self) -> Result<Summary, FleetDbError> {
        let one = |q: &str| -> Result<u64, FleetDbError> {
            let n: i64 = self
                .conn
                .query_row(q, [], |r| r.get(0))
                .map_err(self.sql())?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let counts = |q: &str| -> Result<Vec<Count>, FleetDbError> {
            let mut stmt = self.conn.prepare(q).map_err(self.sql())?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Count {
                        key: r.get(0)?,
                        packages: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        images: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    })
                })
                .map_err(self.sql())?;
            rows.collect::<Result<_, _>>().map_err(self.sql())
        };
        Ok(Summary {
            images: one("SELECT count(*) FROM images")?,
            references: one("SELECT count(*) FROM current_refs")?,
            unreadable: one("SELECT count(DISTINCT reference) FROM unreadable")?,
            // `package_counts` has one row per image and key: its rows are the images.
            ecosystems: counts(
                "SELECT key, sum(packages), count(*) FROM package_counts
                 WHERE dimension = 'ecosystem' GROUP BY key ORDER BY 2 DESC, 1",
            )?,
            licenses: counts(
                "SELECT key, sum(packages), count(*) FROM package_counts
                 WHERE dimension = 'license' GROUP BY key ORDER BY 2 DESC, 1",
            )?,
            prefixes: counts(
                "SELECT key, sum(packages), count(*) FROM package_counts
                 WHERE dimension = 'prefix' GROUP BY key ORDER BY 2 DESC, 1",
            )?,
        })
    }
}

/// The key of `package_counts` rows for packages without a licence or a prefix.
const NONE: &str = "(none)";

/// The identity of a record's content: the snapshot id, or a digest of the snapshot when a
/// writer left the id empty.
fn content_id(image: &ImageRecord) -> String {
    if image.snapshot.id.is_empty() {
        serde_json::to_vec(&image.snapshot)
            .map(|b| Digest::sha256_of(&b).to_string())
            .unwrap_or_default()
    } else {
        image.snapshot.id.clone()
    }
}

fn merge_image(
    tx: &rusqlite::Transaction<'_>,
    image: &ImageRecord,
    source: &str,
    stats: &mut MergeStats,
) -> rusqlite::Result<()> {
    let manifest = image.manifest.to_string();
    let s = &image.snapshot;
    let at = image.scanned_at.as_str();
    let content = content_id(image);
    let existing: Option<(String, String, String)> = tx
        .prepare_cached(
            "SELECT snapshot, content_scanned_at, completeness FROM images WHERE manifest = ?1",
        )?
        .query_row([&manifest], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let config = s.image_config.as_ref().map(ToString::to_string);
    let completeness = s.completeness.to_string();
    let write_content = match &existing {
        None => {
            tx.prepare_cached(
                "INSERT INTO images (manifest, registry, config, platform, os, completeness,
                   snapshot, content_scanned_at, first_scanned, last_scanned)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)",
            )?
            .execute(params![
                manifest,
                image.registry,
                config,
                s.image_platform,
                s.os,
                completeness,
                content,
                at
            ])?;
            stats.new_images += 1;
            true
        }
        Some((old_content, old_at, old_completeness)) => {
            tx.prepare_cached(
                "UPDATE images SET first_scanned = min(first_scanned, ?2),
                   last_scanned = max(last_scanned, ?2) WHERE manifest = ?1",
            )?
            .execute(params![manifest, at])?;
            // The newest reading wins; at the same time, a whole one over a partial one,
            // then the larger content id (so the order of merging never matters).
            let rank = |at: &str, completeness: &str, content: &str| {
                (
                    at.to_owned(),
                    !completeness.starts_with("partial"),
                    content.to_owned(),
                )
            };
            if *old_content != content
                && rank(at, &completeness, &content) > rank(old_at, old_completeness, old_content)
            {
                tx.prepare_cached(
                    "UPDATE images SET registry = ?2, config = ?3, platform = ?4, os = ?5,
                       completeness = ?6, snapshot = ?7, content_scanned_at = ?8
                     WHERE manifest = ?1",
                )?
                .execute(params![
                    manifest,
                    image.registry,
                    config,
                    s.image_platform,
                    s.os,
                    completeness,
                    content,
                    at
                ])?;
                for q in [
                    "DELETE FROM licenses WHERE package IN (SELECT id FROM packages WHERE manifest = ?1)",
                    "DELETE FROM packages WHERE manifest = ?1",
                    "DELETE FROM layers WHERE manifest = ?1",
                    "DELETE FROM prefixes WHERE manifest = ?1",
                    "DELETE FROM package_counts WHERE manifest = ?1",
                ] {
                    tx.prepare_cached(q)?.execute([&manifest])?;
                }
                stats.replaced_images += 1;
                true
            } else {
                false
            }
        }
    };
    if write_content {
        let mut layer = tx.prepare_cached(
            "INSERT OR IGNORE INTO layers (manifest, position, diff_id) VALUES (?1, ?2, ?3)",
        )?;
        for (i, d) in s.image_layers.iter().enumerate() {
            layer.execute(params![
                manifest,
                i64::try_from(i).unwrap_or(i64::MAX),
                d.to_string()
            ])?;
        }
        let mut prefix = tx.prepare_cached(
            "INSERT OR IGNORE INTO prefixes (manifest, path, kind, python, platform)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for p in &s.prefixes {
            prefix.execute(params![
                manifest,
                p.path,
                p.kind.as_str(),
                p.python,
                p.platform
            ])?;
        }
        let mut package = tx.prepare_cached(
            "INSERT INTO packages (manifest, ecosystem, name, version, build, channel, prefix, base,
               python_dist)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut license =
            tx.prepare_cached("INSERT INTO licenses (package, license) VALUES (?1, ?2)")?;
        // Per image: packages by ecosystem, licence and prefix (what `summary` adds up).
        let mut tally = BTreeMap::<(&str, &str), i64>::new();
        for p in &s.packages {
            let eco = match p.ecosystem {
                crate::model::Ecosystem::Conda => "conda",
                crate::model::Ecosystem::Pip => "pip",
                crate::model::Ecosystem::Deb => "deb",
                crate::model::Ecosystem::Apk => "apk",
            };
            *tally.entry(("ecosystem", eco)).or_default() += 1;
            *tally
                .entry(("prefix", p.prefix.as_deref().unwrap_or(NONE)))
                .or_default() += 1;
            if p.licenses.is_empty() {
                *tally.entry(("license", NONE)).or_default() += 1;
            }
            for l in &p.licenses {
                *tally.entry(("license", l.as_str())).or_default() += 1;
            }
        }
        let mut count = tx.prepare_cached(
            "INSERT OR IGNORE INTO package_counts (manifest, dimension, key, packages)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for ((dimension, key), n) in &tally {
            count.execute(params![manifest, dimension, key, n])?;
        }
        for p in &s.packages {
            package.execute(params![
                manifest,
                p.ecosystem.to_string(),
                p.name.as_str(),
                p.version,
                p.build,
                p.channel,
                p.prefix,
                p.base,
                p.python_dist.as_ref().map(PackageName::as_str)
            ])?;
            let id = tx.last_insert_rowid();
            for l in &p.licenses {
                license.execute(params![id, l])?;
            }
        }
    }
    merge_refs(
        tx,
        &image.references,
        &manifest,
        at,
        image.index.as_ref(),
        stats,
    )?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO scans (kind, subject, scanned_at, worker, source)
         VALUES ('image', ?1, ?2, ?3, ?4)",
    )?
    .execute(params![manifest, at, image.worker, source])?;
    Ok(())
}

/// Records that `references` pointed at `manifest` at `at`: an observation each in `refs`,
/// and the current pointer when it is the newest.
fn merge_refs(
    tx: &rusqlite::Transaction<'_>,
    references: &[String],
    manifest: &str,
    at: &str,
    index: Option<&Digest>,
    stats: &mut MergeStats,
) -> rusqlite::Result<()> {
    let index = index.map(ToString::to_string);
    for reference in references {
        stats.new_observations += tx
            .prepare_cached(
                "INSERT OR IGNORE INTO refs (reference, manifest, scanned_at, image_index)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![reference, manifest, at, index])?;
        let current: Option<String> = tx
            .prepare_cached("SELECT manifest FROM current_refs WHERE reference = ?1")?
            .query_row([reference], |r| r.get(0))
            .optional()?;
        let changed = tx
            .prepare_cached(
                "INSERT INTO current_refs (reference, manifest, scanned_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (reference) DO UPDATE SET manifest = excluded.manifest,
                   scanned_at = excluded.scanned_at
                 WHERE excluded.scanned_at > current_refs.scanned_at
                   OR (excluded.scanned_at = current_refs.scanned_at
                       AND excluded.manifest > current_refs.manifest)",
            )?
            .execute(params![reference, manifest, at])?;
        if changed > 0 && current.is_some_and(|c| c != manifest) {
            stats.moved_references += 1;
        }
    }
    Ok(())
}

fn merge_seen(
    tx: &rusqlite::Transaction<'_>,
    seen: &SeenRecord,
    source: &str,
    stats: &mut MergeStats,
) -> rusqlite::Result<()> {
    let manifest = seen.manifest.to_string();
    merge_refs(
        tx,
        &seen.references,
        &manifest,
        &seen.scanned_at,
        seen.index.as_ref(),
        stats,
    )?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO scans (kind, subject, scanned_at, worker, source)
         VALUES ('seen', ?1, ?2, ?3, ?4)",
    )?
    .execute(params![manifest, seen.scanned_at, seen.worker, source])?;
    Ok(())
}

fn merge_unreadable(
    tx: &rusqlite::Transaction<'_>,
    u: &UnreadableRecord,
    source: &str,
    stats: &mut MergeStats,
) -> rusqlite::Result<()> {
    let reason = u.reason.as_str();
    stats.new_unreadable += tx
        .prepare_cached(
            "INSERT OR IGNORE INTO unreadable (reference, reason, message, scanned_at, worker)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            u.reference,
            reason,
            u.message,
            u.scanned_at,
            u.worker
        ])?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO scans (kind, subject, scanned_at, worker, source)
         VALUES ('unreadable', ?1, ?2, ?3, ?4)",
    )?
    .execute(params![u.reference, u.scanned_at, u.worker, source])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::record::SCHEMA_VERSION;

    fn record(manifest: &str, refs: &[&str], at: &str, numpy: &str) -> ScanRecord {
        let snapshot = serde_json::from_value(serde_json::json!({
            "snapshot": format!("id-{numpy}"),
            "definition": "",
            "definition-kind": "none",
            "definition-hash": Digest::sha256_of(b"").to_string(),
            "completeness": "complete",
            "image-layers": [Digest::sha256_of(b"base").to_string()],
            "packages": [
                {"ecosystem": "pip", "name": "numpy", "version": numpy, "prefix": "/opt/env",
                 "licenses": ["BSD-3-Clause"]},
            ],
        }))
        .unwrap();
        ScanRecord::Image(Box::new(ImageRecord {
            schema_version: SCHEMA_VERSION,
            manifest: Digest::sha256_of(manifest.as_bytes()),
            registry: "r".to_owned(),
            references: refs.iter().map(|r| (*r).to_owned()).collect(),
            index: None,
            scanned_at: at.to_owned(),
            worker: None,
            snapshot,
        }))
    }

    fn versions(inv: &Inventory) -> Vec<String> {
        let q: PackageQuery = "numpy".parse().unwrap();
        inv.find(&[q])
            .unwrap()
            .into_iter()
            .map(|m| m.version)
            .collect()
    }

    #[test]
    fn a_conda_package_answers_pypi_queries_under_its_python_distribution_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = Inventory::open(&dir.path().join("i.sqlite")).unwrap();
        let ScanRecord::Image(mut image) =
            record("m", &["r/x:1"], "2026-01-02T00:00:00Z", "1.26.4")
        else {
            unreachable!()
        };
        image.snapshot.packages.push(
            serde_json::from_value(serde_json::json!({
                "ecosystem": "conda", "name": "pytorch", "version": "2.0.1",
                "build": "py3.11_cuda11.8_0", "python-dist": "torch", "prefix": "/opt/env",
            }))
            .unwrap(),
        );
        inv.merge(&[ScanRecord::Image(image)], "f").unwrap();
        let find = |q: &str| -> Vec<(String, String, String)> {
            inv.find(&[q.parse::<PackageQuery>().unwrap()])
                .unwrap()
                .into_iter()
                .map(|m| (m.ecosystem, m.name, m.version))
                .collect()
        };
        let torch = vec![("conda".to_owned(), "pytorch".to_owned(), "2.0.1".to_owned())];
        // A PyPI advisory's name and purl find the conda package, once each.
        assert_eq!(find("pypi:torch<2.1"), torch);
        assert_eq!(find("pkg:pypi/torch@2.0.1"), torch);
        assert_eq!(find("torch<2.1"), torch);
        assert_eq!(find("pytorch"), torch);
        // Out of range, or asked of conda under the PyPI name: nothing.
        assert!(find("pypi:torch>=2.1").is_empty());
        assert!(find("conda:torch").is_empty());
    }

    #[test]
    fn a_newer_snapshot_of_a_manifest_replaces_its_content_and_an_older_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = Inventory::open(&dir.path().join("i.sqlite")).unwrap();
        let s = inv
            .merge(
                &[record("m", &["r/x:1"], "2026-01-02T00:00:00Z", "1.0")],
                "f",
            )
            .unwrap();
        assert_eq!((s.new_images, s.replaced_images), (1, 0));
        // An older scan (another envaudit's reading) does not replace it.
        let s = inv
            .merge(
                &[record("m", &["r/x:1"], "2026-01-01T00:00:00Z", "0.9")],
                "f",
            )
            .unwrap();
        assert_eq!(
            (s.new_images, s.replaced_images, s.moved_references),
            (0, 0, 0)
        );
        assert_eq!(versions(&inv), ["1.0"]);
        // A newer one does, once; its licences and layers are not doubled.
        let newer = record("m", &["r/x:1"], "2026-01-03T00:00:00Z", "1.1");
        assert_eq!(
            inv.merge(std::slice::from_ref(&newer), "f")
                .unwrap()
                .replaced_images,
            1
        );
        assert!(inv.merge(&[newer], "f").unwrap().is_unchanged());
        assert_eq!(versions(&inv), ["1.1"]);
        let c = inv.counts().unwrap();
        assert_eq!((c["packages"], c["licenses"], c["layers"]), (1, 1, 1));
        // ecosystem pip, prefix /opt/env, license BSD-3-Clause: one row each.
        assert_eq!(c["package_counts"], 3);
        assert_eq!(c["refs"], 3);
        assert!(inv.moves().unwrap().is_empty(), "same manifest: no move");
        assert_eq!(
            {
                let mut m: Vec<_> = inv.done().unwrap().manifests.into_iter().collect();
                m.sort();
                m
            },
            [Digest::sha256_of(b"m")]
        );
        // first/last scanned span every scan.
        let (first, last): (String, String) = inv
            .connection()
            .query_row("SELECT first_scanned, last_scanned FROM images", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (first.as_str(), last.as_str()),
            ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")
        );
    }

    #[test]
    fn a_newer_or_foreign_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.sqlite");
        drop(Inventory::open(&p).unwrap());
        Connection::open(&p)
            .unwrap()
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        let e = Inventory::open(&p).unwrap_err();
        assert!(
            matches!(e, FleetDbError::NewerSchema { found: 99, .. }),
            "{e}"
        );
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = Inventory::open(&other).unwrap_err();
        assert!(matches!(e, FleetDbError::NotInventory { .. }), "{e}");
        let e = Inventory::open_existing(&dir.path().join("none")).unwrap_err();
        assert!(matches!(e, FleetDbError::Missing { .. }), "{e}");
    }
}
