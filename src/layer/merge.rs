//! The filesystem an image shows, merged from its layers' facts in order.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use super::{Completeness, EntryKind, FsFinding, LayerFacts};
use crate::model::Digest;

/// At most this many symlinks are followed to resolve one path.
const MAX_SYMLINK_HOPS: usize = 40;
/// Findings the merge itself keeps (dangling hardlinks, symlink loops); the rest are counted.
const MAX_MERGE_FINDINGS: usize = 1000;
/// Components still to resolve, bounded so that symlinks cannot grow a path without end.
const MAX_PENDING_COMPONENTS: usize = 4096;

/// One path of the merged view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What is at the path, with the content kept of a file.
    pub kind: NodeKind,
    /// The index of the layer that last wrote this path (`None` for a folder).
    pub layer: Option<usize>,
}

/// What a path of the merged view is. Hardlinks are gone: each became a copy of its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file (or a hardlink to one).
    File {
        /// The file's size in bytes.
        size: u64,
        /// The kept bytes, as in [`EntryKind::File`]; `None` when only presence matters.
        content: Option<Arc<[u8]>>,
        /// Whether the file was longer than its cap, so `content` holds only its start.
        truncated: bool,
    },
    /// A directory.
    Dir,
    /// A symlink.
    Symlink {
        /// The link target as written (relative or absolute).
        target: String,
    },
}

/// What a view was built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewOrigin {
    /// Image layers, bottom first.
    Layers(Vec<LayerInfo>),
    /// A local folder; view paths are relative to it.
    Folder(PathBuf),
}

/// One layer of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// The layer's digest, as its [`LayerFacts::digest`] gives it.
    pub digest: Option<Digest>,
    /// Whether the layer belongs to the base image, when that is known.
    pub from_base: Option<bool>,
}

/// A finding with the layer it came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ViewFinding {
    /// The index of the layer (0 is the base) the finding is about; `None` for a folder,
    /// and for the count of findings the merge dropped.
    pub layer: Option<usize>,
    /// What was found.
    pub finding: FsFinding,
}

/// The filesystem catalogers read: wanted files with their content, directories and
/// symlinks, each with the layer that last wrote it.
#[derive(Clone, Debug)]
pub struct FsView {
    nodes: BTreeMap<String, Node>,
    /// The layers (or the folder) the view was built from.
    pub origin: ViewOrigin,
    /// The findings of every layer walk and of the merge.
    pub findings: Vec<ViewFinding>,
    /// Partial when any layer walk was, or when the merge met a symlink loop;
    /// [`Completeness::NotApplicable`] for an image with no layers.
    pub completeness: Completeness,
}

impl std::fmt::Display for ViewFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.layer {
            Some(i) => write!(f, "layer {i}: {}", self.finding),
            None => write!(f, "{}", self.finding),
        }
    }
}

impl FsView {
    pub(crate) fn from_parts(
        nodes: BTreeMap<String, Node>,
        origin: ViewOrigin,
        findings: Vec<ViewFinding>,
        completeness: Completeness,
    ) -> FsView {
        FsView {
            nodes,
            origin,
            findings,
            completeness,
        }
    }

    /// Marks the first `count` layers as the base image's and the rest as not.
    pub fn mark_base_layers(&mut self, count: usize) {
        if let ViewOrigin::Layers(layers) = &mut self.origin {
            for (i, l) in layers.iter_mut().enumerate() {
                l.from_base = Some(i < count);
            }
        }
    }

    /// Layer `index` (0 is the base) of the image; `None` past the last layer and for a
    /// folder.
    pub fn layer(&self, index: usize) -> Option<&LayerInfo> {
        match &self.origin {
            ViewOrigin::Layers(layers) => layers.get(index),
            ViewOrigin::Folder(_) => None,
        }
    }

    /// The node at `path` exactly (no symlink followed).
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every path and node, in path order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// Regular files, in path order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes()
            .filter(|(_, n)| matches!(n.kind, NodeKind::File { .. }))
    }

    /// The path `path` resolves to, following symlinks inside the view (`None` on a loop).
    pub fn resolve(&self, path: &str) -> Option<String> {
        resolve(&self.nodes, path, true)
    }

    /// The regular file `path` leads to, following symlinks.
    pub fn file(&self, path: &str) -> Option<(&str, &Node)> {
        let real = self.resolve(path)?;
        let (p, n) = self.nodes.get_key_value(&real)?;
        matches!(n.kind, NodeKind::File { .. }).then_some((p.as_str(), n))
    }

    /// The content kept for the file `path` leads to.
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        match &self.file(path)?.1.kind {
            NodeKind::File {
                content: Some(c), ..
            } => Some(c),
            _ => None,
        }
    }

    /// The paths directly or indirectly under `dir`.
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(p, _)| p.starts_with(&prefix))
            .map(|(p, n)| (p.as_str(), n))
    }
}

/// Resolves `path` through the symlinks in `nodes`, never leaving the root; with
/// `follow_last` false the last component itself is not followed. `None` on a loop.
fn resolve(nodes: &BTreeMap<String, Node>, path: &str, follow_last: bool) -> Option<String> {
    let mut pending: Vec<String> = path
        .split('/')
        .rev()
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    // `current` holds the resolved components; `joined` is their path, kept in step.
    let mut current: Vec<String> = Vec::new();
    let mut joined = String::new();
    let mut hops = 0;
    let pop = |current: &mut Vec<String>, joined: &mut String| {
        if let Some(last) = current.pop() {
            joined.truncate(joined.len() - last.len() - 1);
        }
    };
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                pop(&mut current, &mut joined);
                continue;
            }
            _ => {}
        }
        joined.push('/');
        joined.push_str(&c);
        current.push(c);
        if pending.is_empty() && !follow_last {
            break;
        }
        if let Some(Node {
            kind: NodeKind::Symlink { target },
            ..
        }) = nodes.get(&joined)
        {
            hops += 1;
            if hops > MAX_SYMLINK_HOPS || pending.len() > MAX_PENDING_COMPONENTS {
                return None;
            }
            pop(&mut current, &mut joined);
            if target.starts_with('/') {
                current.clear();
                joined.clear();
            }
            pending.extend(
                target
                    .split('/')
                    .rev()
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    let mut out = String::new();
    for part in &current {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

fn remove_tree(
    nodes: &mut BTreeMap<String, Node>,
    path: &str,
    keep_self: bool,
) -> Vec<(String, Node)> {
    let prefix = if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    let keys: Vec<String> = nodes
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .map(|(p, _)| p.clone())
        .collect();
    let mut removed = Vec::with_capacity(keys.len() + 1);
    for k in keys {
        if let Some(n) = nodes.remove(&k) {
            removed.push((k, n));
        }
    }
    if !keep_self && let Some(n) = nodes.remove(path) {
        removed.push((path.to_owned(), n));
    }
    removed
}

/// The real location of an entry path: its parent directories resolved through symlinks
/// in the view so far (as extracting the layer onto that filesystem would), its last
/// component kept.
fn place(nodes: &BTreeMap<String, Node>, path: &str) -> Option<String> {
    resolve(nodes, path, false)
}

/// Merges layers, bottom first, into the filesystem the image shows.
///
/// Per layer, its whiteouts and opaque directories apply first, to lower layers only (as
/// the OCI image spec says), then its entries in archive order. A hardlink takes the
/// content of its target as it was before this layer's whiteouts, so a link to a file the
/// same layer whites out keeps the file's content.
pub fn merge(layers: &[LayerFacts]) -> FsView {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut completeness = if layers.is_empty() {
        Completeness::NotApplicable
    } else {
        Completeness::Complete
    };
    let mut infos = Vec::with_capacity(layers.len());
    let mut merge_findings = 0usize;
    let mut dropped = 0u64;
    for (index, layer) in layers.iter().enumerate() {
        infos.push(LayerInfo {
            digest: layer.digest.clone(),
            from_base: None,
        });
        completeness = completeness.and(layer.completeness());
        for f in &layer.findings {
            findings.push(ViewFinding {
                layer: Some(index),
                finding: f.clone(),
            });
        }
        let mut note = |finding: FsFinding, completeness: &mut Completeness| {
            if finding.makes_partial() {
                *completeness = std::mem::replace(completeness, Completeness::Complete)
                    .and(Completeness::Partial(finding.to_string()));
            }
            if merge_findings < MAX_MERGE_FINDINGS {
                findings.push(ViewFinding {
                    layer: Some(index),
                    finding,
                });
            } else {
                dropped += 1;
            }
            merge_findings += 1;
        };
        // Whiteouts first: they hide lower layers only.
        let mut hidden: HashMap<String, Node> = HashMap::new();
        for e in &layer.entries {
            let keep_self = match e.kind {
                EntryKind::Whiteout => false,
                EntryKind::Opaque => true,
                _ => continue,
            };
            // `.wh.NAME` removes NAME itself (a symlink too); `DIR/.wh..wh..opq` empties
            // the directory DIR leads to.
            let Some(real) = resolve(&nodes, &e.path, keep_self) else {
                note(
                    FsFinding::SymlinkLoop {
                        path: e.path.clone(),
                    },
                    &mut completeness,
                );
                continue;
            };
            hidden.extend(remove_tree(&mut nodes, &real, keep_self));
        }
        for e in &layer.entries {
            let Some(real) = place(&nodes, &e.path) else {
                if !matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                    note(
                        FsFinding::SymlinkLoop {
                            path: e.path.clone(),
                        },
                        &mut completeness,
                    );
                }
                continue;
            };
            let kind = match &e.kind {
                EntryKind::Whiteout | EntryKind::Opaque => continue,
                EntryKind::Dir => {
                    if matches!(
                        nodes.get(&real),
                        Some(Node {
                            kind: NodeKind::Dir,
                            ..
                        })
                    ) {
                        continue;
                    }
                    NodeKind::Dir
                }
                EntryKind::File {
                    size,
                    content,
                    truncated,
                } => NodeKind::File {
                    size: *size,
                    content: content.as_deref().map(Arc::from),
                    truncated: *truncated,
                },
                EntryKind::Symlink { target } => NodeKind::Symlink {
                    target: target.clone(),
                },
                EntryKind::Hardlink { target } => {
                    let found = place(&nodes, target)
                        .and_then(|t| nodes.get(&t).or_else(|| hidden.get(&t)).cloned());
                    if let Some(Node {
                        kind: kind @ (NodeKind::File { .. } | NodeKind::Symlink { .. }),
                        ..
                    }) = found
                    {
                        let wants_content =
                            matches!(super::interest(&e.path), super::Interest::Content { .. });
                        if wants_content && matches!(kind, NodeKind::File { content: None, .. }) {
                            note(
                                FsFinding::HardlinkTargetNotKept {
                                    path: e.path.clone(),
                                    target: target.clone(),
                                },
                                &mut completeness,
                            );
                        }
                        kind
                    } else {
                        let finding = if super::interest(target) == super::Interest::None {
                            FsFinding::HardlinkTargetNotKept {
                                path: e.path.clone(),
                                target: target.clone(),
                            }
                        } else {
                            FsFinding::DanglingHardlink {
                                path: e.path.clone(),
                                target: target.clone(),
                            }
                        };
                        note(finding, &mut completeness);
                        continue;
                    }
                }
            };
            // Whatever was at this path goes, with everything under it unless both are
            // directories.
            if !matches!(kind, NodeKind::Dir) {
                remove_tree(&mut nodes, &real, true);
            }
            nodes.insert(
                real,
                Node {
                    kind,
                    layer: Some(index),
                },
            );
        }
    }
    if dropped > 0 {
        findings.push(ViewFinding {
            layer: None,
            finding: FsFinding::MoreFindings { count: dropped },
        });
    }
    FsView::from_parts(nodes, ViewOrigin::Layers(infos), findings, completeness)
}
