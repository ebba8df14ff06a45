//! `envaudit graph`: an environment's installed dependency graph (tree, Graphviz dot, JSON).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::snapshots::{load_side, parse_spec, pick};
use crate::analysis::graph::DepGraph;
use crate::lockfile::store;
use crate::render::{self, GraphFormat};

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The environment (default: the only one in the lockfile)
    env: Option<String>,

    /// Which lockfile snapshot: `@REV[:PATH][#ENV]`
    #[arg(long, value_name = "SNAPSHOT", default_value = "@")]
    at: String,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// `tree` (indented, from the declared roots), `dot` (Graphviz) or `json`
    #[arg(long, value_enum, default_value_t = GraphFormat::Tree)]
    format: GraphFormat,
}

pub(crate) fn run(args: &GraphArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let spec = parse_spec(&args.at, "@")?;
    let lock = load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"))?;
    let env = args.env.clone().or(spec.environment.clone());
    let (_, snap) = pick(&lock, env.as_deref(), &spec.to_string())?;
    let g = DepGraph::build(snap);
    super::write_or_pipe(render::render_graph(&g, args.format, out))?;
    Ok(Exit::Ok)
}
