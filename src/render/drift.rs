//! `envaudit drift`, `check`, `why` and `graph` output.

use std::io::{self, Write};

use serde::Serialize;

use super::{Format, md_cell};
use crate::analysis::drift::{Cause, DriftReport, EnvironmentDrift};
use crate::analysis::graph::DepGraph;
use crate::analysis::why::WhyReport;

/// Writes the result of `envaudit drift` and `check`: per environment, each changed package
/// with its attribution, then the findings; JSON is the [`DriftReport`] itself.
pub fn render_drift(report: &DriftReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => super::json(report, out),
        Format::Markdown => {
            let changed: usize = report
                .environments
                .iter()
                .map(|e| e.attributions.len())
                .sum();
            writeln!(
                out,
                "**envaudit drift** {} → {}: {changed} package change{}",
                md_cell(&report.old),
                md_cell(&report.new),
                if changed == 1 { "" } else { "s" }
            )?;
            for e in &report.environments {
                environment_markdown(e, out)?;
            }
            findings(report, out)
        }
        Format::Table => {
            writeln!(out, "{} → {}", report.old, report.new)?;
            for e in &report.environments {
                environment_table(e, out)?;
            }
            findings(report, out)
        }
    }
}

fn findings(report: &DriftReport, out: &mut dyn Write) -> io::Result<()> {
    super::findings_lines(&report.findings, out)
}

fn headline(e: &EnvironmentDrift) -> String {
    let d = &e.diff;
    let mut parts = vec![
        if d.definition_changed {
            "definition changed".to_owned()
        } else {
            "definition unchanged".to_owned()
        },
        if d.image_changed {
            "image changed".to_owned()
        } else {
            "image unchanged".to_owned()
        },
    ];
    if e.base_image_changed {
        parts.push("base image changed".to_owned());
    }
    if e.base_packages > 0 {
        parts.push(format!("{} packages from the base image", e.base_packages));
    }
    if d.silent_drift {
        parts.push("SILENT DRIFT".to_owned());
    }
    parts.join(", ")
}

fn cause(c: &Cause) -> &'static str {
    match c {
        Cause::BaseImage => "base image",
        Cause::DeclaredUnpinned => "declared unpinned",
        Cause::PinViolated => "PIN VIOLATED",
        Cause::Requirements => "unpinned requirement",
        Cause::FollowedPinned => "exact requirements",
        Cause::Unreached => "unreached",
    }
}

fn environment_table(e: &EnvironmentDrift, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n{}: {}", e.diff.name, headline(e))?;
    if e.attributions.is_empty() {
        return writeln!(out, "  no package changed");
    }
    let mut t = super::table();
    t.set_header(vec!["package", "change", "old", "new", "class", "why"]);
    for a in &e.attributions {
        let why = match a.cause {
            Cause::DeclaredUnpinned | Cause::Requirements | Cause::FollowedPinned => {
                a.path.clone().unwrap_or_else(|| cause(&a.cause).to_owned())
            }
            _ => cause(&a.cause).to_owned(),
        };
        t.add_row(vec![
            a.change.name.clone(),
            a.change.kind.as_str().to_owned(),
            a.change.old_version.clone().unwrap_or_else(|| "-".into()),
            a.change.new_version.clone().unwrap_or_else(|| "-".into()),
            a.class.as_str().to_owned(),
            why,
        ]);
    }
    writeln!(out, "{t}")
}

fn environment_markdown(e: &EnvironmentDrift, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n<details>")?;
    writeln!(
        out,
        "<summary><code>{}</code>: {}</summary>\n",
        e.diff.name.replace('<', "&lt;"),
        headline(e)
    )?;
    if !e.attributions.is_empty() {
        writeln!(out, "| package | change | old | new | class | why |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for a in &e.attributions {
            let why = a.path.clone().unwrap_or_else(|| cause(&a.cause).to_owned());
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                md_cell(&a.change.name),
                a.change.kind.as_str(),
                md_cell(a.change.old_version.as_deref().unwrap_or("-")),
                md_cell(a.change.new_version.as_deref().unwrap_or("-")),
                a.class.as_str(),
                md_cell(&why)
            )?;
        }
    }
    writeln!(out, "\n</details>")
}

/// Render `envaudit why` output (table, Markdown or JSON).
pub fn render_why(report: &WhyReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    if format == Format::Json {
        return super::json(report, out);
    }
    writeln!(
        out,
        "{} {} ({}) in `{}`{}",
        report.package,
        report.version,
        report.class.as_str(),
        report.environment,
        report
            .prefix
            .as_deref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default()
    )?;
    if report.paths.is_empty() {
        writeln!(out, "  no path from a declared dependency")?;
    }
    for p in &report.paths {
        writeln!(out, "  {p}")?;
    }
    if !report.required_by.is_empty() {
        writeln!(out, "required by:")?;
        for (from, req) in &report.required_by {
            writeln!(out, "  {from}: {req}")?;
        }
    }
    Ok(())
}

/// `envaudit graph`: an indented tree from the roots, Graphviz dot, or JSON.
pub fn render_graph(g: &DepGraph<'_>, format: GraphFormat, out: &mut dyn Write) -> io::Result<()> {
    let label = |i: usize| {
        let p = g.package(i);
        format!("{} {}", p.name, p.version)
    };
    match format {
        GraphFormat::Json => {
            #[derive(Serialize)]
            struct Node {
                id: usize,
                ecosystem: String,
                name: String,
                version: String,
                prefix: Option<String>,
                class: crate::analysis::graph::Class,
            }
            #[derive(Serialize)]
            struct Edge {
                from: usize,
                to: usize,
                requirement: String,
                pin: crate::model::pin::PinState,
            }
            #[derive(Serialize)]
            struct Json {
                schema_version: u32,
                roots: Vec<crate::analysis::graph::Root>,
                nodes: Vec<Node>,
                edges: Vec<Edge>,
            }
            let n = g.snapshot.packages.len();
            let nodes = (0..n)
                .map(|i| {
                    let p = g.package(i);
                    Node {
                        id: i,
                        ecosystem: p.ecosystem.to_string(),
                        name: p.name.to_string(),
                        version: p.version.clone(),
                        prefix: p.prefix.clone(),
                        class: g.class(i),
                    }
                })
                .collect();
            let edges = (0..n)
                .flat_map(|i| {
                    g.outgoing(i).into_iter().map(move |(j, r)| Edge {
                        from: i,
                        to: j,
                        requirement: r.text.clone(),
                        pin: r.pin,
                    })
                })
                .collect();
            super::json(
                &Json {
                    schema_version: 1,
                    roots: g.roots.clone(),
                    nodes,
                    edges,
                },
                out,
            )
        }
        GraphFormat::Dot => {
            writeln!(out, "digraph envaudit {{")?;
            writeln!(out, "  rankdir=LR;")?;
            writeln!(out, "  node [shape=box];")?;
            writeln!(out, "  \"definition\" [shape=ellipse];")?;
            for i in 0..g.snapshot.packages.len() {
                let style = match g.class(i) {
                    crate::analysis::graph::Class::BaseImage => ", style=dashed",
                    crate::analysis::graph::Class::Pinned => ", style=bold",
                    _ => "",
                };
                writeln!(out, "  n{i} [label=\"{}\"{style}];", dot(&label(i)))?;
            }
            for r in &g.roots {
                writeln!(
                    out,
                    "  \"definition\" -> n{} [label=\"{}\"];",
                    r.node,
                    dot(&r.spec)
                )?;
            }
            for i in 0..g.snapshot.packages.len() {
                for (j, r) in g.outgoing(i) {
                    let style = if r.pin.is_pinned() {
                        ""
                    } else {
                        ", style=dashed"
                    };
                    writeln!(
                        out,
                        "  n{i} -> n{j} [label=\"{}\"{style}];",
                        dot(r.text.split(';').next().unwrap_or(&r.text).trim())
                    )?;
                }
            }
            writeln!(out, "}}")
        }
        GraphFormat::Tree => {
            let mut seen = vec![false; g.snapshot.packages.len()];
            for r in &g.roots {
                writeln!(out, "{} [{}] {}", label(r.node), r.pin, r.spec)?;
                tree(g, r.node, 1, &mut seen, out)?;
            }
            let unreached: Vec<String> = (0..g.snapshot.packages.len())
                .filter(|&i| g.class(i) == crate::analysis::graph::Class::Unreached)
                .map(label)
                .collect();
            if !unreached.is_empty() {
                writeln!(
                    out,
                    "not reached from the definition: {}",
                    unreached.join(", ")
                )?;
            }
            Ok(())
        }
    }
}

fn tree(
    g: &DepGraph<'_>,
    i: usize,
    depth: usize,
    seen: &mut [bool],
    out: &mut dyn Write,
) -> io::Result<()> {
    let first = !seen[i];
    seen[i] = true;
    for (j, r) in g.outgoing(i) {
        let p = g.package(j);
        let again = if seen[j] { " (shown above)" } else { "" };
        writeln!(
            out,
            "{}{} {} [{}] {}{again}",
            "  ".repeat(depth),
            p.name,
            p.version,
            r.pin,
            r.text.split(';').next().unwrap_or(&r.text).trim()
        )?;
        if first && !seen[j] && depth < 64 {
            tree(g, j, depth + 1, seen, out)?;
        }
    }
    Ok(())
}

fn dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The output forms of [`render_graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// An indented tree from the declared roots, for a terminal.
    Tree,
    /// A Graphviz `digraph`: dashed nodes for base-image packages, bold ones for pinned.
    Dot,
    /// Roots, nodes and edges as JSON, with `schema_version`.
    Json,
}
