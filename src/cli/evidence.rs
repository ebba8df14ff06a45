//! What `attest`, `verify`, `report --from-registry`, `lock --attest` and `build --attest`
//! share: reading keys, naming the image to verify, attesting environments.

use std::path::Path;

use anyhow::Context as _;

use super::error::Hinted;
use super::snapshots::{load_side, parse_spec, pick};
use crate::attest::keys::{SigningKey, VerifyingKey};
use crate::evidence::attach::{self, Attestation, Request, locked_image};
use crate::evidence::predicate::BuildFacts;
use crate::evidence::verify::{self, Target, VerifyReport};
use crate::lockfile::store::Store;
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::{ImageRef, ImageSource};
use crate::scan::Scanner;

/// Refuses a `--key` that holds key text instead of naming a file or a variable: the
/// argument is never printed, as it may be the private key itself (`--key="$SECRET"`).
fn key_argument(key: &str) -> anyhow::Result<()> {
    if key.contains("-----BEGIN") || key.contains('\n') || key.len() > 4096 {
        return Err(Hinted::new(
            "`--key` holds key text, not a file name",
            "pass a file (`--key signer.pem`) or a variable holding the PEM (`--key env://ENVAUDIT_SIGNING_KEY`); the text given is not shown",
        )
        .into());
    }
    Ok(())
}

/// Reads the signing key named by `--key`: a file, or `env://VAR`.
pub(crate) fn signing_key(key: &str) -> anyhow::Result<SigningKey> {
    key_argument(key)?;
    let read = match key.strip_prefix("env://") {
        Some(var) => SigningKey::from_env(var),
        None => SigningKey::from_file(Path::new(key)),
    };
    read.map_err(|e| {
        let hint = e.hint().unwrap_or_else(|| {
            "make one with `openssl genpkey -algorithm ed25519 -out key.pem` (or `-algorithm EC -pkeyopt ec_paramgen_curve:P-256`), and its public key with `openssl pkey -in key.pem -pubout -out key.pub`".to_owned()
        });
        anyhow::Error::new(Hinted::new(format!("cannot read the signing key: {e}"), hint))
    })
}

/// Reads the public keys named by `--key`: files, or `env://VAR`.
pub(crate) fn verifying_keys(keys: &[String]) -> anyhow::Result<Vec<VerifyingKey>> {
    keys.iter()
        .map(|k| {
            key_argument(k)?;
            let read = match k.strip_prefix("env://") {
                Some(var) => {
                    let pem = std::env::var(var).map_err(|_| {
                        Hinted::new(
                            format!("the variable `{var}` holding the public key is not set"),
                            "set it to the PEM text of the public key",
                        )
                    })?;
                    VerifyingKey::from_pem(&pem)
                }
                None => VerifyingKey::from_file(Path::new(k)),
            };
            read.map_err(|e| {
                let hint = e.hint().unwrap_or_else(|| {
                    "give the public key (`openssl pkey -in key.pem -pubout -out key.pub`)"
                        .to_owned()
                });
                anyhow::Error::new(Hinted::new(
                    format!("cannot read the public key: {e}"),
                    hint,
                ))
            })
        })
        .collect()
}

/// The environments named (all when none), with their snapshots; `at` names the lockfile.
fn chosen<'l>(
    lock: &'l Lockfile,
    names: &[String],
    at: &str,
) -> anyhow::Result<Vec<(&'l str, &'l Snapshot)>> {
    if names.is_empty() {
        return Ok(lock
            .environments
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .collect());
    }
    names
        .iter()
        .map(|n| pick(lock, Some(n), at).map(|(k, s)| (k.as_str(), s)))
        .collect()
}

/// Attests `environments` of the lockfile at `lockfile` (all when empty), with `build` facts
/// when `envaudit build` just built their image; shared by `attest`, `lock --attest` and
/// `build --attest`.
pub(crate) fn attest_environments(
    scanner: &Scanner,
    lockfile: &Path,
    environments: &[String],
    key: &SigningKey,
    build: Option<&BuildFacts>,
) -> anyhow::Result<Vec<Attestation>> {
    let store = Store::new(lockfile);
    let lock = store
        .load()
        .with_context(|| format!("cannot read `{}`", lockfile.display()))?;
    let (runs, _) = store.runs();
    let mut done = Vec::new();
    for (name, snapshot) in chosen(&lock, environments, &lockfile.display().to_string())? {
        let request = Request {
            environment: name,
            snapshot,
            runs: &runs,
            build,
        };
        let a = attach::attest(scanner, &request, key)
            .with_context(|| format!("cannot attest `{name}`"))?;
        done.push(a);
    }
    Ok(done)
}

/// What `TARGET` or `--env` names: the image, the manifest to check, and for an
/// environment where its reference points now.
pub(crate) fn target(
    scanner: &Scanner,
    text: Option<&str>,
    env: Option<&str>,
    lockfile: &Path,
) -> anyhow::Result<Target> {
    let spec_text = match (text, env) {
        (_, Some(e)) => Some(format!("@#{e}")),
        (Some(t), None) if t.starts_with('@') => Some(t.to_owned()),
        _ => None,
    };
    if let Some(spec_text) = spec_text {
        let spec = parse_spec(&spec_text, "@")?;
        let lock = load_side(&spec, lockfile)?;
        let (name, snapshot) = pick(&lock, spec.environment.as_deref(), &spec_text)?;
        let (image, manifest) = locked_image(name, snapshot)?;
        let now = scanner
            .resolve(&ImageSource::Registry(image.clone()))
            .with_context(|| format!("cannot resolve `{image}`, the image `{name}` locked"))?;
        // A reference to a multi-platform index has not moved while it names the locked
        // index, whichever platform `--platform` picks from it.
        let moved = match (&now.index, &snapshot.image_index) {
            (Some(index), Some(locked)) => index.digest != *locked,
            _ => now.manifest.as_ref().is_none_or(|m| m.digest != manifest),
        };
        return Ok(Target {
            image,
            moved_to: moved.then(|| now.manifest.map(|m| m.digest)).flatten(),
            manifest,
            environment: Some(name.clone()),
        });
    }
    let text = text.ok_or_else(|| {
        Hinted::new(
            "name the image to verify",
            "`envaudit verify REGISTRY/REPO:TAG --key key.pub`, or `--env NAME` for the image an environment locked",
        )
    })?;
    let image: ImageRef = text
        .parse()
        .with_context(|| format!("`{text}` is not an image reference"))?;
    let resolved = scanner
        .resolve(&ImageSource::Registry(image.clone()))
        .with_context(|| format!("cannot resolve `{text}`"))?;
    let manifest = resolved
        .manifest
        .map(|m| m.digest)
        .context("the image has no platform manifest")?;
    Ok(Target {
        image,
        manifest,
        environment: None,
        moved_to: None,
    })
}

/// Verifies the target's evidence, and unless `no_content` reads the image again against it.
pub(crate) fn verified(
    scanner: &Scanner,
    target: &Target,
    keys: &[VerifyingKey],
    no_content: bool,
) -> anyhow::Result<VerifyReport> {
    let mut report = verify::verify(scanner, target, keys)
        .with_context(|| format!("cannot read the evidence of `{}`", target.image))?;
    if !no_content {
        verify::check_content(scanner, target, &mut report)
            .with_context(|| format!("cannot read `{}` again", target.image))?;
    }
    Ok(report)
}
