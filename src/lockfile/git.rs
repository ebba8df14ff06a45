//! The lockfile in git (git2, no `git` executable): reading it at a revision without a
//! checkout, its history, and committing it.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, RepositoryState};

use super::{Lockfile, LockfileError};
use crate::source::SourceFile;

/// Why the lockfile could not be read from git, or committed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No git repository holds the path (nor any folder above it).
    #[error("`{path}` is not inside a git repository", path = .path.display())]
    NoRepository {
        /// The path, made absolute.
        path: PathBuf,
    },
    /// The repository has no working tree, so no file on disk belongs to it.
    #[error("the repository has no working tree (it is bare)")]
    Bare,
    /// The revision does not name a commit (a typo, an unknown branch, a shallow clone).
    #[error("`{rev}` is not a revision of this repository")]
    BadRevision {
        /// The revision as given (`HEAD~3`, `main`, a commit id).
        rev: String,
        /// libgit2's reason.
        #[source]
        source: git2::Error,
    },
    /// The commit exists but has no file at that path (not yet added, or deleted).
    #[error("`{path}` does not exist at `{rev}`", path = .path.display())]
    NotAtRevision {
        /// The revision as given.
        rev: String,
        /// The path looked up, relative to the repository root.
        path: PathBuf,
    },
    /// The path is not under the repository's working tree.
    #[error("`{path}` is outside the repository at `{root}`", path = .path.display(), root = .root.display())]
    Outside {
        /// The path, absolute and canonicalised.
        path: PathBuf,
        /// The repository's working tree root.
        root: PathBuf,
    },
    /// HEAD is detached, so a commit would belong to no branch.
    #[error("HEAD is detached; check out a branch before committing the lockfile")]
    Detached,
    /// A merge, rebase, cherry-pick or the like is under way; the string names it as libgit2
    /// does, lowercased (`merge`, `rebaseinteractive`).
    #[error(
        "the repository is in the middle of a {0}; finish or abort it before committing the lockfile"
    )]
    Busy(String),
    /// The index has unresolved conflicts.
    #[error("the index has conflicts; resolve them before committing the lockfile")]
    Conflicted,
    /// git has no `user.name` or `user.email` to author the commit with.
    #[error(
        "no git identity: set `user.name` and `user.email` (git config --global user.email you@example.com)"
    )]
    NoIdentity(#[source] git2::Error),
    /// Any other libgit2 failure (an unreadable object, a locked index, an I/O error).
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// The lockfile read from git is not a valid lockfile.
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
}

/// A repository and where a file sits in it.
pub struct Repo {
    /// The open git2 repository, for what this type does not wrap.
    pub repo: Repository,
    /// The working tree's root, canonicalised; paths are made relative to it.
    pub root: PathBuf,
}

impl Repo {
    /// The repository holding `path` (a file that may not exist yet, or a folder).
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let start = abs
            .ancestors()
            .find(|a| a.is_dir())
            .map(Path::to_path_buf)
            .unwrap_or(abs.clone());
        let repo = Repository::discover(&start)
            .map_err(|_| GitError::NoRepository { path: abs.clone() })?;
        let root = repo.workdir().ok_or(GitError::Bare)?.to_path_buf();
        let root = root.canonicalize().unwrap_or(root);
        Ok(Repo { repo, root })
    }

    /// `path` relative to the repository root, `/`-separated.
    pub fn relative(&self, path: &Path) -> Result<PathBuf, GitError> {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        // Canonicalise the longest existing ancestor (symlinked temp folders, `..`).
        let mut existing = abs.as_path();
        let mut tail = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(p), Some(n)) => {
                    tail.push(n.to_os_string());
                    existing = p;
                }
                _ => break,
            }
        }
        let mut full = existing
            .canonicalize()
            .unwrap_or_else(|_| existing.to_path_buf());
        for n in tail.iter().rev() {
            full.push(n);
        }
        full.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .map_err(|_| GitError::Outside {
                path: full.clone(),
                root: self.root.clone(),
            })
    }

    fn commit_of(&self, rev: &str) -> Result<git2::Commit<'_>, GitError> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|source| GitError::BadRevision {
                rev: rev.to_owned(),
                source,
            })
    }

    /// The blob id and bytes of `rel` (relative to the root) at `rev`.
    pub fn read_at(&self, rev: &str, rel: &Path) -> Result<(Oid, Vec<u8>), GitError> {
        let commit = self.commit_of(rev)?;
        let entry = commit
            .tree()?
            .get_path(rel)
            .map_err(|_| GitError::NotAtRevision {
                rev: rev.to_owned(),
                path: rel.to_path_buf(),
            })?;
        let blob = self.repo.find_blob(entry.id())?;
        Ok((entry.id(), blob.content().to_vec()))
    }

    /// The lockfile `rel` at `rev`, parsed; its label says where it came from.
    pub fn lockfile_at(&self, rev: &str, rel: &Path) -> Result<Lockfile, GitError> {
        let (_, bytes) = self.read_at(rev, rel)?;
        let source = SourceFile::from_bytes(format!("{rev}:{}", rel.display()), &bytes)
            .map_err(LockfileError::from)?;
        Ok(Lockfile::parse(&source)?)
    }

    /// HEAD's commit id, when HEAD points at a commit.
    pub fn head_commit(&self) -> Option<String> {
        self.repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id().to_string())
    }

    /// The commits that changed `rel` (its blob id differs from the first parent's), oldest
    /// first, following first parents from `until` (default HEAD) back to `since`
    /// (exclusive) or the root.
    pub fn history(
        &self,
        rel: &Path,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Vec<Revision>, GitError> {
        let mut walk = self.repo.revwalk()?;
        walk.simplify_first_parent()?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL)?;
        walk.push(self.commit_of(until.unwrap_or("HEAD"))?.id())?;
        if let Some(since) = since {
            walk.hide(self.commit_of(since)?.id())?;
        }
        let blob_of = |c: &git2::Commit<'_>| -> Option<Oid> {
            c.tree().ok()?.get_path(rel).ok().map(|e| e.id())
        };
        let mut out = Vec::new();
        for oid in walk {
            let commit = self.repo.find_commit(oid?)?;
            let blob = blob_of(&commit);
            let parent_blob = commit.parent(0).ok().and_then(|p| blob_of(&p));
            if blob != parent_blob {
                out.push(Revision {
                    commit: commit.id().to_string(),
                    subject: commit
                        .summary_bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default(),
                    time: commit.time().seconds(),
                    blob: blob.map(|b| b.to_string()),
                });
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The bytes of a blob by id.
    pub fn blob(&self, id: &str) -> Result<Vec<u8>, GitError> {
        Ok(self.repo.find_blob(Oid::from_str(id)?)?.content().to_vec())
    }

    /// Commits exactly `files` (as they are on disk) on top of HEAD, whatever else is staged
    /// or modified, and updates the index for them. Refuses on a detached HEAD, an unfinished
    /// merge or rebase, or index conflicts.
    pub fn commit_files(&self, files: &[PathBuf], message: &str) -> Result<Oid, GitError> {
        let repo = &self.repo;
        match repo.state() {
            RepositoryState::Clean => {}
            other => return Err(GitError::Busy(format!("{other:?}").to_lowercase())),
        }
        if repo.head_detached().unwrap_or(false) {
            return Err(GitError::Detached);
        }
        let mut index = repo.index()?;
        if index.has_conflicts() {
            return Err(GitError::Conflicted);
        }
        let signature = repo.signature().map_err(GitError::NoIdentity)?;
        let parent = match repo.head() {
            Ok(h) => Some(h.peel_to_commit()?),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) => return Err(e.into()),
        };
        // A scratch index from HEAD's tree: only these files change in the commit.
        let mut scratch = git2::Index::new()?;
        if let Some(p) = &parent {
            scratch.read_tree(&p.tree()?)?;
        }
        let mut rels = Vec::new();
        for f in files {
            let rel = self.relative(f)?;
            let bytes = std::fs::read(f).map_err(|e| {
                git2::Error::from_str(&format!("cannot read `{}`: {e}", f.display()))
            })?;
            let mut entry = index_entry(&rel, bytes.len());
            entry.id = repo.blob(&bytes)?;
            scratch.add(&entry)?;
            rels.push(rel);
        }
        let tree_id = scratch.write_tree_to(repo)?;
        let tree = repo.find_tree(tree_id)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )?;
        for rel in &rels {
            index.add_path(rel)?;
        }
        index.write()?;
        Ok(oid)
    }
}

fn index_entry(rel: &Path, len: usize) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100_644,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(len).unwrap_or(u32::MAX),
        id: Oid::ZERO_SHA1,
        flags: 0,
        flags_extended: 0,
        path: rel.to_string_lossy().replace('\\', "/").into_bytes(),
    }
}

/// A commit that changed the lockfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// The commit id, in full hex.
    pub commit: String,
    /// The first line of the commit message (lossily decoded); empty if it has none.
    pub subject: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// The lockfile's blob at this commit (`None`: deleted).
    pub blob: Option<String>,
}
