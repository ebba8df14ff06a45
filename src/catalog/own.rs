//! envaudit's own installation, which a live-filesystem catalog (`lock --rootfs /`) leaves
//! out: the auditing tool is not part of the environment it audits.
//!
//! The wheel `envaudit-cli` puts the binary at `PREFIX/bin/envaudit` and its record at
//! `PREFIX/lib/pythonX.Y/site-packages/envaudit_cli-VERSION.dist-info`:
//! - in a tool venv of its own (`uv tool install`, `pipx install`, a venv made for it), the
//!   whole venv is envaudit's and is left out;
//! - installed beside other packages (`pip install envaudit-cli` into the job's conda env or
//!   venv), only its `.dist-info` is: the rest of the prefix is the environment.
//!
//! A binary that is not in such a prefix (`cargo install`, a release archive) leaves nothing
//! out.

use std::path::{Path, PathBuf};

/// The distribution name of the wheel, as its `.dist-info` folder spells it.
const DIST_INFO_STEM: &str = "envaudit_cli-";

/// Distributions a venv made only for envaudit may hold beside it.
const TOOL_VENV_EXTRAS: &[&str] = &["pip-", "setuptools-", "wheel-", "_virtualenv"];

/// The host folders that are envaudit's own installation when the running binary is `exe`,
/// each with the reason to give when it is left out. Empty when `exe` was not installed
/// from the wheel.
pub fn own_installation(exe: &Path) -> Vec<(PathBuf, String)> {
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let Some(prefix) = exe
        .parent()
        .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
        .and_then(Path::parent)
    else {
        return Vec::new();
    };
    let mut ours = Vec::new();
    let mut others = 0usize;
    for site in site_packages(prefix) {
        let Ok(entries) = std::fs::read_dir(&site) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.ends_with(".dist-info") || name.ends_with(".egg-info")) {
                continue;
            }
            if name.starts_with(DIST_INFO_STEM) {
                ours.push(e.path());
            } else if !TOOL_VENV_EXTRAS.iter().any(|x| name.starts_with(x)) {
                others += 1;
            }
        }
    }
    if ours.is_empty() {
        return Vec::new();
    }
    if others == 0 && prefix.join("pyvenv.cfg").is_file() {
        return vec![(
            prefix.to_path_buf(),
            "envaudit's own tool venv (the running envaudit is installed there)".to_owned(),
        )];
    }
    ours.sort();
    ours.into_iter()
        .map(|p| {
            (
                p,
                "envaudit's own installation record (the running envaudit is installed there)"
                    .to_owned(),
            )
        })
        .collect()
}

/// `PREFIX/lib/python*/site-packages` (and `lib64`), sorted.
fn site_packages(prefix: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(prefix.join(lib)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("python"))
            {
                let site = e.path().join("site-packages");
                if site.is_dir() {
                    out.push(site);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(root: &Path, venv: bool, dists: &[&str]) -> PathBuf {
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/envaudit"), b"").unwrap();
        let site = root.join("lib/python3.10/site-packages");
        for d in dists {
            std::fs::create_dir_all(site.join(d)).unwrap();
        }
        if venv {
            std::fs::write(root.join("pyvenv.cfg"), b"home = /usr/bin\n").unwrap();
        }
        root.join("bin/envaudit")
    }

    #[test]
    fn a_tool_venv_is_left_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let exe = prefix(
            dir.path(),
            true,
            &["envaudit_cli-0.1.0.dist-info", "pip-24.0.dist-info"],
        );
        let out = own_installation(&exe);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, std::fs::canonicalize(dir.path()).unwrap());
        assert!(out[0].1.contains("tool venv"));
    }

    #[test]
    fn beside_other_packages_only_the_record_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let exe = prefix(
            dir.path(),
            true,
            &["envaudit_cli-0.1.0.dist-info", "numpy-1.26.4.dist-info"],
        );
        let out = own_installation(&exe);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].0.ends_with("envaudit_cli-0.1.0.dist-info"),
            "{out:?}"
        );
        // A conda prefix (no pyvenv.cfg) with nothing else: still only the record, a conda
        // environment is never envaudit's own.
        let dir = tempfile::tempdir().unwrap();
        let exe = prefix(dir.path(), false, &["envaudit_cli-0.1.0.dist-info"]);
        let out = own_installation(&exe);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].0.ends_with("envaudit_cli-0.1.0.dist-info"),
            "{out:?}"
        );
    }

    #[test]
    fn a_binary_not_installed_from_the_wheel_leaves_nothing_out() {
        let dir = tempfile::tempdir().unwrap();
        let exe = prefix(dir.path(), true, &["numpy-1.26.4.dist-info"]);
        assert!(own_installation(&exe).is_empty());
        assert!(own_installation(Path::new("/nonexistent/target/release/envaudit")).is_empty());
    }
}
