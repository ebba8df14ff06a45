//! `envaudit verify`: the signed evidence attached to an image, checked, and the image read
//! again against it.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::evidence::{target, verified, verifying_keys};
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The image (`REGISTRY/REPO[:TAG|@DIGEST]`), or a locked environment as
    /// `@[REV][:PATH]#ENV` (`@#train`: the image the working tree's lockfile locked for `train`)
    target: Option<String>,

    /// The environment whose locked image to verify (the same as `@#ENV`)
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    env: Option<String>,

    /// A public key (SPKI PEM, as `openssl pkey -pubout` or `cosign generate-key-pair`
    /// write it), or `env://VAR`; repeat for several signers
    #[arg(long, value_name = "PUB", required = true, allow_hyphen_values = true)]
    key: Vec<String>,

    /// Check the signatures and subjects only; do not read the image again
    #[arg(long)]
    no_content: bool,

    /// The lockfile an environment is read from
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,

    #[command(flatten)]
    image: ImageOptions,
}

pub(crate) fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let keys = verifying_keys(&args.key)?;
    let scanner = args.image.scanner()?;
    let target = target(
        &scanner,
        args.target.as_deref(),
        args.env.as_deref(),
        &args.lockfile,
    )?;
    let mut report = verified(&scanner, &target, &keys, args.no_content)?;
    // The audited project's own `envaudit.toml` must not accept its evidence's findings: only
    // a configuration named on the command line is applied.
    if args.findings.config.is_some() {
        args.findings.apply(&mut report.findings)?;
    }
    super::write_or_pipe(render::render_verify(&report, args.format, out))?;
    Ok(args.findings.exit(&report.findings))
}
