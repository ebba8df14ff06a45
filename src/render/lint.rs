use std::io::{self, Write};

use comfy_table::{Cell, Color};

use super::{Format, Style};
use crate::analysis::lint::LintReport;
use crate::diag::Severity;

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
                let mut t = super::table();
                t.set_header(vec!["at", "severity", "code", "message"]);
                for f in &report.findings {
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
                    let message = message(f);
                    t.add_row(vec![
                        Cell::new(
                            f.origin
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default(),
                        ),
                        sev,
                        Cell::new(f.code.as_str()),
                        Cell::new(message),
                    ]);
                }
                if !style.color {
                    t.force_no_tty();
                }
                writeln!(out, "{t}")?;
            }
            writeln!(out, "{summary}")
        }
        Format::Markdown => {
            writeln!(out, "**envaudit lint** {summary}\n")?;
            if !report.findings.is_empty() {
                writeln!(out, "| at | severity | code | message |\n|---|---|---|---|")?;
                for f in &report.findings {
                    let sev = if f.accepted.is_some() {
                        "accepted"
                    } else {
                        f.severity.as_str()
                    };
                    let message = message(f);
                    writeln!(
                        out,
                        "| {} | {sev} | `{}` | {} |",
                        f.origin
                            .as_ref()
                            .map(|o| format!("`{o}`"))
                            .unwrap_or_default(),
                        f.code,
                        super::md_cell(&message),
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// A finding's message, with the reason it was accepted when it was.
fn message(f: &crate::diag::Finding) -> String {
    match &f.accepted {
        Some(reason) => format!("{} (accepted: {reason})", f.message),
        None => f.message.clone(),
    }
}
