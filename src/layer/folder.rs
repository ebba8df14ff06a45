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

/// Reads the folder `root` into a view whose paths are relative to it (`/lib/...`).
/// Never fails: an unreadable folder gives an empty, partial view with a finding.
pub fn load(root: &Path, limits: &Limits) -> FsView {
    let mut walker = Walker {
        limits,
        nodes: BTreeMap::new(),
        findings: Findings::default(),
        entries: 0,
        bytes: 0,
        stop: false,
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
