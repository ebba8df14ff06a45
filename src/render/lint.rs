use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{Cell, Color};

use super::{Format, Style};
use crate::analysis::lint::{LintReport, LintSet};
use crate::definition::Skipped;
use crate::diag::{Finding, Severity};

/// Render `envaudit lint` output.
pub fn render_lint(
    report: &LintReport,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let open = report
        .findings
        .iter()
        .filter(|f| f.accepted.is_none())
        .count();
    let accepted = report.findings.len() - open;
    let summary = format!(
        "{}: {} finding{}{}",
        report.path.display(),
        open,
        if open == 1 { "" } else { "s" },
        if accepted > 0 {
            format!(" ({accepted} accepted)")
        } else {
            String::new()
        }
    );
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                #[serde(flatten)]
                report: &'a LintReport,
            }
            super::json(
                &Json {
                    schema_version: 1,
                    report,
                },
                out,
            )
        }
        Format::Table => {
            if !report.findings.is_empty() {
                writeln!(out, "{}", findings_table(&report.findings, style))?;
            }
            writeln!(out, "{summary}")
        }
        Format::Markdown => {
            writeln!(out, "**envaudit lint** {summary}\n")?;
            findings_markdown(&report.findings, out)
        }
    }
}

/// Render `envaudit lint` output for several paths: every definition's findings in one
/// table (each at its file, line and column), then one summary line; JSON lists each
/// definition's report, the paths skipped with why, and the definitions that could not be
/// read.
pub fn render_lint_set(
    set: &LintSet,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let findings: Vec<&Finding> = set.findings().collect();
    let open = findings.iter().filter(|f| f.accepted.is_none()).count();
    let accepted = findings.len() - open;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut summary = format!(
        "{}: {}",
        plural(set.reports.len(), "definition", "definitions"),
        plural(open, "finding", "findings")
    );
    if accepted > 0 {
        let _ = write!(summary, " ({accepted} accepted)");
    }
    if !set.failed.is_empty() {
        let _ = write!(
            summary,
            ", {} that could not be read",
            plural(set.failed.len(), "definition", "definitions")
        );
    }
    match set.skipped.as_slice() {
        [] => {}
        [one] if set.reports.is_empty() && set.failed.is_empty() => {
            summary = format!("{}: skipped, {}", one.path.display(), one.why);
        }
        many => {
            let _ = write!(
                summary,
                "; {} skipped (not environment definitions)",
                plural(many.len(), "path", "paths")
            );
        }
    }
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                definitions: &'a [LintReport],
                skipped: Vec<SkippedJson<'a>>,
                errors: Vec<ErrorJson<'a>>,
            }
            #[derive(serde::Serialize)]
            struct SkippedJson<'a> {
                #[serde(flatten)]
                skipped: &'a Skipped,
                message: String,
            }
            #[derive(serde::Serialize)]
            struct ErrorJson<'a> {
                path: &'a std::path::Path,
                message: String,
                origin: Option<crate::source::Origin>,
            }
            super::json(
                &Json {
                    schema_version: 1,
                    definitions: &set.reports,
                    skipped: set
                        .skipped
                        .iter()
                        .map(|s| SkippedJson {
                            skipped: s,
                            message: s.why.to_string(),
                        })
                        .collect(),
                    errors: set
                        .failed
                        .iter()
                        .map(|(path, e)| ErrorJson {
                            path,
                            message: e.to_string(),
                            origin: e.origin(),
                        })
                        .collect(),
                },
                out,
            )
        }
        Format::Table => {
            if !findings.is_empty() {
                writeln!(out, "{}", findings_table(findings.iter().copied(), style))?;
            }
            writeln!(out, "{summary}")
        }
        Format::Markdown => {
            writeln!(out, "**envaudit lint** {summary}\n")?;
            findings_markdown(findings.iter().copied(), out)
        }
    }
}

/// Findings as a terminal table: where, severity (or `accepted`), code, message.
fn findings_table<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    style: Style,
) -> comfy_table::Table {
    let mut t = super::table();
    t.set_header(vec!["at", "severity", "code", "message"]);
    for f in findings {
        let sev = if f.accepted.is_some() {
            Cell::new("accepted")
        } else {
            let c = Cell::new(f.severity.as_str());
            if style.color {
                c.fg(match f.severity {
                    Severity::Error => Color::Red,
                    Severity::Warning => Color::Yellow,
                    Severity::Note => Color::Cyan,
                })
            } else {
                c
            }
        };
        t.add_row(vec![
            Cell::new(
                f.origin
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            sev,
            Cell::new(f.code.as_str()),
            Cell::new(message(f)),
        ]);
    }
    if !style.color {
        t.force_no_tty();
    }
    t
}

/// Findings as a Markdown table, for pull requests; nothing when there are none.
fn findings_markdown<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut findings = findings.into_iter().peekable();
    if findings.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "| at | severity | code | message |\n|---|---|---|---|")?;
    for f in findings {
        let sev = if f.accepted.is_some() {
            "accepted"
        } else {
            f.severity.as_str()
        };
        writeln!(
            out,
            "| {} | {sev} | `{}` | {} |",
            f.origin
                .as_ref()
                .map(|o| format!("`{o}`"))
                .unwrap_or_default(),
            f.code,
            super::md_cell(&message(f)),
        )?;
    }
    Ok(())
}

/// A finding's message, with the reason it was accepted when it was.
fn message(f: &crate::diag::Finding) -> String {
    match &f.accepted {
        Some(reason) => format!("{} (accepted: {reason})", f.message),
        None => f.message.clone(),
    }
}
