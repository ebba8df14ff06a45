//! `envaudit why`: every path from the declared dependencies to an installed package.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::error::Hinted;
use super::snapshots::{load_side, parse_spec, pick};
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct WhyArgs {
    /// The package (pip or conda name)
    package: String,

    /// The environment (default: the only one in the lockfile)
    env: Option<String>,

    /// Which lockfile snapshot: `@REV[:PATH][#ENV]`
    #[arg(long, value_name = "SNAPSHOT", default_value = "@")]
    at: String,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub(crate) fn run(args: &WhyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let spec = parse_spec(&args.at, "@")?;
    let lock = load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"))?;
    let env = args.env.clone().or(spec.environment.clone());
    let (name, snap) = pick(&lock, env.as_deref(), &spec.to_string())?;
    let Some(report) = crate::analysis::why::why(name, snap, &args.package) else {
        return Err(Hinted::new(
            format!("`{}` is not installed in `{name}`", args.package),
            "check the name with `envaudit graph` (pip names are normalised: `Foo_Bar` is `foo-bar`)",
        )
        .into());
    };
    super::write_or_pipe(render::render_why(&report, args.format, out))?;
    Ok(Exit::Ok)
}
