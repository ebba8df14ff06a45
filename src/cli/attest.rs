//! `envaudit attest`: the signed evidence of each environment's current snapshot attached to
//! its image as OCI referrers.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::args::ImageOptions;
use super::evidence::{attest_environments, signing_key};
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The environments to attest (default: every environment of the lockfile)
    env: Vec<String>,

    /// The signing key: a PEM file (unencrypted PKCS#8, ECDSA P-256 or Ed25519, as
    /// `openssl genpkey` writes it), or `env://VAR` for a variable holding the PEM
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    key: String,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    image: ImageOptions,
}

pub(crate) fn run(args: &AttestArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let key = signing_key(&args.key)?;
    let scanner = args.image.scanner()?;
    let done = attest_environments(&scanner, &args.lockfile, &args.env, &key, None)?;
    super::write_or_pipe(render::render_attest(&done, args.format, out))?;
    Ok(Exit::Ok)
}
