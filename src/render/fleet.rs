//! `fleet merge` and `fleet query` output: tables (comfy-table), Markdown, CSV (RFC 4180)
//! and JSON, from the values `crate::fleet` returns.

use std::io::{self, Write};

use serde::Serialize;

use crate::fleet::db::{ImageSummary, MergeStats, Move, PackageMatch, Summary};
use crate::fleet::locked::{Locked, LockedEnvironment, LockedRun};

/// Output formats of the fleet commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetFormat {
    /// A table, for a terminal.
    Table,
    /// Pretty-printed JSON.
    Json,
    /// A Markdown table.
    Markdown,
    /// CSV with a header row (RFC 4180 quoting).
    Csv,
}

/// The JSON schema version of the fleet outputs.
const JSON_SCHEMA_VERSION: u32 = 1;

/// Rows with a header, written as a table, Markdown or CSV.
fn rows(
    format: FleetFormat,
    header: &[&str],
    rows: &[Vec<String>],
    empty: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        FleetFormat::Table => {
            if rows.is_empty() {
                return writeln!(out, "{empty}");
            }
            let mut t = super::table();
            t.set_header(header.to_vec());
            for r in rows {
                t.add_row(r.clone());
            }
            writeln!(out, "{t}")
        }
        FleetFormat::Markdown => {
            if rows.is_empty() {
                return writeln!(out, "{empty}");
            }
            writeln!(out, "| {} |", header.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(header.len()))?;
            for r in rows {
                let cells: Vec<String> = r.iter().map(|c| super::md_cell(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            Ok(())
        }
        FleetFormat::Csv => {
            let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
                cells.map(csv_cell).collect::<Vec<_>>().join(",")
            };
            write!(out, "{}\r\n", line(&mut header.iter().copied()))?;
            for r in rows {
                write!(out, "{}\r\n", line(&mut r.iter().map(String::as_str)))?;
            }
            Ok(())
        }
        // The commands write JSON from their values; rows are objects keyed by the header.
        FleetFormat::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|r| {
                    header
                        .iter()
                        .zip(r)
                        .map(|(h, c)| ((*h).to_owned(), serde_json::Value::from(c.as_str())))
                        .collect()
                })
                .collect();
            super::json(&objects, out)
        }
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A table cell for a list: one item a line in tables, `; `-joined elsewhere.
fn list(format: FleetFormat, items: &[String]) -> String {
    match format {
        FleetFormat::Table => items.join("\n"),
        _ => items.join("; "),
    }
}

fn short(format: FleetFormat, digest: &str) -> String {
    match format {
        FleetFormat::Table => super::short_digest(Some(digest)),
        _ => digest.to_owned(),
    }
}

/// What `fleet merge` did, per file.
pub fn render_fleet_merge(
    merged: &[(String, MergeStats, bool)],
    format: FleetFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == FleetFormat::Json {
        #[derive(Serialize)]
        struct File<'a> {
            file: &'a str,
            #[serde(flatten)]
            stats: &'a MergeStats,
            torn_last_line: bool,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            files: Vec<File<'a>>,
        }
        let files = merged
            .iter()
            .map(|(file, stats, torn)| File {
                file,
                stats,
                torn_last_line: *torn,
            })
            .collect();
        return super::json(
            &Json {
                schema_version: JSON_SCHEMA_VERSION,
                files,
            },
            out,
        );
    }
    let body: Vec<Vec<String>> = merged
        .iter()
        .map(|(file, s, torn)| {
            vec![
                file.clone(),
                s.records.to_string(),
                s.new_images.to_string(),
                s.replaced_images.to_string(),
                s.new_observations.to_string(),
                s.moved_references.to_string(),
                s.new_unreadable.to_string(),
                if *torn { "yes" } else { "" }.to_owned(),
            ]
        })
        .collect();
    rows(
        format,
        &[
            "file",
            "records",
            "new images",
            "replaced",
            "new observations",
            "moved",
            "unreadable",
            "torn last line",
        ],
        &body,
        "no files",
        out,
    )
}

/// The packages a query matched, with the locked environments and runs of their images.
pub fn render_fleet_matches(
    matches: &[PackageMatch],
    incomplete: &[ImageSummary],
    locked: Option<&Locked>,
    format: FleetFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == FleetFormat::Json {
        #[derive(Serialize)]
        struct Match<'a> {
            #[serde(flatten)]
            found: &'a PackageMatch,
            #[serde(skip_serializing_if = "Option::is_none")]
            environments: Option<Vec<&'a LockedEnvironment>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            runs: Option<Vec<&'a LockedRun>>,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            matches: Vec<Match<'a>>,
            /// Images read incompletely: they may hold matching packages not listed.
            incomplete: &'a [ImageSummary],
        }
        let matches = matches
            .iter()
            .map(|m| Match {
                found: m,
                environments: locked.map(|l| l.environments_of(&m.manifest).collect()),
                runs: locked.map(|l| l.runs_of(&m.manifest).collect()),
            })
            .collect();
        return super::json(
            &Json {
                schema_version: JSON_SCHEMA_VERSION,
                matches,
                incomplete,
            },
            out,
        );
    }
    let mut header = vec![
        "query",
        "ecosystem",
        "name",
        "version",
        "prefix",
        "image",
        "references",
    ];
    if locked.is_some() {
        header.extend(["environments", "models"]);
    }
    let body: Vec<Vec<String>> = matches
        .iter()
        .map(|m| {
            let version = match &m.build {
                Some(b) if !b.is_empty() => format!("{} {b}", m.version),
                _ => m.version.clone(),
            };
            let mut row = vec![
                m.query.clone(),
                m.ecosystem.clone(),
                m.name.clone(),
                version,
                m.prefix.clone().unwrap_or_default(),
                short(format, &m.manifest),
                list(format, &m.references),
            ];
            if let Some(l) = locked {
                let envs: Vec<String> = l
                    .environments_of(&m.manifest)
                    .map(|e| format!("{}#{}", e.lockfile, e.environment))
                    .collect();
                let models: Vec<String> = l
                    .runs_of(&m.manifest)
                    .map(|r| match &r.model {
                        Some(model) => format!("{model} (run {})", r.run),
                        None => format!("run {}", r.run),
                    })
                    .collect();
                row.push(list(format, &envs));
                row.push(list(format, &models));
            }
            row
        })
        .collect();
    rows(
        format,
        &header,
        &body,
        "no image holds a matching package",
        out,
    )?;
    // CSV stays one table; the caveat goes to standard error from the CLI as well.
    if !incomplete.is_empty() && format != FleetFormat::Csv {
        writeln!(
            out,
            "\n{} image(s) were read incompletely and may hold matching packages not listed here:",
            incomplete.len()
        )?;
        for i in incomplete {
            let refs = i.references_text();
            let bullet = if format == FleetFormat::Markdown {
                "- "
            } else {
                "  "
            };
            writeln!(
                out,
                "{bullet}{} ({refs}): {}",
                short(format, &i.manifest),
                i.completeness
            )?;
        }
    }
    Ok(())
}

/// References whose manifest changed between scans.
pub fn render_fleet_moves(
    moves: &[Move],
    format: FleetFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == FleetFormat::Json {
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            moved: &'a [Move],
        }
        return super::json(
            &Json {
                schema_version: JSON_SCHEMA_VERSION,
                moved: moves,
            },
            out,
        );
    }
    let body: Vec<Vec<String>> = moves
        .iter()
        .map(|m| {
            vec![
                m.reference.clone(),
                short(format, &m.from),
                short(format, &m.to),
                m.from_scanned_at.clone(),
                m.to_scanned_at.clone(),
            ]
        })
        .collect();
    rows(
        format,
        &["reference", "from", "to", "seen at from", "seen at to"],
        &body,
        "no reference moved",
        out,
    )
}

/// Images no lockfile names.
pub fn render_fleet_images(
    images: &[ImageSummary],
    format: FleetFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == FleetFormat::Json {
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            unlocked: &'a [ImageSummary],
        }
        return super::json(
            &Json {
                schema_version: JSON_SCHEMA_VERSION,
                unlocked: images,
            },
            out,
        );
    }
    let body: Vec<Vec<String>> = images
        .iter()
        .map(|i| {
            vec![
                short(format, &i.manifest),
                i.registry.clone(),
                list(format, &i.references),
                i.last_scanned.clone(),
                i.completeness.clone(),
            ]
        })
        .collect();
    rows(
        format,
        &[
            "image",
            "registry",
            "references",
            "last scanned",
            "completeness",
        ],
        &body,
        "every image is locked",
        out,
    )
}

/// Counts by ecosystem, licence and prefix.
pub fn render_fleet_summary(
    summary: &Summary,
    format: FleetFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    if format == FleetFormat::Json {
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            #[serde(flatten)]
            summary: &'a Summary,
        }
        return super::json(
            &Json {
                schema_version: JSON_SCHEMA_VERSION,
                summary,
            },
            out,
        );
    }
    // One table (one CSV) with the group as its first column.
    let mut body = vec![
        vec![
            "total".to_owned(),
            "images".to_owned(),
            String::new(),
            summary.images.to_string(),
        ],
        vec![
            "total".to_owned(),
            "references".to_owned(),
            String::new(),
            summary.references.to_string(),
        ],
        vec![
            "total".to_owned(),
            "unreadable references".to_owned(),
            String::new(),
            summary.unreadable.to_string(),
        ],
    ];
    for (group, counts) in [
        ("ecosystem", &summary.ecosystems),
        ("license", &summary.licenses),
        ("prefix", &summary.prefixes),
    ] {
        for c in counts {
            body.push(vec![
                group.to_owned(),
                c.key.clone(),
                c.packages.to_string(),
                c.images.to_string(),
            ]);
        }
    }
    rows(
        format,
        &["group", "key", "packages", "images"],
        &body,
        "empty inventory",
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_cell("a"), "a");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        let mut out = Vec::new();
        rows(
            FleetFormat::Csv,
            &["x", "y"],
            &[vec!["1".into(), "a\nb".into()]],
            "",
            &mut out,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "x,y\r\n1,\"a\nb\"\r\n");
    }
}
