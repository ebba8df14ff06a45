//! Test helpers: a temp folder to write definitions into, the envaudit binary, fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// A temporary folder for one test.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write a file (creating folders) and return its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }

    /// The envaudit binary, run in this folder, without colour.
    pub fn envaudit(&self) -> Command {
        let mut c = Command::cargo_bin("envaudit").expect("binary");
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("ENVAUDIT_CACHE_DIR", self.dir.path().join(".cache"));
        c
    }
}

/// The standard output of a command that must have succeeded (its output shown if not).
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The package root (integration tests run with it as the current folder).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under `fixtures/`, relative to the package root (stable in snapshots).
pub fn fixture(rel: &str) -> PathBuf {
    Path::new("fixtures").join(rel)
}

/// One row of `fixtures/corpus/INDEX.tsv`.
#[derive(Clone, Debug)]
pub struct CorpusEntry {
    pub local_path: PathBuf,
    pub kind: String,
    pub notes: String,
}

pub fn corpus() -> Vec<CorpusEntry> {
    let text =
        std::fs::read_to_string(root().join("fixtures/corpus/INDEX.tsv")).expect("INDEX.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            CorpusEntry {
                local_path: Path::new("fixtures/corpus").join(cols[0]),
                kind: cols[4].to_owned(),
                notes: cols.get(5).copied().unwrap_or("").to_owned(),
            }
        })
        .collect()
}

/// UTF-16 LE with a byte-order mark.
pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// UTF-8 with a byte-order mark.
pub fn utf8_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend_from_slice(text.as_bytes());
    out
}

/// Copy a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

pub mod builder;

/// Makes `dir` a git repository whose commits are signed `Test <test@example.com>`.
pub fn init_repo(dir: &Path) -> git2::Repository {
    let repo = git2::Repository::init(dir).unwrap();
    let mut cfg = repo.config().unwrap();
    cfg.set_str("user.name", "Test").unwrap();
    cfg.set_str("user.email", "test@example.com").unwrap();
    repo
}

/// Stage everything in the git repository at `dir` and commit it on `HEAD`.
pub fn commit_all(dir: &Path, message: &str) -> git2::Oid {
    let repo = git2::Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = repo.signature().unwrap();
    let parents: Vec<git2::Commit<'_>> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
}

pub mod fault;
pub mod http;
pub mod image;
pub mod oci_server;
pub mod pyindex;
pub mod registry;

/// The python of the venv holding the reference implementations the signed-evidence tests
/// check against (in-toto, securesystemslib, cryptography, in-toto-attestation, jsonschema,
/// oras; pinned in `scripts/oracles/evidence.txt`). `scripts/test` makes it and sets
/// `ENVAUDIT_EVIDENCE_PYTHON`; a bare `cargo test` makes it here. There is no fallback: a
/// test that needs it fails without it.
pub fn evidence_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| oracle_python("evidence", "ENVAUDIT_EVIDENCE_PYTHON"))
        .clone()
}

/// The python of the venv holding azure-ai-ml, the Azure ML v2 client (pinned in
/// `scripts/oracles/azureml.txt`), made as [`evidence_python`]'s is; `scripts/test` sets
/// `ENVAUDIT_AZUREML_PYTHON`.
pub fn azureml_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| oracle_python("azureml", "ENVAUDIT_AZUREML_PYTHON"))
        .clone()
}

/// `$VAR`, else the venv `scripts/oracles/setup NAME` makes.
fn oracle_python(name: &str, var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let out = Command::new(root().join("scripts/oracles/setup"))
        .arg(name)
        .output()
        .expect("scripts/oracles/setup runs");
    assert!(
        out.status.success(),
        "the reference-implementation venv could not be made (scripts/oracles/setup {name} \
         needs python3-venv and PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
