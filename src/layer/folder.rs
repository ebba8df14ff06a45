//! A local folder (a conda prefix, a venv, a bare site-packages or an unpacked root
//! filesystem) as an [`FsView`]: only the files the catalogers want are read, symlinks are
//! recorded and resolved inside the folder, never followed out of it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::merge::{ViewFinding, ViewOrigin};
use super::{Completeness, Findings, FsFinding, FsView, Interest, Limits, Node, NodeKind};

/// What a folder walk leaves out, beyond what its [`Limits`] stop.
///
/// A walk never leaves the filesystem its root is on: a folder on another one (a mount
/// point) is noted as [`FsFinding::OtherFilesystem`] and not read, as `find -xdev` does. An
/// Azure ML job mounts its datasets and outputs into the container; they hold no packages
/// and can be large or remote.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Host folders not to read, each with the reason given in its
    /// [`FsFinding::Excluded`]; those outside the root are ignored.
    pub exclude: Vec<(std::path::PathBuf, String)>,
}

/// Reads the folder `root` into a view whose paths are relative to it (`/lib/...`).
/// Never fails: an unreadable folder gives an empty, partial view with a finding.
pub fn load(root: &Path, limits: &Limits) -> FsView {
    load_with(root, limits, &WalkOptions::default())
}

/// [`load`], leaving out what `options` names.
pub fn load_with(root: &Path, limits: &Limits, options: &WalkOptions) -> FsView {
    let canonical = fs::canonicalize(root).ok();
    let exclude = options
        .exclude
        .iter()
        .filter_map(|(host, reason)| {
            let host = fs::canonicalize(host).ok()?;
            let rel = host.strip_prefix(canonical.as_ref()?).ok()?;
            let rel = rel.to_str()?;
            // The root itself is never left out: there would be nothing to read.
            (!rel.is_empty()).then(|| (format!("/{rel}"), reason.clone()))
        })
        .collect();
    let mut walker = Walker {
        limits,
        nodes: BTreeMap::new(),
        findings: Findings::default(),
        entries: 0,
        bytes: 0,
        stop: false,
        root_device: device(root),
        exclude,
    };
    walker.dir(root, "", 0);
    let (findings, partial) = walker.findings.finish();
    let completeness = match partial {
        Some(reason) => Completeness::Partial(reason),
        None => Completeness::Complete,
    };
    FsView::from_parts(
        walker.nodes,
        ViewOrigin::Folder(root.to_path_buf()),
        findings
            .into_iter()
            .map(|finding| ViewFinding {
                layer: None,
                finding,
            })
            .collect(),
        completeness,
    )
}

struct Walker<'a> {
    limits: &'a Limits,
    nodes: BTreeMap<String, Node>,
    findings: Findings,
    entries: u64,
    bytes: u64,
    stop: bool,
    /// The device the root is on; folders on another are not walked.
    root_device: Option<u64>,
    /// View paths (`/opt/tool`) not to walk, with why.
    exclude: Vec<(String, String)>,
}

/// The device a folder is on (`None` where the platform has no such notion).
#[cfg(unix)]
fn device(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(path).ok().map(|m| m.dev())
}

#[cfg(not(unix))]
fn device(_path: &Path) -> Option<u64> {
    None
}

impl Walker<'_> {
    fn note(&mut self, f: FsFinding) {
        self.findings.push(f, self.limits.max_findings);
    }

    fn stopped(&self) -> bool {
        self.stop
    }

    fn dir(&mut self, dir: &Path, view: &str, depth: usize) {
        if depth >= self.limits.max_path_depth {
            return;
        }
        let read = match fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) => {
                self.note(FsFinding::Unreadable {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                });
                return;
            }
        };
        let mut children: Vec<_> = read.filter_map(Result::ok).collect();
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            if self.stopped() {
                return;
            }
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                self.note(FsFinding::TooManyEntries {
                    limit: self.limits.max_entries,
                });
                self.stop = true;
                return;
            }
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                self.note(FsFinding::NonUtf8Name {
                    lossy: name.to_string_lossy().into_owned(),
                });
                continue;
            };
            let path = format!("{view}/{name}");
            if path.len() > self.limits.max_path_len {
                self.note(FsFinding::PathTooLong {
                    len: path.len(),
                    limit: self.limits.max_path_len,
                });
                continue;
            }
            let Ok(ft) = child.file_type() else { continue };
            // A live root filesystem (`lock --rootfs /`): kernel and device folders hold
            // no packages and can be endless.
            if depth == 0 && ft.is_dir() && matches!(name, "proc" | "sys" | "dev") {
                continue;
            }
            let host = child.path();
            if ft.is_symlink() {
                match fs::read_link(&host) {
                    Ok(target) => match target.to_str() {
                        Some(t) => {
                            self.nodes.insert(
                                path,
                                Node {
                                    kind: NodeKind::Symlink {
                                        target: t.to_owned(),
                                    },
                                    layer: None,
                                },
                            );
                        }
                        None => self.note(FsFinding::NonUtf8Name {
                            lossy: target.to_string_lossy().into_owned(),
                        }),
                    },
                    Err(e) => self.note(FsFinding::Unreadable {
                        path: host.display().to_string(),
                        message: e.to_string(),
                    }),
                }
            } else if ft.is_dir() {
                // Inside site-packages only the metadata folders hold what catalogers read:
                // the packages' own trees (most of a venv's entries) are not walked.
                let in_site = view.ends_with("/site-packages") || view.ends_with("/dist-packages");
                if in_site && !(name.ends_with(".dist-info") || name.ends_with(".egg-info")) {
                    continue;
                }
                if let Some(i) = self.exclude.iter().position(|(p, _)| *p == path) {
                    let (path, reason) = self.exclude.swap_remove(i);
                    self.note(FsFinding::Excluded { path, reason });
                    continue;
                }
                if self.root_device.is_some() && device(&host) != self.root_device {
                    self.note(FsFinding::OtherFilesystem { path });
                    continue;
                }
                self.dir(&host, &path, depth + 1);
            } else if ft.is_file() {
                self.file(&host, path);
            }
        }
    }

    fn file(&mut self, host: &Path, path: String) {
        let interest = super::interest(&path);
        if interest == Interest::None {
            return;
        }
        let size = fs::symlink_metadata(host).map_or(0, |m| m.len());
        let kind = match interest {
            Interest::None => return,
            Interest::Presence => NodeKind::File {
                size,
                content: None,
                truncated: false,
            },
            Interest::Content { cap, headers_only } => {
                let mut buf = Vec::new();
                let read = fs::File::open(host).and_then(|f| f.take(cap).read_to_end(&mut buf));
                if let Err(e) = read {
                    self.note(FsFinding::Unreadable {
                        path: host.display().to_string(),
                        message: e.to_string(),
                    });
                    return;
                }
                self.bytes += buf.len() as u64;
                if self.bytes > self.limits.max_kept_bytes {
                    self.note(FsFinding::KeptLimit {
                        limit: self.limits.max_kept_bytes,
                    });
                    self.stop = true;
                    return;
                }
                let complete_headers = headers_only && super::keep_headers(&mut buf);
                super::reduce(&path, &mut buf);
                let truncated = size > cap && !complete_headers;
                super::drop_partial_digest(&path, truncated, &mut buf);
                if truncated {
                    self.note(FsFinding::FileTruncated {
                        path: path.clone(),
                        size,
                        kept: cap,
                    });
                }
                NodeKind::File {
                    size,
                    content: Some(Arc::from(buf)),
                    truncated,
                }
            }
        };
        self.nodes.insert(path, Node { kind, layer: None });
    }
}
