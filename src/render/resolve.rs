use std::io::{self, Write};

use serde::Serialize;

use super::Format;
use crate::image::{Descriptor, ImageIdentity, Layer, ResolveReport};
use crate::model::Platform;

#[derive(Serialize)]
struct ResolveJson<'a> {
    schema_version: u32,
    images: Vec<ImageJson<'a>>,
    errors: Vec<ErrorJson<'a>>,
}

#[derive(Serialize)]
struct ImageJson<'a> {
    reference: String,
    identity: ImageIdentity,
    index: Option<&'a Descriptor>,
    manifest: Option<&'a Descriptor>,
    config: &'a Descriptor,
    platform: Option<&'a Platform>,
    layers: &'a [Layer],
    layers_verified: bool,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    reference: &'a str,
    error: &'a str,
}

/// Render `envaudit resolve` output (table or JSON; Markdown is the table in a code block).
pub fn render_resolve(
    report: &ResolveReport,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            let dto = ResolveJson {
                schema_version: 1,
                images: report
                    .images
                    .iter()
                    .map(|i| ImageJson {
                        reference: i.source.to_string(),
                        identity: i.identity(),
                        index: i.index.as_ref(),
                        manifest: i.manifest.as_ref(),
                        config: &i.config,
                        platform: i.platform.as_ref(),
                        layers: &i.layers,
                        layers_verified: report.layers_verified,
                    })
                    .collect(),
                errors: report
                    .failures
                    .iter()
                    .map(|(r, e)| ErrorJson {
                        reference: r,
                        error: e,
                    })
                    .collect(),
            };
            super::json(&dto, out)
        }
        Format::Table => table(report, out),
        Format::Markdown => {
            writeln!(out, "```")?;
            table(report, out)?;
            writeln!(out, "```")
        }
    }
}

fn table(report: &ResolveReport, out: &mut dyn Write) -> io::Result<()> {
    for (n, i) in report.images.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", i.source)?;
        let row = |out: &mut dyn Write, label: &str, d: &Descriptor| {
            writeln!(
                out,
                "  {label:<9} {}  {}  {}",
                d.digest,
                d.media_type,
                human_size(d.size)
            )
        };
        if let Some(d) = &i.index {
            row(out, "index", d)?;
        }
        match &i.manifest {
            Some(d) => row(out, "manifest", d)?,
            None => writeln!(out, "  {:<9} none (legacy docker archive)", "manifest")?,
        }
        row(out, "config", &i.config)?;
        match &i.platform {
            Some(p) => writeln!(out, "  {:<9} {p}", "platform")?,
            None => writeln!(out, "  {:<9} unknown", "platform")?,
        }
        writeln!(
            out,
            "  {:<9} {}, {}{}",
            "layers",
            i.layers.len(),
            human_size(i.layers_size()),
            if report.layers_verified {
                ", all verified"
            } else {
                ""
            }
        )?;
        for l in &i.layers {
            writeln!(out, "    {}  diff_id {}", l.digest, l.diff_id)?;
        }
    }
    Ok(())
}

/// `1536` → `1.5 KiB`.
#[allow(
    clippy::cast_precision_loss,
    reason = "a size shown with one decimal; an f64 holds far more digits than that shows"
)]
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 30), "5.0 GiB");
    }
}
