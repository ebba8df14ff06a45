//! `envaudit diff` output: a table per changed environment, a Markdown PR comment, or JSON.

use std::io::{self, Write};

use comfy_table::{Cell, Color};

use super::{Format, Style, md_cell};
use crate::analysis::diff::{
    ChangeKind, DiffReport, EnvironmentDiff, EnvironmentStatus, PackageChange,
};

/// Writes the result of `envaudit diff`: a table per changed environment (coloured when
/// `style.color`), a Markdown PR comment, or the [`DiffReport`] as JSON.
pub fn render_diff(
    report: &DiffReport,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => super::json(report, out),
        Format::Markdown => markdown(report, out),
        Format::Table => table(report, style, out),
    }
}

/// `3 environments: 1 changed (1 silent drift), 2 unchanged; 7 package changes`
pub fn summary_line(report: &DiffReport) -> String {
    let t = report.totals();
    let total = report.environments.len();
    let mut parts = Vec::new();
    if t.changed > 0 {
        let drift = if t.silent_drift > 0 {
            format!(" ({} silent drift)", t.silent_drift)
        } else {
            String::new()
        };
        parts.push(format!("{} changed{drift}", t.changed));
    }
    if t.added > 0 {
        parts.push(format!("{} added", t.added));
    }
    if t.removed > 0 {
        parts.push(format!("{} removed", t.removed));
    }
    if t.unchanged > 0 {
        parts.push(format!("{} unchanged", t.unchanged));
    }
    if parts.is_empty() {
        parts.push("none".into());
    }
    format!(
        "{total} environment{}: {}; {} package change{}",
        plural(total),
        parts.join(", "),
        t.package_changes,
        plural(t.package_changes)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `sha256:0123456789ab` (12 hex characters) for display; `-` when absent.
pub(crate) fn short(digest: Option<&str>) -> String {
    match digest {
        Some(d) => match d.split_once(':') {
            Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}", &hex[..12]),
            _ => d.to_owned(),
        },
        None => "-".into(),
    }
}

/// One line per environment fact: definition, image, drift.
fn headline(e: &EnvironmentDiff) -> Vec<String> {
    let mut lines = Vec::new();
    match e.status {
        EnvironmentStatus::Added => lines.push(format!(
            "added (snapshot {})",
            e.new_snapshot.as_deref().unwrap_or("-")
        )),
        EnvironmentStatus::Removed => lines.push("removed".into()),
        EnvironmentStatus::Unchanged => lines.push("unchanged".into()),
        EnvironmentStatus::Changed => {
            lines.push(if e.definition_changed {
                format!(
                    "definition hash changed: {} → {}",
                    short(e.old_definition_hash.as_deref()),
                    short(e.new_definition_hash.as_deref())
                )
            } else {
                format!(
                    "definition hash unchanged ({})",
                    short(e.new_definition_hash.as_deref())
                )
            });
            lines.push(if e.image_changed {
                format!(
                    "image changed: {} → {}",
                    short(e.old_image.as_deref()),
                    short(e.new_image.as_deref())
                )
            } else {
                "image unchanged".into()
            });
        }
    }
    if e.silent_drift {
        lines.push(
            "SILENT DRIFT: installed packages changed while the definition did not (the image was regenerated)"
                .into(),
        );
    }
    for i in &e.incomplete {
        lines.push(format!("results may be incomplete: {i}"));
    }
    lines
}

fn version_cell(p: &PackageChange) -> (String, String) {
    let v = |version: &Option<String>, build: &Option<String>| match (version, build) {
        (Some(v), Some(b)) if p.kind == ChangeKind::Rebuilt => format!("{v} ({b})"),
        (Some(v), _) => v.clone(),
        (None, _) => "-".into(),
    };
    (
        v(&p.old_version, &p.old_build),
        v(&p.new_version, &p.new_build),
    )
}

fn table(report: &DiffReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} → {}", report.old, report.new)?;
    for e in &report.environments {
        if e.status == EnvironmentStatus::Unchanged {
            continue;
        }
        writeln!(out, "\n{}", e.name)?;
        for l in headline(e) {
            writeln!(out, "  {l}")?;
        }
        // One table per environment prefix: the prefix is a heading, not a wide column.
        let mut prefixes: Vec<Option<&str>> =
            e.packages.iter().map(|p| p.prefix.as_deref()).collect();
        prefixes.dedup();
        prefixes.sort();
        prefixes.dedup();
        for prefix in prefixes {
            writeln!(out, "  {}", prefix.unwrap_or("(no prefix)"))?;
            let mut t = super::table();
            t.set_header(vec!["change", "ecosystem", "package", "old", "new"]);
            for p in e.packages.iter().filter(|p| p.prefix.as_deref() == prefix) {
                let (old, new) = version_cell(p);
                let mut change = Cell::new(p.kind.as_str());
                if style.color {
                    change = change.fg(match p.kind {
                        ChangeKind::Added | ChangeKind::Upgraded => Color::Green,
                        ChangeKind::Removed | ChangeKind::Downgraded => Color::Red,
                        ChangeKind::Rebuilt => Color::Yellow,
                    });
                }
                t.add_row(vec![
                    change,
                    Cell::new(p.ecosystem.to_string()),
                    Cell::new(&p.name),
                    Cell::new(old),
                    Cell::new(new),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        for p in &e.pins {
            writeln!(
                out,
                "  declared {}: `{}` ({}) → `{}` ({}){}",
                p.name,
                p.old_spec.as_deref().unwrap_or("-"),
                p.old_pin.map_or("-", |s| s.as_str()),
                p.new_spec.as_deref().unwrap_or("-"),
                p.new_pin.map_or("-", |s| s.as_str()),
                if p.loosened { ": pin loosened" } else { "" }
            )?;
        }
    }
    writeln!(out, "\n{}", summary_line(report))?;
    super::findings_lines(&report.findings, out)
}

fn markdown(report: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let t = report.totals();
    let mark = if t.silent_drift > 0 { "⚠️ " } else { "" };
    writeln!(out, "**envaudit**: {mark}{}", summary_line(report))?;
    for e in &report.environments {
        if e.status == EnvironmentStatus::Unchanged {
            continue;
        }
        let badge = if e.silent_drift {
            " — silent drift"
        } else {
            ""
        };
        writeln!(out)?;
        writeln!(out, "<details>")?;
        writeln!(
            out,
            "<summary><code>{}</code>: {}, {} package change{}{badge}</summary>",
            html(&e.name),
            match e.status {
                EnvironmentStatus::Added => "added",
                EnvironmentStatus::Removed => "removed",
                _ if e.definition_changed => "definition changed",
                _ => "definition unchanged",
            },
            e.packages.len(),
            plural(e.packages.len())
        )?;
        writeln!(out)?;
        for l in headline(e) {
            writeln!(out, "- {}", md_cell(&l))?;
        }
        if !e.packages.is_empty() {
            writeln!(out)?;
            writeln!(out, "| change | ecosystem | package | old | new |")?;
            writeln!(out, "|---|---|---|---|---|")?;
            for p in &e.packages {
                let (old, new) = version_cell(p);
                writeln!(
                    out,
                    "| {} | {} | `{}` | {} | {} |",
                    p.kind.as_str(),
                    p.ecosystem,
                    md_cell(&p.name),
                    md_cell(&old),
                    md_cell(&new)
                )?;
            }
        }
        if !e.pins.is_empty() {
            writeln!(out)?;
            for p in &e.pins {
                writeln!(
                    out,
                    "- declared `{}`: `{}` → `{}`{}",
                    md_cell(&p.name),
                    md_cell(p.old_spec.as_deref().unwrap_or("-")),
                    md_cell(p.new_spec.as_deref().unwrap_or("-")),
                    if p.loosened { " (pin loosened)" } else { "" }
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    Ok(())
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `envaudit log` output.
pub fn render_log(
    report: &crate::analysis::log::LogReport,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == Format::Json {
        return super::json(report, out);
    }
    if report.entries.is_empty() {
        return writeln!(out, "no change to {} in this history", report.lockfile);
    }
    let mut t = super::table();
    t.set_header(vec!["commit", "date", "environment", "change", "subject"]);
    for e in &report.entries {
        let mut what = Vec::new();
        match e.status {
            EnvironmentStatus::Added => what.push("added".to_owned()),
            EnvironmentStatus::Removed => what.push("removed".to_owned()),
            _ => {
                if e.definition_changed {
                    what.push("definition".to_owned());
                }
                if e.image_changed {
                    what.push(format!("image {}", short(e.image.as_deref())));
                }
                if e.package_changes > 0 {
                    what.push(format!(
                        "{} package{}",
                        e.package_changes,
                        plural(e.package_changes)
                    ));
                }
                if what.is_empty() {
                    what.push("details".to_owned());
                }
            }
        }
        if e.silent_drift {
            what.push("SILENT DRIFT".to_owned());
        }
        t.add_row(vec![
            e.commit[..12.min(e.commit.len())].to_owned(),
            e.time[..10.min(e.time.len())].to_owned(),
            e.environment.clone(),
            what.join(", "),
            e.subject.clone(),
        ]);
    }
    writeln!(out, "{t}")
}
