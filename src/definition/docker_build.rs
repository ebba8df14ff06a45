//! Docker-based definitions: a Dockerfile with its build context, and the files it uses.
//!
//! What a Docker build installs is read from the Dockerfile as far as it can be read
//! statically: the final base image, the build-context files `COPY`/`ADD` take (their
//! content is part of the definition hash), the requirements and conda files that
//! `pip install -r` / `conda env create -f` install (parsed like any other definition file,
//! so their dependencies are declared dependencies), and the packages named on
//! `pip install` / `conda install` command lines.

use std::path::{Path, PathBuf};

use super::{
    BaseImage, BuildContext, Channel, ContextFile, DefinitionError, DefinitionKind, Dependency,
    EnvDefinition, conda, dockerfile, push_unique, requirements,
};
use crate::conda::MatchSpec;
use crate::model::Digest;
use crate::python::Requirement;
use crate::source::SourceFile;

/// Most files a build context may contribute to the hash.
pub const MAX_CONTEXT_FILES: usize = 100_000;

/// Load a Dockerfile (or a folder holding one) as a definition.
pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    let mut def = EnvDefinition::empty(DefinitionKind::Dockerfile, path);
    let (dir, name) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        (dir, name)
    };
    apply_context(&mut def, &dir, name.as_deref())?;
    Ok(def)
}

/// Read the Dockerfile `dockerfile_path` (default `Dockerfile`) of the build context `dir`
/// into `def`: base image, steps, context files and what the steps install.
pub fn apply_context(
    def: &mut EnvDefinition,
    dir: &Path,
    dockerfile_path: Option<&str>,
) -> Result<(), DefinitionError> {
    let file = dir.join(dockerfile_path.unwrap_or("Dockerfile"));
    let source = SourceFile::read(&file)?;
    let parsed = dockerfile::parse(&source)?;
    push_unique(&mut def.files, [file.clone()]);

    if let Some((base, origin)) = parsed.final_base(&def.build_args)
        && !base.eq_ignore_ascii_case("scratch")
    {
        def.set_base_image(BaseImage::new(&base, None, origin)?);
    }

    let ignore = DockerIgnore::load(dir);
    let mut files: Vec<PathBuf> = Vec::new();
    for (pattern, _origin) in parsed.context_sources() {
        for found in expand(dir, &pattern, &ignore) {
            if !files.contains(&found) {
                files.push(found);
            }
        }
    }
    files.truncate(MAX_CONTEXT_FILES);
    let mut context_files = Vec::with_capacity(files.len());
    for f in &files {
        let rel = f
            .strip_prefix(dir)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        context_files.push(ContextFile {
            path: rel,
            sha256: sha256_file(f).map_err(|e| {
                DefinitionError::Read(crate::source::ReadError::Io {
                    path: f.clone(),
                    source: e,
                })
            })?,
        });
    }
    context_files.sort();

    let installs = parsed.installs();
    for (spec, origin) in &installs.conda_channels {
        def.channels.push(Channel {
            name: spec.clone(),
            origin: origin.clone(),
        });
    }
    for (spec, origin) in &installs.conda {
        if let Ok(m) = spec.parse::<MatchSpec>() {
            def.conda_dependencies
                .push(Dependency::conda(m, spec, origin.clone()));
        }
    }
    for (target, origin) in &installs.conda_files {
        if let Some(local) = find_in_context(dir, &files, target) {
            let file = conda::load(&local).map_err(|e| e.referenced_from(origin, &local))?;
            def.add_conda_file(file);
        }
    }
    for (target, origin) in installs
        .requirement_files
        .iter()
        .chain(&installs.constraint_files)
    {
        if let Some(local) = find_in_context(dir, &files, target) {
            let pip = requirements::load(&local).map_err(|e| e.referenced_from(origin, &local))?;
            def.add_pip_file(pip);
        }
    }
    for (spec, origin) in &installs.pip {
        if let Ok(req) = spec.parse::<Requirement>() {
            def.pip_dependencies
                .push(Dependency::pip(req, spec, origin.clone()));
        }
    }
    def.pip_options.extend(installs.pip_options);

    def.build_context = Some(BuildContext::Local {
        path: dir.to_path_buf(),
        dockerfile_path: dockerfile_path.map(str::to_owned),
        files: context_files,
    });
    def.dockerfile = Some(parsed);
    Ok(())
}

/// A file named in a `RUN` step (an in-image path) found among the context files the
/// Dockerfile copies, by its path relative to the context or else by its file name.
fn find_in_context(dir: &Path, copied: &[PathBuf], target: &str) -> Option<PathBuf> {
    if target.contains('$') {
        return None;
    }
    let direct = dir.join(target.trim_start_matches("./"));
    if direct.is_file() && copied.contains(&direct) {
        return Some(direct);
    }
    let name = Path::new(target).file_name()?;
    copied.iter().find(|f| f.file_name() == Some(name)).cloned()
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    Digest::sha256_of_reader(std::fs::File::open(path)?).map(|d| d.hex().to_owned())
}

/// `.dockerignore` patterns (gitwildmatch-like, `!` negates, the last match wins).
struct DockerIgnore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn load(dir: &Path) -> Self {
        let text = std::fs::read(dir.join(".dockerignore"))
            .ok()
            .and_then(|b| crate::source::decode(&b).ok())
            .unwrap_or_default();
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (neg, p) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, l),
                };
                (
                    neg,
                    components(p.trim_start_matches("./").trim_matches('/')),
                )
            })
            .collect();
        Self { patterns }
    }

    fn ignored(&self, rel: &[String]) -> bool {
        let mut ignored = false;
        for (neg, pat) in &self.patterns {
            // A pattern matching a folder ignores what is below it.
            let hit = (1..=rel.len()).any(|n| glob_path(pat, &rel[..n]));
            if hit {
                ignored = !neg;
            }
        }
        ignored
    }
}

fn components(p: &str) -> Vec<String> {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect()
}

/// The context files a `COPY` source pattern names: a file, a folder (all files below
/// it), or a glob; never anything outside the context.
fn expand(dir: &Path, pattern: &str, ignore: &DockerIgnore) -> Vec<PathBuf> {
    let pat = components(pattern.trim_start_matches('/'));
    if pat.iter().any(|c| c == "..") {
        return Vec::new();
    }
    let mut out = Vec::new();
    walk(dir, &mut Vec::new(), &mut |rel, path| {
        if ignore.ignored(rel) {
            return;
        }
        let hit = pat.is_empty() || (1..=rel.len()).any(|n| glob_path(&pat, &rel[..n]));
        if hit {
            out.push(path.to_path_buf());
        }
    });
    out.sort();
    out
}

fn walk(dir: &Path, rel: &mut Vec<String>, f: &mut dyn FnMut(&[String], &Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        rel.push(e.file_name().to_string_lossy().into_owned());
        if ft.is_dir() {
            walk(&e.path(), rel, f);
        } else if ft.is_file() {
            f(rel, &e.path());
        }
        rel.pop();
    }
}

/// Match path components against pattern components (`**` spans any number of them).
fn glob_path(pat: &[String], path: &[String]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| glob_path(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((c, crest)) => glob(p.as_bytes(), c.as_bytes()) && glob_path(rest, crest),
            None => false,
        },
    }
}

/// One path component against a pattern with `*`, `?` and `[...]`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star_p, mut star_s) = (None, 0);
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star_p = Some(pi);
                    star_s = si;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&p[pi..], s[si]) {
                        if matched {
                            pi += next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star_p {
            Some(sp) => {
                pi = sp + 1;
                star_s += 1;
                si = star_s;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `p`: whether `c` matches, and the class length.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let end = p.iter().skip(1).position(|&b| b == b']')? + 1;
    let body = &p[1..end];
    let (neg, body) = match body.first() {
        Some(b'!' | b'^') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut i = 0;
    let mut hit = false;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == b'-' {
            hit |= (body[i]..=body[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= body[i] == c;
            i += 1;
        }
    }
    Some((hit != neg, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_and_classes() {
        assert!(glob(b"*.txt", b"requirements.txt"));
        assert!(!glob(b"*.txt", b"requirements.yml"));
        assert!(glob(b"req?.txt", b"reqs.txt"));
        assert!(glob(b"[a-c]x", b"bx"));
        assert!(!glob(b"[!a-c]x", b"bx"));
        let p = components("**/*.py");
        assert!(glob_path(&p, &components("a/b/c.py")));
        assert!(glob_path(&p, &components("c.py")));
    }
}
