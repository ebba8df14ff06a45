//! The external programs that build and push images, and how envaudit calls them.
//!
//! envaudit writes no image itself: it hands the context to the builder the user has, with
//! a command line fixed here (and printed by `--dry-run`), and reads the result back from
//! the registry.
//!
//! | builder | build | push |
//! |---|---|---|
//! | `buildah` | `buildah build --platform P -f F -t TAG --label L CONTEXT` | `buildah push --digestfile D TAG docker://TAG` |
//! | `podman` | `podman build --platform P -f F -t TAG --label L CONTEXT` | `podman push --digestfile D TAG docker://TAG` |
//! | `docker` | `docker buildx build --platform P -f F -t TAG --label L --push CONTEXT` | (in the build) |
//! | `acr` | `az acr build --registry NAME --image REPO:TAG --platform P -f F CONTEXT` | (in the build) |
//!
//! Registries reached over plain HTTP get `--tls-verify=false` (buildah, podman) or
//! `registry.insecure=true` (docker). buildah's storage and isolation come from its own
//! configuration (`STORAGE_DRIVER`, `BUILDAH_ISOLATION`, `containers-storage.conf`).

use std::collections::VecDeque;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::BuildError;
use crate::model::ImageRef;

/// How many of a failed builder's last output lines are kept for the error.
pub const TAIL_LINES: usize = 20;

/// The label that carries the definition hash into the image.
pub const HASH_LABEL: &str = "io.envaudit.definition-hash";

/// The programs envaudit can build with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// buildah (daemonless; `buildah build` then `buildah push`)
    Buildah,
    /// docker buildx (builds and pushes in one step)
    Docker,
    /// podman (`podman build` then `podman push`)
    Podman,
    /// Azure Container Registry tasks (`az acr build`: the registry builds and stores)
    Acr,
}

impl Builder {
    /// The program that is run.
    pub fn program(self) -> &'static str {
        match self {
            Builder::Buildah => "buildah",
            Builder::Docker => "docker",
            Builder::Podman => "podman",
            Builder::Acr => "az",
        }
    }

    /// How to install the program (Debian packages where there are some).
    pub fn install_hint(self) -> &'static str {
        match self {
            Builder::Buildah => "install buildah (Debian/Ubuntu: `apt-get install -y buildah`)",
            Builder::Podman => "install podman (Debian/Ubuntu: `apt-get install -y podman`)",
            Builder::Docker => {
                "install Docker with the buildx plugin (https://docs.docker.com/engine/install/)"
            }
            Builder::Acr => {
                "install the Azure CLI (`pip install azure-cli`, or https://aka.ms/InstallAzureCLI) and run `az login`"
            }
        }
    }

    /// The builder's name as users know it (`acr` runs `az acr build`).
    pub fn program_name(self) -> &'static str {
        match self {
            Builder::Acr => "az acr build",
            Builder::Docker => "docker buildx",
            other => other.program(),
        }
    }

    /// Whether the builder pushes as part of the build (no separate push step).
    pub fn pushes_while_building(self) -> bool {
        matches!(self, Builder::Docker | Builder::Acr)
    }
}

/// What the build command needs to know.
#[derive(Clone, Debug)]
pub struct BuildSpec<'a> {
    /// The context folder, or a URL for a remote context.
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: &'a str,
    /// The tag to push.
    pub target: &'a ImageRef,
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// The definition hash, put in a label.
    pub definition_hash: String,
    /// Reach registries over plain HTTP (loopback or `--insecure-registry`).
    pub insecure: bool,
    /// Where buildah and podman write the pushed manifest's digest.
    pub digest_file: PathBuf,
}

/// One program run: what and with which arguments.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Invocation {
    /// The program, looked up on `PATH` (`buildah`, `docker`, `podman`, `az`).
    pub program: String,
    /// Its arguments, unquoted.
    pub args: Vec<String>,
}

impl Invocation {
    fn new(program: &str, args: Vec<String>) -> Self {
        Self {
            program: program.to_owned(),
            args,
        }
    }

    /// The command line as a POSIX shell would take it.
    pub fn shell_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `text` quoted for a POSIX shell when it needs it.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%^".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The programs run to build and push `spec`, in order.
pub fn commands(builder: Builder, spec: &BuildSpec<'_>) -> Result<Vec<Invocation>, BuildError> {
    let tag = spec.target.to_string();
    let label = format!("{HASH_LABEL}={}", spec.definition_hash);
    let digest_file = spec.digest_file.display().to_string();
    Ok(match builder {
        Builder::Buildah | Builder::Podman => {
            let program = builder.program();
            let mut build = vec![
                "build".to_owned(),
                "--platform".to_owned(),
                spec.platform.clone(),
                "-f".to_owned(),
                dockerfile_arg(spec),
                "-t".to_owned(),
                tag.clone(),
                "--label".to_owned(),
                label,
            ];
            let mut push = vec!["push".to_owned()];
            if spec.insecure {
                build.push("--tls-verify=false".to_owned());
                push.push("--tls-verify=false".to_owned());
            }
            build.push(spec.context.clone());
            push.extend([
                "--digestfile".to_owned(),
                digest_file,
                tag.clone(),
                format!("docker://{tag}"),
            ]);
            vec![
                Invocation::new(program, build),
                Invocation::new(program, push),
            ]
        }
        Builder::Docker => {
            let output = if spec.insecure {
                format!("type=image,name={tag},push=true,registry.insecure=true")
            } else {
                format!("type=image,name={tag},push=true")
            };
            vec![Invocation::new(
                "docker",
                vec![
                    "buildx".to_owned(),
                    "build".to_owned(),
                    "--platform".to_owned(),
                    spec.platform.clone(),
                    "-f".to_owned(),
                    dockerfile_arg(spec),
                    "--label".to_owned(),
                    label,
                    "--output".to_owned(),
                    output,
                    spec.context.clone(),
                ],
            )]
        }
        Builder::Acr => {
            let registry = spec.target.registry();
            let name = registry
                .strip_suffix(".azurecr.io")
                .filter(|n| !n.is_empty() && !n.contains('.'))
                .ok_or_else(|| BuildError::NotAcr(registry.to_owned()))?;
            let image = format!(
                "{}:{}",
                spec.target.repository(),
                spec.target.tag().unwrap_or(super::CACHE_TAG)
            );
            vec![Invocation::new(
                "az",
                vec![
                    "acr".to_owned(),
                    "build".to_owned(),
                    "--registry".to_owned(),
                    name.to_owned(),
                    "--image".to_owned(),
                    image,
                    "--platform".to_owned(),
                    spec.platform.clone(),
                    "--file".to_owned(),
                    dockerfile_arg(spec),
                    spec.context.clone(),
                ],
            )]
        }
    })
}

/// The Dockerfile as the builder takes it: a path for a local context, the path inside the
/// repository for a remote one.
fn dockerfile_arg(spec: &BuildSpec<'_>) -> String {
    if spec.context.contains("://") || spec.context.starts_with("git@") {
        spec.dockerfile.to_owned()
    } else {
        Path::new(&spec.context)
            .join(spec.dockerfile)
            .display()
            .to_string()
    }
}

/// Where `program` is on `PATH`, if it is.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Run one program, handing each line it writes (stdout and stderr, as they come) to
/// `on_line`. A failure keeps the last [`TAIL_LINES`] lines in the error.
pub fn run(invocation: &Invocation, on_line: &mut dyn FnMut(&str)) -> Result<(), BuildError> {
    if find_program(&invocation.program).is_none() && !invocation.program.contains('/') {
        return Err(BuildError::BuilderNotFound {
            program: invocation.program.clone(),
        });
    }
    let mut child = Command::new(&invocation.program)
        .args(&invocation.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| BuildError::Spawn {
            program: invocation.program.clone(),
            source,
        })?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let mut readers = Vec::new();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']);
                        if tx.send(line.to_owned()).is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    drop(tx);
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    for line in rx {
        on_line(&line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|source| BuildError::Spawn {
        program: invocation.program.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::BuilderFailed {
            command: format!(
                "{} {}",
                invocation.program,
                invocation.args.first().map_or("", |a| a)
            ),
            status: status.to_string(),
            tail: tail.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(target: &ImageRef, insecure: bool) -> BuildSpec<'_> {
        BuildSpec {
            context: "/tmp/ctx".to_owned(),
            dockerfile: "Dockerfile",
            target,
            platform: "linux/amd64".to_owned(),
            definition_hash: "sha256:ab".to_owned(),
            insecure,
            digest_file: PathBuf::from("/tmp/d"),
        }
    }

    #[test]
    fn buildah_builds_then_pushes_with_a_digest_file() {
        let t: ImageRef = "127.0.0.1:5000/envaudit/env_x:latest".parse().unwrap();
        let c = commands(Builder::Buildah, &spec(&t, true)).unwrap();
        assert_eq!(
            c[0].shell_line(),
            "buildah build --platform linux/amd64 -f /tmp/ctx/Dockerfile -t 127.0.0.1:5000/envaudit/env_x:latest --label io.envaudit.definition-hash=sha256:ab --tls-verify=false /tmp/ctx"
        );
        assert_eq!(
            c[1].shell_line(),
            "buildah push --tls-verify=false --digestfile /tmp/d 127.0.0.1:5000/envaudit/env_x:latest docker://127.0.0.1:5000/envaudit/env_x:latest"
        );
    }

    #[test]
    fn acr_needs_an_azure_registry() {
        let t: ImageRef = "ghcr.io/o/env:latest".parse().unwrap();
        assert!(matches!(
            commands(Builder::Acr, &spec(&t, false)),
            Err(BuildError::NotAcr(_))
        ));
        let t: ImageRef = "myreg.azurecr.io/envaudit/env_x:latest".parse().unwrap();
        let c = commands(Builder::Acr, &spec(&t, false)).unwrap();
        assert_eq!(
            c[0].shell_line(),
            "az acr build --registry myreg --image envaudit/env_x:latest --platform linux/amd64 --file /tmp/ctx/Dockerfile /tmp/ctx"
        );
    }

    #[test]
    fn shell_quoting_only_where_needed() {
        assert_eq!(shell_quote("a-b_c/d:e"), "a-b_c/d:e");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn a_failing_program_keeps_its_last_lines() {
        let inv = Invocation::new(
            "sh",
            vec![
                "-c".to_owned(),
                "echo from-stdout; for i in $(seq 1 30); do echo line $i; done >&2; echo oops >&2; exit 3".to_owned(),
            ],
        );
        let mut seen = 0;
        let err = run(&inv, &mut |_| seen += 1).unwrap_err();
        assert_eq!(seen, 32);
        match err {
            BuildError::BuilderFailed { tail, status, .. } => {
                assert_eq!(tail.len(), TAIL_LINES);
                assert!(tail.contains(&"oops".to_owned()));
                assert!(tail.contains(&"line 30".to_owned()));
                assert!(!tail.contains(&"line 1".to_owned()));
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_program_is_named() {
        let inv = Invocation::new("envaudit-no-such-builder", vec![]);
        assert!(matches!(
            run(&inv, &mut |_| {}),
            Err(BuildError::BuilderNotFound { program }) if program == "envaudit-no-such-builder"
        ));
    }
}
