//! `attest` and `verify` output.

use std::io::{self, Write};

use super::{Format, md_cell};
use crate::evidence::attach::Attestation;
use crate::evidence::verify::VerifyReport;

/// Render what `attest` did, one row per environment.
pub fn render_attest(done: &[Attestation], format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                attestations: &'a [Attestation],
            }
            super::json(
                &Json {
                    schema_version: 1,
                    attestations: done,
                },
                out,
            )
        }
        Format::Markdown => {
            writeln!(
                out,
                "**envaudit attest**: {} environment{}\n",
                done.len(),
                plural(done.len())
            )?;
            writeln!(out, "| environment | image | status | predicate | stored |")?;
            writeln!(out, "|---|---|---|---|---|")?;
            for a in done {
                writeln!(
                    out,
                    "| {} | `{}` | {} | `{}` | {} |",
                    md_cell(&a.environment),
                    md_cell(&a.image),
                    a.status,
                    md_cell(&a.predicate_type),
                    md_cell(&stored(a))
                )?;
            }
            Ok(())
        }
        Format::Table => {
            let mut t = super::table();
            t.set_header(vec![
                "environment",
                "image",
                "status",
                "predicate",
                "stored",
            ]);
            for a in done {
                t.add_row(vec![
                    a.environment.clone(),
                    short_image(&a.image),
                    a.status.to_owned(),
                    short_predicate(&a.predicate_type).to_owned(),
                    stored(a),
                ]);
            }
            writeln!(out, "{t}")?;
            if let Some(a) = done.first() {
                writeln!(out, "signed with key {}", a.key_id)?;
            }
            Ok(())
        }
    }
}

fn stored(a: &Attestation) -> String {
    if a.pushed.is_empty() {
        return "nothing pushed".to_owned();
    }
    a.pushed
        .iter()
        .map(|p| format!("{} ({})", p.artifact, p.stored))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `REPO@sha256:` and 12 hex digits, for a table.
fn short_image(image: &str) -> String {
    match image.split_once("@sha256:") {
        Some((repo, hex)) => format!("{repo}@sha256:{}", &hex[..hex.len().min(12)]),
        None => image.to_owned(),
    }
}

/// The predicate type's last two path segments (`environment-snapshot/v1`, `provenance/v1`).
fn short_predicate(uri: &str) -> &str {
    let mut cut = uri.len();
    for _ in 0..2 {
        match uri[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return uri,
        }
    }
    &uri[cut + 1..]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Render what `verify` found.
pub fn render_verify(report: &VerifyReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let open = report
        .findings
        .iter()
        .filter(|f| f.accepted.is_none())
        .count();
    let verdict = if open == 0 {
        "verified"
    } else {
        "NOT verified"
    };
    match format {
        Format::Json => super::json(report, out),
        Format::Markdown => {
            writeln!(
                out,
                "**envaudit verify** `{}@{}`: {verdict}\n",
                md_cell(&report.image),
                report.manifest
            )?;
            writeln!(out, "| check | result |")?;
            writeln!(out, "|---|---|")?;
            for (check, result) in rows(report) {
                writeln!(out, "| {check} | {} |", md_cell(&result))?;
            }
            if !report.findings.is_empty() {
                writeln!(out)?;
                for f in &report.findings {
                    writeln!(
                        out,
                        "- **{}** `{}`: {}",
                        f.severity,
                        f.code.as_str(),
                        md_cell(&f.message)
                    )?;
                }
            }
            Ok(())
        }
        Format::Table => {
            writeln!(out, "{}@{}: {verdict}", report.image, report.manifest)?;
            let mut t = super::table();
            t.set_header(vec!["check", "result"]);
            for (check, result) in rows(report) {
                t.add_row(vec![check.to_owned(), result]);
            }
            writeln!(out, "{t}")?;
            super::findings_lines(&report.findings, out)
        }
    }
}

fn rows(report: &VerifyReport) -> Vec<(&'static str, String)> {
    let valid = report.attestations.iter().filter(|a| a.valid).count();
    let mut rows = vec![
        ("referrers", report.referrers.to_owned()),
        (
            "signed statements",
            format!(
                "{valid} of {} bundle{} verified",
                report.attestations.len(),
                plural(report.attestations.len())
            ),
        ),
        (
            "artifacts",
            format!(
                "{} of {} listed by a verified statement",
                report.artifacts.iter().filter(|a| a.listed).count(),
                report.artifacts.len()
            ),
        ),
    ];
    if let Some(env) = &report.environment {
        rows.push((
            "environment",
            match &report.moved_to {
                Some(now) => format!("{env}: its tag moved to {now}"),
                None => format!("{env}: its reference still names the locked manifest"),
            },
        ));
    }
    if let Some(s) = &report.snapshot {
        rows.push((
            "attested snapshot",
            format!(
                "{s}, {} run{}",
                report.runs.len(),
                plural(report.runs.len())
            ),
        ));
    }
    match &report.content {
        Some(c) if c.same() => rows.push((
            "content",
            format!(
                "the image holds the {} attested packages",
                c.attested_packages
            ),
        )),
        Some(c) => rows.push((
            "content",
            format!(
                "{} package change{}, {} altered",
                c.changes.len(),
                plural(c.changes.len()),
                c.altered.len()
            ),
        )),
        None => {}
    }
    rows
}
