use std::io::{self, Write};

use super::{Format, Style};
use crate::hash::HashReport;

/// Render `envaudit hash` output.
pub fn render_hash(
    report: &HashReport,
    format: Format,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => super::json(report, out),
        Format::Table => {
            writeln!(out, "{}  {}", report.definition_hash, report.path.display())?;
            writeln!(out, "kind: {}", report.kind)?;
            match &report.azureml_v2_anonymous_version {
                Some(v) => writeln!(out, "azureml v2 anonymous version: {v}")?,
                None => writeln!(out, "azureml v2 anonymous version: none")?,
            }
            if let Some(v1) = &report.azureml_v1_image {
                writeln!(
                    out,
                    "azureml v1 image: {} (hash {}, {})",
                    v1.image()
                        .or_else(|| v1.image_name.clone())
                        .unwrap_or_default(),
                    v1.image_hash.as_deref().unwrap_or("unknown"),
                    if v1.exists {
                        "exists in the registry"
                    } else {
                        "not built yet"
                    }
                )?;
            }
            if style.explain {
                let mut t = super::table();
                t.set_header(vec!["#", "ingredient", "value", "declared at"]);
                for (i, ing) in report.ingredients.iter().enumerate() {
                    t.add_row(vec![
                        (i + 1).to_string(),
                        ing.kind.to_owned(),
                        ing.value.clone(),
                        ing.origin
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    ]);
                }
                writeln!(out, "{t}")?;
                for n in &report.notes {
                    writeln!(out, "note: {n}")?;
                }
            }
            Ok(())
        }
        Format::Markdown => {
            writeln!(
                out,
                "**definition hash** `{}` ({})",
                report.definition_hash, report.kind
            )?;
            if style.explain {
                writeln!(out, "\n| # | ingredient | value |\n|---|---|---|")?;
                for (i, ing) in report.ingredients.iter().enumerate() {
                    writeln!(
                        out,
                        "| {} | {} | `{}` |",
                        i + 1,
                        ing.kind,
                        super::md_cell(&ing.value)
                    )?;
                }
            }
            Ok(())
        }
    }
}
