//! `envaudit completions SHELL`: the shell's completion script, from the same clap
//! definitions as `--help` (`clap_complete`).

use std::io::Write;

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use super::{Cli, Exit};

#[derive(Debug, Args)]
#[command(after_help = "Install (docs/install.md says more):
  bash        envaudit completions bash > ~/.local/share/bash-completion/completions/envaudit
  zsh         envaudit completions zsh > ~/.zfunc/_envaudit   (~/.zfunc on $fpath before compinit)
  fish        envaudit completions fish > ~/.config/fish/completions/envaudit.fish
  powershell  envaudit completions powershell | Out-String | Invoke-Expression   (in $PROFILE)
  elvish      eval (envaudit completions elvish | slurp)   (in ~/.config/elvish/rc.elv)")]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

pub(crate) fn run(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let mut cmd = visible(&Cli::command());
    let name = cmd.get_name().to_owned();
    // Into memory first: clap_complete panics on a failed write, and `| head` is no error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    super::write_or_pipe(out.write_all(&script))?;
    Ok(Exit::Ok)
}

/// The command without its hidden subcommands (`manpages`), which `clap_complete` would offer
/// otherwise. clap has no way to remove a subcommand, so the root is assembled again from the
/// same definitions: its arguments and its visible subcommands.
fn visible(cmd: &clap::Command) -> clap::Command {
    clap::Command::new("envaudit")
        .version(super::VERSION)
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}
