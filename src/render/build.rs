//! `envaudit build` output.

use std::io::{self, Write};

use super::Format;
use crate::build::{BuildReport, ContextSource, Layer, Outcome};

/// Writes the result of `envaudit build`: its facts, the commands it would run (when only
/// planned), the drift from the locked snapshot when there is one, and the verdict. JSON is
/// the [`BuildReport`] itself.
pub fn render_build(report: &BuildReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => super::json(report, out),
        Format::Table => {
            for (key, value) in facts(report) {
                writeln!(out, "{key:<12}{value}")?;
            }
            if !report.commands.is_empty() && report.outcome == Outcome::Planned {
                writeln!(out, "would run:")?;
                for c in &report.commands {
                    writeln!(out, "  {}", c.shell_line())?;
                }
            }
            if let Some(d) = &report.drift {
                writeln!(out)?;
                super::render_drift(d, Format::Table, out)?;
            }
            if let Some(p) = &report.prediction {
                writeln!(out, "\npredicted, without building:")?;
                super::render_predict(p, Format::Table, out)?;
            }
            verdict(report, out)
        }
        Format::Markdown => {
            writeln!(out, "**envaudit build** `{}`\n", report.environment)?;
            for (key, value) in facts(report) {
                writeln!(out, "- {key}: {}", super::md_cell(&value))?;
            }
            if !report.commands.is_empty() && report.outcome == Outcome::Planned {
                writeln!(out, "\n```sh")?;
                for c in &report.commands {
                    writeln!(out, "{}", c.shell_line())?;
                }
                writeln!(out, "```")?;
            }
            if let Some(d) = &report.drift {
                writeln!(out)?;
                super::render_drift(d, Format::Markdown, out)?;
            }
            if let Some(p) = &report.prediction {
                writeln!(out)?;
                super::render_predict(p, Format::Markdown, out)?;
            }
            writeln!(out)?;
            verdict(report, out)
        }
    }
}

fn facts(r: &BuildReport) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("environment", r.environment.clone()),
        (
            "definition",
            format!("{} ({})", r.definition.display(), r.definition_hash),
        ),
        ("image", r.image.clone()),
    ];
    let outcome = match r.outcome {
        Outcome::Reused => "reused: the image exists, nothing was built",
        Outcome::Built => "built: the image was missing; built and pushed",
        Outcome::Rebuilt => "rebuilt: regenerated, and the tag moved to it",
        Outcome::Refused => "refused: regenerated, but the tag stays on the cached image",
        Outcome::Planned => "planned (--dry-run): nothing contacted, nothing run",
    };
    v.push(("outcome", outcome.to_owned()));
    if let Some(p) = &r.previous_digest {
        v.push(("was", p.to_string()));
    }
    if let Some(d) = &r.digest {
        v.push(("digest", d.to_string()));
    }
    if let Some(c) = &r.candidate {
        v.push(("candidate", c.clone()));
    }
    if let Some(c) = &r.context {
        let source = match &c.source {
            ContextSource::Generated => "generated".to_owned(),
            ContextSource::Local(p) => format!("the definition's folder `{}`", p.display()),
            ContextSource::Remote(u) => format!("remote `{u}`"),
        };
        let layer = match &c.layer {
            Layer::None => String::new(),
            Layer::Conda { prefix } => format!(", conda environment `{prefix}`"),
            Layer::Pip { requirements } => format!(", pip install -r `{requirements}`"),
        };
        let base = c
            .base
            .as_ref()
            .map(|b| format!(", FROM `{b}`"))
            .unwrap_or_default();
        let kept = c
            .kept_at
            .as_ref()
            .map(|k| format!("; kept in `{}`", k.display()))
            .unwrap_or_default();
        v.push(("context", format!("{source}{layer}{base}{kept}")));
    }
    if let (Some(b), Some(s)) = (&r.builder, r.build_seconds) {
        v.push(("builder", format!("{} ({s:.1} s)", b.program_name())));
    } else if let Some(b) = &r.builder {
        v.push(("builder", b.program_name().to_owned()));
    }
    if let Some(s) = &r.snapshot {
        v.push((
            "snapshot",
            format!(
                "{s} ({} package{}){}",
                r.packages.unwrap_or(0),
                if r.packages == Some(1) { "" } else { "s" },
                if r.locked { ", locked" } else { "" }
            ),
        ));
    }
    v
}

fn verdict(r: &BuildReport, out: &mut dyn Write) -> io::Result<()> {
    match r.outcome {
        Outcome::Refused => writeln!(
            out,
            "refused by --fail-on: `{}` still names {}; the regenerated image stays at `{}`",
            r.image,
            r.digest
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            r.candidate.as_deref().unwrap_or("")
        ),
        Outcome::Rebuilt => writeln!(
            out,
            "moved `{}` from {} to {}",
            r.image,
            r.previous_digest
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            r.digest
                .as_ref()
                .map_or_else(String::new, ToString::to_string)
        ),
        _ => Ok(()),
    }
}
