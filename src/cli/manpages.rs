//! `envaudit manpages DIR` (hidden, for `scripts/dist`): one man page per command,
//! `envaudit.1` and `envaudit-lock.1` and so on, from the same clap definitions as `--help`
//! (`clap_mangen`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};

use super::{Cli, Exit};

#[derive(Debug, Args)]
pub(crate) struct ManpagesArgs {
    /// The folder to write the pages into (created if missing); prints each page's path
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub(crate) fn run(args: &ManpagesArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create `{}`", args.dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Built once, so every subcommand's display name is `envaudit-<name>`.
    cmd.build();
    let source = format!("envaudit {}", env!("CARGO_PKG_VERSION"));
    let mut pages = Vec::new();
    collect(&cmd, &mut pages);
    for page in pages {
        let man = clap_mangen::Man::new(page)
            .date(env!("ENVAUDIT_COMMIT_DATE"))
            .source(source.as_str())
            .manual("envaudit manual");
        let path = args.dir.join(man.get_filename());
        let mut text = Vec::new();
        man.render(&mut text)?;
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        super::write_or_pipe(writeln!(out, "{}", path.display()))?;
    }
    Ok(Exit::Ok)
}

/// The command and its visible subcommands, depth first.
fn collect(cmd: &clap::Command, pages: &mut Vec<clap::Command>) {
    pages.push(cmd.clone());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages);
    }
}
