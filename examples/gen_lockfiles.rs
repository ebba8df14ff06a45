//! Synthetic but well-formed lockfiles for the lockfile benchmarks (`scripts/bench-lockfile`),
//! written with the library's own types so that they are exactly what `envaudit lock` writes
//! (sorted, one package per line, sealed snapshot ids).
//!
//! `gen_lockfiles diff OUTDIR [ENVS] [PACKAGES]`: `OUTDIR/a.lock` and `OUTDIR/b.lock`,
//! ENVS environments (default 5) of PACKAGES packages (default 500) each; about 10% of the
//! packages differ between the two (upgrades, a few downgrades, rebuilds, additions and
//! removals), every environment's image changed, and two definitions changed (the others
//! drifted silently).
//!
//! `gen_lockfiles history REPO [COMMITS] [PACKAGES]`: a git repository (git2, no `git`
//! executable) of COMMITS commits (default 1,000) on `main`, each recording a run of one
//! environment of PACKAGES packages (default 350). Four commits in five also record a new
//! snapshot (1 to 3 package versions changed, a new image): the lockfile, its run file and
//! the new `snapshots/ID.toml`; the fifth only adds a run file, so the lockfile's blob stays
//! the same. HEAD is checked out.
//!
//! Deterministic: a fixed seed, fixed commit times.

// a command-line example: printing is its job
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use envaudit::catalog::{Completeness, EnvironmentKind};
use envaudit::definition::DefinitionKind;
use envaudit::lockfile::{
    Declared, FileRecord, LockedPackage, LockedRequirement, Lockfile, Prefix, RunRecord, Snapshot,
    StoredSnapshot,
};
use envaudit::model::pin::PinState;
use envaudit::model::{Digest, Ecosystem, PackageName};

/// splitmix64: enough randomness for test data, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("less than n")
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            write!(s, "{:016x}", self.next()).unwrap();
        }
        s.truncate(len);
        s
    }
}

const STEMS: &[&str] = &[
    "numpy",
    "scipy",
    "pandas",
    "torch",
    "arrow",
    "protobuf",
    "grpc",
    "yaml",
    "json",
    "http",
    "crypto",
    "ssl",
    "xml",
    "zlib",
    "lz4",
    "zstd",
    "blas",
    "lapack",
    "openmp",
    "cuda",
    "nccl",
    "mlflow",
    "azure",
    "azureml",
    "msal",
    "oauth",
    "jwt",
    "click",
    "rich",
    "tqdm",
    "requests",
    "urllib",
    "certifi",
    "idna",
    "charset",
    "six",
    "attrs",
    "typing",
    "pydantic",
    "fastapi",
    "uvicorn",
    "jinja",
    "markup",
    "pillow",
    "opencv",
    "sklearn",
    "joblib",
    "threadpool",
    "packaging",
    "setuptools",
    "wheel",
    "pip",
    "tokenizers",
    "safetensors",
    "datasets",
    "fsspec",
    "aiohttp",
    "frozenlist",
    "multidict",
    "yarl",
    "async",
    "filelock",
    "sympy",
    "networkx",
    "matplotlib",
    "kiwi",
    "cycler",
    "fonttools",
    "pyparsing",
    "dateutil",
    "tz",
    "pytz",
    "sqlite",
    "readline",
    "ncurses",
    "tk",
    "ffi",
    "gcc",
    "stdcxx",
    "gfortran",
    "gomp",
    "bzip2",
    "xz",
    "expat",
    "uuid",
    "nsl",
    "krb5",
    "curl",
    "ssh2",
    "nghttp2",
    "icu",
    "libxml",
    "systemd",
    "udev",
    "pam",
    "apt",
    "dpkg",
    "perl",
    "python3",
    "coreutils",
    "tar",
    "gzip",
];
const SUFFIXES: &[&str] = &[
    "", "-core", "-utils", "-common", "-extras", "-base", "-dev", "-bin", "-plugins", "-api",
    "-client", "-runtime", "-tools", "-data", "-io", "-cli",
];
const LICENSES: &[&str] = &[
    "MIT",
    "BSD-3-Clause",
    "Apache-2.0",
    "GPL-2.0-or-later",
    "LGPL-2.1-only",
    "PSF-2.0",
    "MPL-2.0",
    "ISC",
];

/// A unique package name for index `i` of an environment.
fn name_of(i: usize) -> String {
    let stem = STEMS[i % STEMS.len()];
    let suffix = SUFFIXES[(i / STEMS.len()) % SUFFIXES.len()];
    let round = i / (STEMS.len() * SUFFIXES.len());
    if round == 0 {
        format!("{stem}{suffix}")
    } else {
        format!("{stem}{suffix}{round}")
    }
}

fn version(rng: &mut Rng, ecosystem: Ecosystem) -> String {
    let (a, b, c) = (rng.below(30), rng.below(40), rng.below(20));
    match ecosystem {
        Ecosystem::Deb => {
            let mut v = format!("{a}.{b}.{c}-{}", 1 + rng.below(9));
            if rng.chance(30) {
                write!(v, "+deb12u{}", 1 + rng.below(5)).unwrap();
            }
            if rng.chance(10) {
                v = format!("1:{v}");
            }
            v
        }
        _ => format!("{a}.{b}.{c}"),
    }
}

/// The next version up (`patch`, sometimes `minor`), in the ecosystem's spelling.
fn bump(rng: &mut Rng, v: &str, ecosystem: Ecosystem) -> String {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) => (format!("{e}:"), r),
        None => (String::new(), v),
    };
    let (upstream, revision) = match (ecosystem, rest.split_once('-')) {
        (Ecosystem::Deb, Some((u, r))) => (u, format!("-{r}")),
        _ => (rest, String::new()),
    };
    let mut parts: Vec<u64> = upstream
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let at = if rng.chance(25) { 1 } else { 2 };
    parts[at] += 1;
    for p in parts.iter_mut().skip(at + 1) {
        *p = 0;
    }
    let up: Vec<String> = parts.iter().map(u64::to_string).collect();
    format!("{epoch}{}{revision}", up.join("."))
}

/// The previous version (a downgrade): the last upstream part that is not zero, minus one.
fn lower(v: &str) -> String {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) => (format!("{e}:"), r),
        None => (String::new(), v),
    };
    let (upstream, revision) = match rest.split_once('-') {
        Some((u, r)) => (u, format!("-{r}")),
        None => (rest, String::new()),
    };
    let mut parts: Vec<u64> = upstream
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    if let Some(p) = parts.iter_mut().rev().find(|p| **p > 0) {
        *p -= 1;
    } else {
        return v.to_owned();
    }
    let down: Vec<String> = parts.iter().map(u64::to_string).collect();
    format!("{epoch}{}{revision}", down.join("."))
}

fn conda_build(rng: &mut Rng) -> String {
    format!("py310h{}_{}", rng.hex(7), rng.below(5))
}

const CONDA_PREFIX: &str = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01";

fn requirement(rng: &mut Rng, ecosystem: Ecosystem, name: &str) -> String {
    let (a, b) = (rng.below(10), rng.below(30));
    match ecosystem {
        Ecosystem::Conda => match rng.below(3) {
            0 => format!("{name} >={a}.{b}"),
            1 => format!("{name} >={a}.{b},<{}.0a0", a + 1),
            _ => name.to_owned(),
        },
        Ecosystem::Pip => match rng.below(4) {
            0 => format!("{name}>={a}.{b}"),
            1 => format!("{name}<{},>={a}.{b}", a + 1),
            2 => format!("{name}>={a}.{b}; python_version >= \"3.8\""),
            _ => name.to_owned(),
        },
        _ => match rng.below(3) {
            0 => format!("{name} (>= {a}.{b})"),
            1 => format!("{name} (>= {a}.{b}), {name} (<< {}.0)", a + 1),
            _ => name.to_owned(),
        },
    }
}

/// `count` packages: a tenth Debian (system prefix), the rest conda and pip in one conda
/// prefix, 3 to 10 requirements each on other packages of the same ecosystem.
fn packages(rng: &mut Rng, count: usize) -> Vec<LockedPackage> {
    let deb = count / 4;
    let conda = (count - deb) * 2 / 5;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let ecosystem = if i < deb {
            Ecosystem::Deb
        } else if i < deb + conda {
            Ecosystem::Conda
        } else {
            Ecosystem::Pip
        };
        let name = name_of(i);
        let same: std::ops::Range<usize> = match ecosystem {
            Ecosystem::Deb => 0..deb,
            Ecosystem::Conda => deb..deb + conda,
            _ => deb + conda..count,
        };
        let requires = (0..3 + rng.below(8))
            .map(|_| {
                let other = same.start + rng.below(same.len());
                let text = requirement(rng, ecosystem, &name_of(other));
                LockedRequirement::new(text)
            })
            .collect();
        out.push(LockedPackage {
            ecosystem,
            name: PackageName::new(ecosystem, &name),
            version: version(rng, ecosystem),
            build: (ecosystem == Ecosystem::Conda).then(|| conda_build(rng)),
            channel: (ecosystem == Ecosystem::Conda).then(|| "conda-forge".to_owned()),
            // Two conda packages in five are Python distributions.
            python_dist: (ecosystem == Ecosystem::Conda && i % 5 < 2)
                .then(|| PackageName::pip(&name)),
            prefix: Some(match ecosystem {
                Ecosystem::Deb => "/".to_owned(),
                _ => CONDA_PREFIX.to_owned(),
            }),
            licenses: vec![rng.pick(LICENSES).to_string()],
            base: Some(ecosystem == Ecosystem::Deb),
            requires,
            url: None,
            sha256: None,
            md5: None,
            record: None,
        });
    }
    out
}

fn digest(rng: &mut Rng) -> Digest {
    Digest::sha256_of(rng.hex(32).as_bytes())
}

fn snapshot(rng: &mut Rng, name: &str, count: usize) -> Snapshot {
    let packages = packages(rng, count);
    let declared = packages
        .iter()
        .filter(|p| p.ecosystem != Ecosystem::Deb)
        .step_by(count / 15 + 1)
        .map(|p| {
            let (spec, pin) = match rng.below(3) {
                0 => (
                    format!("{}=={}", p.name.as_str(), p.version),
                    PinState::Exact,
                ),
                1 => (format!("{}>=1.0", p.name.as_str()), PinState::Range),
                _ => (p.name.as_str().to_owned(), PinState::Unpinned),
            };
            Declared {
                ecosystem: p.ecosystem,
                name: Some(p.name.clone()),
                spec,
                pin,
            }
        })
        .collect();
    let mut s = Snapshot {
        id: String::new(),
        definition: format!("envs/{name}/environment.yml"),
        definition_kind: Some(DefinitionKind::AzuremlV2),
        definition_hash: digest(rng),
        definition_files: vec![
            FileRecord {
                path: format!("envs/{name}/conda.yml"),
                blob: rng.hex(40),
            },
            FileRecord {
                path: format!("envs/{name}/environment.yml"),
                blob: rng.hex(40),
            },
        ],
        azureml_v2_anonymous_version: Some(rng.hex(64)),
        azureml_v1_image: None,
        image: Some(format!(
            "myacr.azurecr.io/azureml/azureml_{}:latest",
            rng.hex(32)
        )),
        image_index: None,
        image_manifest: Some(digest(rng)),
        image_config: Some(digest(rng)),
        image_platform: Some("linux/amd64".to_owned()),
        image_layers: (0..8).map(|_| digest(rng)).collect(),
        base_image: Some(
            "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1".to_owned(),
        ),
        base_image_digest: Some(digest(rng)),
        base_layers: Some(5),
        rootfs: None,
        os: None,
        completeness: Completeness::Complete,
        declared,
        prefixes: vec![
            Prefix {
                path: "/".to_owned(),
                kind: EnvironmentKind::System,
                python: None,
                platform: Some("linux/amd64".to_owned()),
            },
            Prefix {
                path: CONDA_PREFIX.to_owned(),
                kind: EnvironmentKind::Conda,
                python: Some("3.10.14".to_owned()),
                platform: Some("linux-64".to_owned()),
            },
        ],
        packages,
    };
    s.seal();
    s
}

/// A new image of the same environment: `changes` packages changed (mostly upgrades), new
/// image digests, the top layers rebuilt. Sealed.
fn regenerate(rng: &mut Rng, old: &Snapshot, changes: usize) -> Snapshot {
    let mut s = old.clone();
    for _ in 0..changes {
        let i = rng.below(s.packages.len());
        let roll = rng.below(100);
        let p = &mut s.packages[i];
        if roll < 70 {
            p.version = bump(rng, &p.version, p.ecosystem);
            if p.build.is_some() {
                p.build = Some(conda_build(rng));
            }
        } else if roll < 80 && p.build.is_some() {
            p.build = Some(conda_build(rng));
        } else if roll < 85 {
            p.version = lower(&p.version);
            if p.build.is_some() {
                p.build = Some(conda_build(rng));
            }
        } else if roll < 92 {
            s.packages.remove(i);
        } else {
            let mut added = s.packages[i].clone();
            added.name = PackageName::new(added.ecosystem, &format!("new-{}", rng.hex(6)));
            s.packages.push(added);
        }
    }
    s.image_manifest = Some(digest(rng));
    s.image_config = Some(digest(rng));
    let keep = s.image_layers.len() - 2;
    s.image_layers.truncate(keep);
    s.image_layers.push(digest(rng));
    s.image_layers.push(digest(rng));
    s.seal();
    s
}

fn gen_diff(out: &Path, envs: usize, count: usize) -> anyhow::Result<()> {
    let mut rng = Rng(6);
    let mut a = Lockfile::default();
    let mut b = Lockfile::default();
    for e in 0..envs {
        let name = format!("{}-{e}", ["train", "score", "eval", "prep", "serve"][e % 5]);
        let old = snapshot(&mut rng, &name, count);
        let mut new = regenerate(&mut rng, &old, count / 10);
        if e % 3 == 0 {
            // An intended change: the definition changed too.
            new.definition_hash = digest(&mut rng);
            new.seal();
        }
        a.environments.insert(name.clone(), old);
        b.environments.insert(name, new);
    }
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("a.lock"), a.to_toml())?;
    std::fs::write(out.join("b.lock"), b.to_toml())?;
    Ok(())
}

/// The tree of `base` with `path` (`a/b/c`) set to `blob`.
fn with_file(
    repo: &git2::Repository,
    base: Option<&git2::Tree<'_>>,
    path: &str,
    blob: git2::Oid,
) -> anyhow::Result<git2::Oid> {
    let mut builder = repo.treebuilder(base)?;
    match path.split_once('/') {
        None => {
            builder.insert(path, blob, 0o100_644)?;
        }
        Some((dir, rest)) => {
            let sub = match base.and_then(|t| t.get_name(dir)) {
                Some(e) => Some(repo.find_tree(e.id())?),
                None => None,
            };
            let id = with_file(repo, sub.as_ref(), rest, blob)?;
            builder.insert(dir, id, 0o040_000)?;
        }
    }
    Ok(builder.write()?)
}

fn gen_history(dir: &Path, commits: usize, count: usize) -> anyhow::Result<()> {
    let mut rng = Rng(66);
    let repo = git2::Repository::init(dir)?;
    repo.set_head("refs/heads/main")?;
    let env = "sklearn-train";
    let mut current = snapshot(&mut rng, env, count);
    let start: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z
    let mut parent: Option<git2::Oid> = None;
    let mut tree: Option<git2::Oid> = None;
    let mut snapshots_recorded = 0;
    for n in 0..commits {
        let time = start + 3600 * i64::try_from(n).expect("commit count fits i64");
        let new_snapshot = n == 0 || !rng.chance(20);
        if new_snapshot && n > 0 {
            let changes = 1 + rng.below(3);
            current = regenerate(&mut rng, &current, changes);
        }
        let run = format!("run-{n:05}");
        let record = RunRecord {
            run: run.clone(),
            environment: env.to_owned(),
            snapshot: current.id.clone(),
            time: envaudit::lockfile::store::rfc3339(time),
            commit: parent.map(|p| p.to_string()),
            model: Some(format!("churn-classifier:{}", n + 1)),
            definition_mismatch: None,
        };
        let mut files: Vec<(String, String)> =
            vec![(format!("envaudit.lock.d/runs/{run}.toml"), record.to_toml())];
        if new_snapshot {
            snapshots_recorded += 1;
            let mut lockfile = Lockfile::default();
            lockfile
                .environments
                .insert(env.to_owned(), current.clone());
            files.push(("envaudit.lock".to_owned(), lockfile.to_toml()));
            let stored = StoredSnapshot {
                environment: env.to_owned(),
                snapshot: current.clone(),
            };
            files.push((
                format!("envaudit.lock.d/snapshots/{}.toml", current.id),
                stored.to_toml(),
            ));
        }
        if n == 0 {
            files.push((
                "environment.yml".to_owned(),
                "name: sklearn-train\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1\nconda_file: conda.yml\n".to_owned(),
            ));
        }
        for (path, text) in &files {
            let blob = repo.blob(text.as_bytes())?;
            let base = tree.map(|t| repo.find_tree(t)).transpose()?;
            tree = Some(with_file(&repo, base.as_ref(), path, blob)?);
        }
        let sig = git2::Signature::new(
            "Bench Runner",
            "bench@example.com",
            &git2::Time::new(time, 0),
        )?;
        let t = repo.find_tree(tree.expect("a tree"))?;
        let parents: Vec<git2::Commit<'_>> = parent
            .map(|p| repo.find_commit(p))
            .transpose()?
            .into_iter()
            .collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let subject = if new_snapshot {
            format!(
                "envaudit lock envs/train (run {run}): snapshot {}",
                current.id
            )
        } else {
            format!("envaudit lock envs/train (run {run})")
        };
        parent = Some(repo.commit(Some("HEAD"), &sig, &sig, &subject, &t, &parent_refs)?);
    }
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))?;
    eprintln!(
        "{commits} commits, {snapshots_recorded} of them with a new snapshot of {count} packages"
    );
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen_lockfiles diff OUTDIR [ENVS] [PACKAGES]\n       gen_lockfiles history REPO [COMMITS] [PACKAGES]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| -> Option<usize> {
        args.get(i).map_or(Some(default), |a| a.parse().ok())
    };
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("diff"), Some(out)) => match (num(2, 5), num(3, 500)) {
            (Some(e), Some(p)) => gen_diff(&PathBuf::from(out), e, p),
            _ => return usage(),
        },
        (Some("history"), Some(dir)) => match (num(2, 1000), num(3, 350)) {
            (Some(c), Some(p)) => gen_history(&PathBuf::from(dir), c, p),
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
