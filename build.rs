//! Names the commit in `envaudit --version`: `envaudit 0.1.0 (1a2b3c4d5e6f 2026-12-05)`,
//! the commit's hash (12 digits) and committer date, as uv and ruff do.
//!
//! The commit is asked of git, and only when the package root is itself a git checkout (a
//! `.git` folder, or a worktree's `.git` file): a build from a source archive or an sdist has
//! no `.git` and gets the version alone, even when it is unpacked inside some other
//! repository. So does a build without git installed, or in a repository git refuses to read.
//!
//! Sets, for `src/cli/`:
//! - `ENVAUDIT_VERSION`: `0.1.0 (1a2b3c4d5e6f 2026-12-05)`, or `0.1.0`;
//! - `ENVAUDIT_COMMIT_DATE`: `2026-12-05`, or empty.
//!
//! It runs again when `HEAD` or the branch it points at moves (`.git/HEAD`, the branch's ref
//! file, `packed-refs`), and only then: a commit on another branch does not rebuild this one.

// Cargo reads a build script's instructions from its standard output.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    // Without a rerun-if-changed line cargo would rerun this on every change of any file.
    println!("cargo:rerun-if-changed=build.rs");
    let commit = if root.join(".git").exists() {
        watch_head(&root);
        git(
            &root,
            &["log", "-1", "--no-show-signature", "--format=%H %cs"],
        )
    } else {
        None
    };
    let (long, date) = match commit.as_deref().and_then(|c| c.split_once(' ')) {
        Some((hash, date)) if hash.len() >= 12 && !date.is_empty() => (
            format!("{version} ({} {date})", &hash[..12]),
            date.to_owned(),
        ),
        _ => (version, String::new()),
    };
    println!("cargo:rustc-env=ENVAUDIT_VERSION={long}");
    println!("cargo:rustc-env=ENVAUDIT_COMMIT_DATE={date}");
}

/// Reruns this script when `HEAD` moves: the worktree's `HEAD` file, and when it names a
/// branch, that branch's ref file (or `packed-refs` while the ref is packed).
fn watch_head(root: &Path) {
    let watch = |git_path: &str| {
        if let Some(p) = git(root, &["rev-parse", "--git-path", git_path]) {
            let p = root.join(p);
            // A path that does not exist would make cargo rerun this on every build.
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    };
    watch("HEAD");
    watch("packed-refs");
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&branch);
    }
}

/// The trimmed standard output of a git command run in `root`, if it succeeded.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        // A build run from a git hook must read this checkout, not the hook's repository.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
