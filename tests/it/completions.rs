//! Shell completions (`envaudit completions SHELL`) and man pages (`envaudit manpages DIR`),
//! checked by the real shells and the real `groff`. Missing is a failure, in CI and outside
//! it: scripts/test installs zsh, fish and groff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::registry::which;
use crate::support::{TestEnv, ok};

/// The tool's path; a missing tool fails the test with the command that installs it.
fn tool(cmd: &str, package: &str) -> PathBuf {
    which(cmd).unwrap_or_else(|| {
        panic!(
            "`{cmd}` is not installed: run scripts/test (it installs it) or `apt-get install -y {package}`"
        )
    })
}

/// The completion script for `shell`, written to a file.
fn completion(env: &TestEnv, shell: &str) -> PathBuf {
    let out = env
        .envaudit()
        .args(["completions", shell])
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(!text.is_empty(), "{shell}: empty script");
    env.write(&format!("envaudit.{shell}"), text)
}

/// The commands `envaudit --help` lists, `help` apart.
fn commands(env: &TestEnv) -> Vec<String> {
    let help = ok(&env.envaudit().arg("--help").output().unwrap());
    let list = help
        .split_once("Commands:\n")
        .expect("a Commands section")
        .1;
    let names: Vec<String> = list
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 15, "{names:?}");
    assert!(names.iter().any(|n| n == "completions"), "{names:?}");
    names
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completion_parses_and_completes_commands_and_flags() {
    let bash = tool("bash", "bash");
    let env = TestEnv::new();
    let script = completion(&env, "bash");
    let out = Command::new(&bash).arg("-n").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Completes as bash would on TAB: the function fills COMPREPLY from COMP_WORDS.
    let complete = |words: &str| {
        let code = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"{words}\"; COMP_POINT=${{#COMP_LINE}}; \
             _envaudit envaudit \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        ok(&Command::new(&bash).arg("-c").arg(code).output().unwrap())
    };
    assert_eq!(complete("envaudit lo"), "lock\nlog\n");
    let flags = complete("envaudit lock --lock");
    assert_eq!(flags, "--lockfile\n");
    let values = complete("envaudit completions p");
    assert_eq!(values, "powershell\n");
}

#[test]
fn zsh_completion_parses_and_defines_its_function() {
    let zsh = tool("zsh", "zsh");
    let env = TestEnv::new();
    let script = completion(&env, "zsh");
    let out = Command::new(&zsh).arg("-n").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&script)
            .unwrap()
            .starts_with("#compdef envaudit\n"),
        "zsh finds the script in $fpath by this first line"
    );
    // Loaded the way compinit loads it (`-f`: no rc files of this machine).
    let code = format!(
        "autoload -U compinit && compinit -u -d {} && source {} && print -r -- ${{+functions[_envaudit]}}",
        env.path("zcompdump").display(),
        script.display()
    );
    let out = Command::new(&zsh)
        .arg("-f")
        .arg("-c")
        .arg(code)
        .output()
        .unwrap();
    assert_eq!(ok(&out), "1\n");
}

#[test]
fn fish_completion_parses_and_completes_commands_and_flags() {
    let fish = tool("fish", "fish");
    let env = TestEnv::new();
    let script = completion(&env, "fish");
    let out = Command::new(&fish)
        .arg("--no-execute")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let complete = |line: &str| {
        let code = format!("source {}; complete -C '{line}'", script.display());
        let out = Command::new(&fish)
            .args(["--no-config", "-c", &code])
            .env("HOME", env.path("home"))
            .output()
            .unwrap();
        ok(&out)
    };
    let words: Vec<String> = complete("envaudit lo")
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(words, ["lock", "log"]);
    let lock = complete("envaudit lock --lock");
    assert!(lock.starts_with("--lockfile\t"), "{lock}");
}

#[test]
fn powershell_and_elvish_completions_name_every_command() {
    // No PowerShell or Elvish interpreter is packaged for Debian: checked by content only.
    let env = TestEnv::new();
    let commands = commands(&env);
    let powershell = std::fs::read_to_string(completion(&env, "powershell")).unwrap();
    assert!(
        powershell.contains("Register-ArgumentCompleter -Native -CommandName 'envaudit'"),
        "{powershell}"
    );
    let elvish = std::fs::read_to_string(completion(&env, "elvish")).unwrap();
    assert!(
        elvish.contains("edit:completion:arg-completer[envaudit]"),
        "{elvish}"
    );
    for c in &commands {
        assert!(
            powershell.contains(&format!("[CompletionResult]::new('{c}', ")),
            "powershell: no `{c}`"
        );
        assert!(elvish.contains(&format!("cand {c} '")), "elvish: no `{c}`");
    }
}

#[test]
fn completions_leave_out_the_hidden_manpages_command() {
    let env = TestEnv::new();
    for (shell, color) in [
        ("bash", "--color"),
        ("zsh", "--color"),
        ("fish", "-l color"),
        ("powershell", "--color"),
        ("elvish", "--color"),
    ] {
        let text = std::fs::read_to_string(completion(&env, shell)).unwrap();
        assert!(!text.contains("manpages"), "{shell} offers `manpages`");
        assert!(text.contains("completions"), "{shell}: no `completions`");
        assert!(text.contains(color), "{shell}: no global `--color`");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env
        .envaudit()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{err}"
    );
}

/// groff's rendering of a page as plain text (no overstriking, no hyphenation), with every
/// warning turned on; the warnings must be none.
fn render(groff: &Path, page: &Path) -> String {
    let out = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-rHY=0", "-P-cbou"])
        .arg(page)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.is_empty(),
        "{}: {err}",
        page.display()
    );
    stdout(&out)
}

#[test]
fn man_pages_one_per_command_render_without_warnings() {
    let groff = tool("groff", "groff-base");
    let env = TestEnv::new();
    let dir = env.path("man/man1");
    let out = env.envaudit().arg("manpages").arg(&dir).output().unwrap();
    let listed = ok(&out);

    let mut expected: Vec<String> = commands(&env)
        .iter()
        .map(|c| format!("envaudit-{c}.1"))
        .collect();
    // A command group (`fleet`) has a page per subcommand too.
    for c in commands(&env) {
        let help = ok(&env.envaudit().args([&c, "--help"]).output().unwrap());
        if let Some((_, list)) = help.split_once("Commands:\n") {
            expected.extend(
                list.lines()
                    .take_while(|l| !l.is_empty())
                    .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|n| *n != "help")
                    .map(|sub| format!("envaudit-{c}-{sub}.1")),
            );
        }
    }
    expected.push("envaudit.1".to_owned());
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written, expected,
        "one page per command, the hidden ones apart"
    );
    assert_eq!(listed.lines().count(), written.len(), "{listed}");

    for name in &written {
        render(&groff, &dir.join(name));
    }
    let lock = render(&groff, &dir.join("envaudit-lock.1"));
    assert!(
        lock.contains("envaudit-lock - Record an environment"),
        "{lock}"
    );
    assert!(lock.contains("--lockfile <PATH>"), "{lock}");
    assert!(
        lock.contains(&format!("envaudit {}", env!("CARGO_PKG_VERSION"))),
        "the footer names the version: {lock}"
    );
    let main = render(&groff, &dir.join("envaudit.1"));
    assert!(main.contains("envaudit-lock(1)"), "{main}");
}
