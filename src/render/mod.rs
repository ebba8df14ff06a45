//! Renderers: every command builds a report value first; these turn it into a table,
//! Markdown or JSON on any `io::Write`.

mod build;
mod catalog;
mod compliance;
mod diff;
mod drift;
mod evidence;
mod fleet;
mod hash;
mod lint;
mod predict;
mod resolve;
mod sbom;

use std::io::{self, Write};

pub use build::render_build;
pub use catalog::render_catalog;
pub use compliance::{render_audit_html, render_audit_json, render_audit_markdown};
pub(crate) use diff::short as short_digest;
pub use diff::{render_diff, render_log, summary_line};
pub use drift::{GraphFormat, render_drift, render_graph, render_why};
pub use evidence::{render_attest, render_verify};
pub use fleet::{
    FleetFormat, render_fleet_images, render_fleet_matches, render_fleet_merge, render_fleet_moves,
    render_fleet_summary,
};
pub use hash::render_hash;
pub use lint::{render_lint, render_lint_set};
pub use predict::render_predict;
pub use resolve::render_resolve;
pub use sbom::{purl, render_cyclonedx, render_snapshot_cyclonedx, render_spdx};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text and tables, for a terminal.
    Table,
    /// Pretty-printed JSON of the report value; never coloured.
    Json,
    /// Markdown, for pull-request comments and documents.
    Markdown,
}

/// Rendering options shared by the renderers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Use colour (never in JSON).
    pub color: bool,
    /// Show everything (`--explain`).
    pub explain: bool,
}

pub(crate) fn json<T: serde::Serialize>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

pub(crate) fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if !t.is_tty() {
        // Piped output still wraps, at a width that reads well in logs and PR comments.
        t.set_width(120);
    }
    t
}

/// One `severity[code]: [FILE:LINE:COL: ]message` line per finding, with its acceptance.
pub(crate) fn findings_lines(
    findings: &[crate::diag::Finding],
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in findings {
        let at = f
            .origin
            .as_ref()
            .map(|o| format!("{o}: "))
            .unwrap_or_default();
        let accepted = f
            .accepted
            .as_deref()
            .map(|r| format!(" (accepted: {r})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}[{}]: {at}{}{accepted}",
            f.severity, f.code, f.message
        )?;
    }
    Ok(())
}

/// Escape text for a Markdown table cell.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
