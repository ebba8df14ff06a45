//! `envaudit fleet`: scan every image of an organisation, merge the results into an
//! inventory, query it by package (docs/fleet.md).

use std::io::Write;

use clap::{Args, Subcommand};

use super::Exit;
use super::fleet_db;

#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Load `fleet scan` results files into the inventory database (SQLite); idempotent
    Merge(fleet_db::MergeArgs),
    /// The images, references, locked environments and models that hold a package in a
    /// version range; also moved tags, unlocked images and counts
    Query(fleet_db::QueryArgs),
}

pub(crate) fn run(args: &FleetArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match &args.command {
        FleetCommand::Merge(a) => fleet_db::merge(a, out),
        FleetCommand::Query(a) => fleet_db::query(a, out),
    }
}
