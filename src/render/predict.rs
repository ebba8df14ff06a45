//! `envaudit predict` output: per environment, what would change and what allows it; the
//! Markdown is a pull-request comment with the whole predicted environment folded away.

use std::collections::HashMap;
use std::io::{self, Write};

use super::{Format, md_cell};
use crate::analysis::drift::Cause;
use crate::predict::{Change, EnvironmentPrediction, PredictReport, PredictedPackage};

/// Writes a prediction; JSON is the [`PredictReport`] itself.
pub fn render_predict(
    report: &PredictReport,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => super::json(report, out),
        Format::Table => {
            for e in &report.environments {
                environment_table(e, report.as_of.as_deref(), out)?;
            }
            super::findings_lines(&report.findings, out)
        }
        Format::Markdown => {
            let moving: usize = report
                .environments
                .iter()
                .map(|e| e.changes.values().sum::<usize>())
                .sum();
            writeln!(
                out,
                "**envaudit predict**{}: a rebuild now would change {moving} package{}",
                report
                    .as_of
                    .as_deref()
                    .map(|d| format!(" (as of {d})"))
                    .unwrap_or_default(),
                if moving == 1 { "" } else { "s" }
            )?;
            for e in &report.environments {
                environment_markdown(e, out)?;
            }
            if !report.findings.is_empty() {
                writeln!(out)?;
                for f in &report.findings {
                    writeln!(
                        out,
                        "- **{}** `{}`: {}",
                        f.severity,
                        f.code,
                        md_cell(&f.message)
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// `3 upgraded, 1 added` or `nothing would change`.
fn summary(e: &EnvironmentPrediction) -> String {
    if e.changes.is_empty() {
        return "nothing would change".to_owned();
    }
    let order = [
        Change::Upgraded,
        Change::Downgraded,
        Change::Added,
        Change::Removed,
        Change::Rebuilt,
    ];
    order
        .iter()
        .filter_map(|c| {
            e.changes
                .get(c.as_str())
                .map(|n| format!("{n} {}", c.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn target(e: &EnvironmentPrediction) -> String {
    let t = &e.target;
    let libc = t.libc.map(|l| format!(", {l}")).unwrap_or_default();
    format!("Python {} on {}{libc}", t.python, t.machine)
}

fn version(v: Option<&str>, build: Option<&str>) -> String {
    match (v, build) {
        (None, _) => "-".to_owned(),
        (Some(v), Some(b)) => format!("{v} ({b})"),
        (Some(v), None) => v.to_owned(),
    }
}

/// What allows a change, in words: `declared mlflow (unpinned)`, `requests 2.31.0 requires
/// urllib3<3,>=1.21.1`.
fn allowed_by(p: &PredictedPackage, parents: &Parents<'_>) -> String {
    if p.movers.is_empty() {
        return match &p.cause {
            Some(Cause::BaseImage) => "the base image".to_owned(),
            Some(Cause::FollowedPinned) => {
                format!("exact requirements: {}", p.path.as_deref().unwrap_or("-"))
            }
            Some(Cause::PinViolated) => "nothing: declared exactly".to_owned(),
            Some(Cause::Unreached) | None => "-".to_owned(),
            Some(Cause::DeclaredUnpinned | Cause::Requirements) => {
                p.path.clone().unwrap_or_else(|| "-".to_owned())
            }
        };
    }
    p.movers
        .iter()
        .map(|m| match &m.from {
            None => format!("declared {} ({})", m.requirement, m.pin),
            Some(from) => match parents.version(p, from) {
                Some(v) => format!("{from} {v} requires {}", m.requirement),
                None => format!("{from} requires {}", m.requirement),
            },
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each package's predicted and locked versions by prefix and name, for the movers' parents:
/// a removed package was required by the locked parent, any other change by the predicted
/// one; a parent in the row's own prefix first (a conda `openssl` and Debian's are two).
struct Parents<'a> {
    predicted: HashMap<(Option<&'a str>, &'a str), &'a str>,
    locked: HashMap<(Option<&'a str>, &'a str), &'a str>,
}

impl<'a> Parents<'a> {
    fn of(e: &'a EnvironmentPrediction) -> Self {
        let by = |f: fn(&PredictedPackage) -> Option<&str>| {
            e.packages
                .iter()
                .filter_map(|p| Some(((p.prefix.as_deref(), p.name.as_str()), f(p)?)))
                .collect()
        };
        Parents {
            predicted: by(|p| p.predicted.as_deref()),
            locked: by(|p| p.locked.as_deref()),
        }
    }

    fn version(&self, row: &PredictedPackage, parent: &str) -> Option<&'a str> {
        let map = if row.change == Change::Removed {
            &self.locked
        } else {
            &self.predicted
        };
        map.get(&(row.prefix.as_deref(), parent))
            .or_else(|| map.iter().find(|((_, n), _)| *n == parent).map(|(_, v)| v))
            .copied()
    }
}

fn environment_table(
    e: &EnvironmentPrediction,
    as_of: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let when = as_of.map(|d| format!(" as of {d}")).unwrap_or_default();
    writeln!(
        out,
        "{}: a rebuild{when} would install for {}: {}",
        e.name,
        target(e),
        summary(e)
    )?;
    let moving: Vec<&PredictedPackage> = e
        .packages
        .iter()
        .filter(|p| p.change != Change::Unchanged)
        .collect();
    if moving.is_empty() {
        return writeln!(out, "  {} packages, all as locked", e.packages.len());
    }
    let parents = Parents::of(e);
    let mut t = super::table();
    t.set_header(vec![
        "package",
        "change",
        "locked",
        "predicted",
        "allowed by",
    ]);
    for p in &moving {
        t.add_row(vec![
            p.name.clone(),
            p.change.as_str().to_owned(),
            version(p.locked.as_deref(), p.locked_build.as_deref()),
            version(p.predicted.as_deref(), p.predicted_build.as_deref()),
            allowed_by(p, &parents),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "  {} other packages as locked",
        e.packages.len() - moving.len()
    )
}

fn environment_markdown(e: &EnvironmentPrediction, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "\n### `{}`: {}\n\nFor {}, against snapshot `{}`.\n",
        md_cell(&e.name),
        summary(e),
        target(e),
        md_cell(&e.snapshot)
    )?;
    let parents = Parents::of(e);
    let moving: Vec<&PredictedPackage> = e
        .packages
        .iter()
        .filter(|p| p.change != Change::Unchanged)
        .collect();
    if !moving.is_empty() {
        writeln!(
            out,
            "| package | change | locked | predicted | allowed by |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for p in &moving {
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                md_cell(&p.name),
                p.change.as_str(),
                md_cell(&version(p.locked.as_deref(), p.locked_build.as_deref())),
                md_cell(&version(
                    p.predicted.as_deref(),
                    p.predicted_build.as_deref()
                )),
                md_cell(&allowed_by(p, &parents))
            )?;
        }
    }
    let installed: Vec<&PredictedPackage> = e
        .packages
        .iter()
        .filter(|p| p.predicted.is_some())
        .collect();
    writeln!(
        out,
        "\n<details>\n<summary>The whole predicted environment: {} packages</summary>\n",
        installed.len()
    )?;
    writeln!(out, "| package | ecosystem | predicted | change |")?;
    writeln!(out, "|---|---|---|---|")?;
    for p in installed {
        writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            md_cell(&p.name),
            p.ecosystem,
            md_cell(&version(
                p.predicted.as_deref(),
                p.predicted_build.as_deref()
            )),
            p.change.as_str()
        )?;
    }
    writeln!(out, "\n</details>")
}
