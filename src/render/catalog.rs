use std::io::{self, Write};

use crate::catalog::Catalog;
use crate::layer::Completeness;

use super::Format;

/// Render `envaudit catalog` output; `findings` are the scan's (a partial catalog, a
/// `diff_id` mismatch, the layer cache), in the JSON as `scan_findings` (the table's are
/// printed on standard error as they happen).
pub fn render_catalog(
    source: &str,
    catalog: &Catalog,
    findings: &[crate::diag::Finding],
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                source: &'a str,
                #[serde(flatten)]
                catalog: &'a Catalog,
                scan_findings: &'a [crate::diag::Finding],
            }
            super::json(
                &Json {
                    schema_version: 1,
                    source,
                    catalog,
                    scan_findings: findings,
                },
                out,
            )
        }
        Format::Table | Format::Markdown => {
            if !catalog.packages.is_empty() {
                let mut t = super::table();
                t.set_header(vec!["ecosystem", "name", "version", "environment", "layer"]);
                for p in &catalog.packages {
                    t.add_row(vec![
                        p.ecosystem.to_string(),
                        p.display_name.clone(),
                        p.version.clone(),
                        p.environment.clone().unwrap_or_default(),
                        p.location
                            .layer
                            .as_ref()
                            .map(|l| match l.from_base {
                                Some(true) => format!("{} (base)", l.index),
                                _ => l.index.to_string(),
                            })
                            .unwrap_or_default(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
            writeln!(
                out,
                "{source}: {} package{} in {} environment{}",
                catalog.packages.len(),
                if catalog.packages.len() == 1 { "" } else { "s" },
                catalog.environments.len(),
                if catalog.environments.len() == 1 {
                    ""
                } else {
                    "s"
                },
            )?;
            for f in &catalog.filesystem_findings {
                writeln!(out, "note: {f}")?;
            }
            for f in &catalog.findings {
                writeln!(out, "note: {}: `{}`: {}", f.cataloger, f.path, f.message)?;
            }
            if let Completeness::Partial(reason) = &catalog.completeness {
                writeln!(out, "results may be incomplete: {reason}")?;
            }
            Ok(())
        }
    }
}
