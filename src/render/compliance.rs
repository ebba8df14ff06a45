//! `envaudit report`: the compliance report as Markdown, JSON or one self-contained HTML
//! page (inline CSS and JavaScript, no network).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::md_cell;
use crate::analysis::compliance::{AuditReport, RunAudit};

fn yes_no(ok: bool) -> &'static str {
    if ok { "yes" } else { "no" }
}

fn verdict_word(ok: bool) -> &'static str {
    if ok {
        "reproducible"
    } else {
        "not reproducible"
    }
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Writes the compliance report as pretty-printed JSON, the [`AuditReport`] as it
/// serialises, with a final newline.
pub fn render_audit_json(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    super::json(report, out)
}

/// Writes the compliance report as a Markdown document: the lockfile it came from and the
/// verdict, then a section per run with its checks, identity, image, unpinned declarations,
/// changes since the run and installed packages.
pub fn render_audit_markdown(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Compliance report: model `{}`\n", report.model)?;
    writeln!(
        out,
        "Generated {} by {} from `{}` (`{}`{}{}).\n",
        report.generated,
        report.generator,
        report.lockfile.path,
        report.lockfile.sha256,
        report
            .lockfile
            .commit
            .as_deref()
            .map(|c| format!(", commit `{}`", short(c)))
            .unwrap_or_default(),
        if report.lockfile.modified {
            ", modified since that commit"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "**Verdict: {}** ({} run{})\n",
        verdict_word(report.reproducible),
        report.runs.len(),
        if report.runs.len() == 1 { "" } else { "s" }
    )?;
    if report.runs.is_empty() {
        writeln!(out, "No run of this model is recorded in the lockfile.")?;
    }
    for r in &report.runs {
        run_markdown(r, out)?;
    }
    Ok(())
}

fn run_markdown(r: &RunAudit, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## Run `{}`: {}\n",
        r.run.run,
        verdict_word(r.verdict.reproducible)
    )?;
    writeln!(
        out,
        "Model `{}`, environment `{}`, recorded {}{}.\n",
        r.run.model.as_deref().unwrap_or("?"),
        r.environment,
        r.run.time,
        r.run
            .commit
            .as_deref()
            .map(|c| format!(" at commit `{}`", short(c)))
            .unwrap_or_default()
    )?;
    writeln!(out, "| check | ok | detail |\n|---|---|---|")?;
    for c in &r.verdict.checks {
        writeln!(
            out,
            "| {} | {} | {} |",
            c.check,
            if c.ok { "✅" } else { "❌" },
            md_cell(&c.detail)
        )?;
    }
    let i = &r.identity;
    writeln!(out, "\n### Identity\n")?;
    writeln!(out, "- snapshot: `{}`", i.snapshot)?;
    writeln!(
        out,
        "- definition: `{}` ({})",
        i.definition, i.definition_kind
    )?;
    for f in &i.definition_files {
        writeln!(out, "  - `{}`: git blob `{}`", f.path, f.blob)?;
    }
    writeln!(out, "- definition hash: `{}`", i.definition_hash)?;
    writeln!(
        out,
        "- Azure ML v2 anonymous version: {}",
        opt(i
            .azureml_v2_anonymous_version
            .as_ref()
            .map(|v| format!("`{v}`")))
    )?;
    writeln!(
        out,
        "- Azure ML v1 image: {}",
        opt(i.azureml_v1_image.as_ref().map(|v| format!("`{v}`")))
    )?;
    let m = &r.image;
    writeln!(out, "\n### Image\n")?;
    writeln!(
        out,
        "- reference: {}",
        opt(m.reference.as_ref().map(|v| format!("`{v}`")))
    )?;
    writeln!(
        out,
        "- manifest: {}",
        opt(m.manifest.as_ref().map(|v| format!("`{v}`")))
    )?;
    writeln!(
        out,
        "- config: {}",
        opt(m.config.as_ref().map(|v| format!("`{v}`")))
    )?;
    if let Some(ix) = &m.index {
        writeln!(out, "- index: `{ix}`")?;
    }
    writeln!(
        out,
        "- platform: {}, {} layers",
        opt(m.platform.as_ref()),
        m.layers
    )?;
    writeln!(
        out,
        "- base image: {}{}",
        opt(m.base_image.as_ref().map(|v| format!("`{v}`"))),
        m.base_image_digest
            .as_ref()
            .map(|d| format!(" (`{d}`)"))
            .unwrap_or_default()
    )?;
    if let Some(root) = &m.rootfs {
        writeln!(out, "- cataloged from the live filesystem `{root}`")?;
    }
    writeln!(out, "\n### Unpinned declarations\n")?;
    if r.unpinned.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(
            out,
            "| ecosystem | name | declared | pin |\n|---|---|---|---|"
        )?;
        for d in &r.unpinned {
            writeln!(
                out,
                "| {} | {} | `{}` | {} |",
                d.ecosystem,
                md_cell(d.name.as_ref().map_or("", |n| n.as_str())),
                md_cell(&d.spec),
                d.pin
            )?;
        }
    }
    writeln!(out, "\n### Changes since the run\n")?;
    if r.history.is_empty() {
        writeln!(out, "None recorded.")?;
    } else {
        writeln!(
            out,
            "| commit | time | definition | image | packages | silent drift |\n|---|---|---|---|---|---|"
        )?;
        for e in &r.history {
            writeln!(
                out,
                "| `{}` {} | {} | {} | {} | {} | {} |",
                short(&e.commit),
                md_cell(&e.subject),
                e.time,
                if e.definition_changed {
                    "changed"
                } else {
                    "same"
                },
                if e.image_changed { "changed" } else { "same" },
                e.package_changes,
                if e.silent_drift { "**yes**" } else { "no" }
            )?;
        }
    }
    let c = &r.counts;
    writeln!(
        out,
        "\n### Installed packages\n\n<details><summary>{} packages: {} pinned, {} declared unpinned, {} transitive, {} from the base image, {} required by nothing</summary>\n",
        c.packages, c.pinned, c.declared_unpinned, c.transitive, c.base_image, c.unreached
    )?;
    writeln!(
        out,
        "| ecosystem | name | version | class | pin | licenses | hashes | prefix |\n|---|---|---|---|---|---|---|---|"
    )?;
    for p in &r.packages {
        let k = &p.package;
        let version = match &k.build {
            Some(b) => format!("{} ({b})", k.version),
            None => k.version.clone(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            k.ecosystem,
            md_cell(k.name.as_str()),
            md_cell(&version),
            p.class.as_str(),
            p.pin.map_or("", |p| p.as_str()),
            md_cell(&k.licenses.join(", ")),
            if k.sha256.is_some() || k.record.is_some() {
                "yes"
            } else {
                ""
            },
            md_cell(k.prefix.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "\n</details>\n")
}

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
header,main{max-width:1200px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px;word-break:break-all}
.meta{color:#57606a}
.verdict{display:inline-block;padding:6px 14px;border-radius:16px;font-weight:600;margin:12px 0}
.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
th.sortable{cursor:pointer;user-select:none}
th.sortable::after{content:" \2195";color:#8c959f}
th[aria-sort=ascending]::after{content:" \2191"}th[aria-sort=descending]::after{content:" \2193"}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:6px 0}
dt{color:#57606a}dd{margin:0}
.controls{display:flex;gap:12px;align-items:center;margin:8px 0}
.controls input{flex:1;max-width:420px;padding:5px 8px;border:1px solid #d0d7de;border-radius:6px}
ol.timeline{list-style:none;padding-left:0;border-left:3px solid #d0d7de;margin-left:8px}
ol.timeline li{position:relative;padding:4px 0 10px 16px}
ol.timeline li::before{content:"";position:absolute;left:-8px;top:9px;width:13px;height:13px;border-radius:50%;background:#8c959f}
ol.timeline li.run::before{background:#0969da}ol.timeline li.silent::before{background:#cf222e}
.tag{font-size:12px;padding:1px 6px;border-radius:10px;background:#eaeef2}
.tag.silent{background:#ffebe9;color:#a40e26}
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  function cellValue(row, i) {
    var c = row.cells[i];
    return c ? (c.getAttribute("data-sort") || c.textContent || "") : "";
  }
  function compare(a, b) {
    var na = Number(a), nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortBy(table, th, index) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (x, y) {
      var r = compare(cellValue(x, index), cellValue(y, index));
      return ascending ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function applyFilter(table, text, counter) {
    var words = text.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var hay = row.textContent.toLowerCase();
      var match = words.every(function (w) { return hay.indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    if (counter) { counter.textContent = String(shown); }
    return shown;
  }
  var initial = "";
  var m = /(?:^#|&)filter=([^&]*)/.exec(window.location.hash);
  if (m) { initial = decodeURIComponent(m[1].replace(/\+/g, " ")); }
  Array.prototype.forEach.call(document.querySelectorAll("table.packages"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.classList.add("sortable");
      th.addEventListener("click", function () { sortBy(table, th, i); });
    });
    var input = document.getElementById(table.getAttribute("data-filter"));
    var counter = document.getElementById(table.getAttribute("data-count"));
    if (input) {
      input.addEventListener("input", function () { applyFilter(table, input.value, counter); });
      if (initial) { input.value = initial; }
      applyFilter(table, input.value, counter);
    }
  });
  document.body.setAttribute("data-ready", "true");
  if (window.console) { console.info("envaudit report ready"); }
})();
"#;

/// Writes the compliance report as one self-contained HTML page (inline CSS and JavaScript,
/// no network access): the Markdown form's sections, with a filter over the packages.
pub fn render_audit_html(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::new();
    let title = format!("envaudit compliance report: {}", report.model);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = write!(
        h,
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    h.push_str("<header>\n");
    let _ = writeln!(
        h,
        "<h1>Compliance report: model <code>{}</code></h1>",
        esc(&report.model)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">Generated {} by {} from <code>{}</code> (<code>{}</code>{}{}).</p>",
        esc(&report.generated),
        esc(&report.generator),
        esc(&report.lockfile.path),
        esc(&report.lockfile.sha256.to_string()),
        report
            .lockfile
            .commit
            .as_deref()
            .map(|c| format!(", commit <code>{}</code>", esc(short(c))))
            .unwrap_or_default(),
        if report.lockfile.modified {
            ", modified since that commit"
        } else {
            ""
        }
    );
    let _ = write!(
        h,
        "<div class=\"verdict {}\" id=\"verdict\">{}</div> <span class=\"meta\">{} run{}</span>\n</header>\n<main>\n",
        if report.reproducible { "ok" } else { "bad" },
        verdict_word(report.reproducible),
        report.runs.len(),
        if report.runs.len() == 1 { "" } else { "s" }
    );
    if report.runs.is_empty() {
        h.push_str("<p>No run of this model is recorded in the lockfile.</p>\n");
    }
    for (n, r) in report.runs.iter().enumerate() {
        run_html(n, r, &mut h);
    }
    let _ = write!(h, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out.write_all(h.as_bytes())
}

fn run_html(n: usize, r: &RunAudit, h: &mut String) {
    let _ = write!(
        h,
        "<section id=\"run-{n}\">\n<h2>Run <code>{}</code>: <span class=\"verdict {}\">{}</span></h2>\n",
        esc(&r.run.run),
        if r.verdict.reproducible { "ok" } else { "bad" },
        verdict_word(r.verdict.reproducible)
    );
    let _ = writeln!(
        h,
        "<p>Model <code>{}</code>, environment <code>{}</code>, recorded {}{}.</p>",
        esc(r.run.model.as_deref().unwrap_or("?")),
        esc(&r.environment),
        esc(&r.run.time),
        r.run
            .commit
            .as_deref()
            .map(|c| format!(" at commit <code>{}</code>", esc(short(c))))
            .unwrap_or_default()
    );
    h.push_str("<h3>Verdict</h3>\n<table class=\"checks\"><thead><tr><th>check</th><th>ok</th><th>detail</th></tr></thead><tbody>\n");
    for c in &r.verdict.checks {
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            if c.ok { "ok" } else { "bad" },
            esc(c.check),
            yes_no(c.ok),
            esc(&c.detail)
        );
    }
    h.push_str("</tbody></table>\n");
    let i = &r.identity;
    let code = |v: &str| format!("<code>{}</code>", esc(v));
    let mut dl = vec![
        ("snapshot", code(&i.snapshot)),
        (
            "definition",
            format!("{} ({})", code(&i.definition), esc(&i.definition_kind)),
        ),
    ];
    for f in &i.definition_files {
        dl.push((
            "definition file",
            format!("{} git blob {}", code(&f.path), code(&f.blob)),
        ));
    }
    dl.push(("definition hash", code(&i.definition_hash.to_string())));
    dl.push((
        "Azure ML v2 anonymous version",
        i.azureml_v2_anonymous_version
            .as_deref()
            .map_or_else(|| "—".to_owned(), code),
    ));
    dl.push((
        "Azure ML v1 image",
        i.azureml_v1_image
            .as_deref()
            .map_or_else(|| "—".to_owned(), code),
    ));
    let m = &r.image;
    let digest = |d: &Option<crate::model::Digest>| {
        d.as_ref()
            .map_or_else(|| "—".to_owned(), |d| code(&d.to_string()))
    };
    dl.push((
        "image",
        m.reference.as_deref().map_or_else(|| "—".to_owned(), code),
    ));
    dl.push(("manifest", digest(&m.manifest)));
    dl.push(("config", digest(&m.config)));
    if m.index.is_some() {
        dl.push(("index", digest(&m.index)));
    }
    dl.push((
        "platform",
        format!(
            "{}, {} layers",
            esc(m.platform.as_deref().unwrap_or("—")),
            m.layers
        ),
    ));
    dl.push((
        "base image",
        format!(
            "{} {}",
            m.base_image.as_deref().map_or_else(|| "—".to_owned(), code),
            digest(&m.base_image_digest)
        ),
    ));
    h.push_str("<h3>Identity and image</h3>\n<dl>\n");
    for (k, v) in dl {
        let _ = writeln!(h, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    h.push_str("</dl>\n");

    h.push_str("<h3>Unpinned declarations</h3>\n");
    if r.unpinned.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str("<table><thead><tr><th>ecosystem</th><th>name</th><th>declared</th><th>pin</th></tr></thead><tbody>\n");
        for d in &r.unpinned {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&d.ecosystem.to_string()),
                esc(d.name.as_ref().map_or("", |n| n.as_str())),
                esc(&d.spec),
                esc(d.pin.as_str())
            );
        }
        h.push_str("</tbody></table>\n");
    }

    h.push_str("<h3>Timeline</h3>\n<ol class=\"timeline\">\n");
    let _ = writeln!(
        h,
        "<li class=\"run\"><strong>{}</strong> the run <code>{}</code> trained <code>{}</code> on snapshot <code>{}</code></li>",
        esc(&r.run.time),
        esc(&r.run.run),
        esc(r.run.model.as_deref().unwrap_or("?")),
        esc(&r.run.snapshot)
    );
    for e in &r.history {
        let mut what = Vec::new();
        if e.definition_changed {
            what.push("definition changed".to_owned());
        }
        if e.image_changed {
            what.push("image changed".to_owned());
        }
        what.push(format!("{} package change(s)", e.package_changes));
        let _ = writeln!(
            h,
            "<li class=\"{}\"><strong>{}</strong> <code>{}</code> {}: {}{}</li>",
            if e.silent_drift { "silent" } else { "change" },
            esc(&e.time),
            esc(short(&e.commit)),
            esc(&e.subject),
            esc(&what.join(", ")),
            if e.silent_drift {
                " <span class=\"tag silent\">silent drift</span>"
            } else {
                ""
            }
        );
    }
    if r.history.is_empty() {
        h.push_str("<li>No later change of the environment is recorded.</li>\n");
    }
    h.push_str("</ol>\n");

    let c = &r.counts;
    let _ = write!(
        h,
        "<h3>Installed packages</h3>\n<p class=\"meta\">{} packages: {} pinned, {} declared unpinned, {} transitive, {} from the base image, {} required by nothing.</p>\n",
        c.packages, c.pinned, c.declared_unpinned, c.transitive, c.base_image, c.unreached
    );
    let _ = writeln!(
        h,
        "<div class=\"controls\"><input type=\"search\" id=\"filter-{n}\" placeholder=\"Filter packages (name, version, class, licence, ...)\" aria-label=\"Filter packages\"><span class=\"meta\"><span id=\"shown-{n}\">{}</span> shown</span></div>",
        c.packages
    );
    let _ = writeln!(
        h,
        "<table class=\"packages\" id=\"packages-{n}\" data-filter=\"filter-{n}\" data-count=\"shown-{n}\"><thead><tr><th>ecosystem</th><th>name</th><th>version</th><th>build</th><th>class</th><th>pin</th><th>licenses</th><th>hash</th><th>prefix</th></tr></thead><tbody>"
    );
    for p in &r.packages {
        let k = &p.package;
        let hash = k
            .sha256
            .as_ref()
            .map(|s| format!("sha256:{s}"))
            .or_else(|| k.record.clone())
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr data-name=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(k.name.as_str()),
            esc(&k.ecosystem.to_string()),
            esc(k.name.as_str()),
            esc(&k.version),
            esc(k.build.as_deref().unwrap_or("")),
            esc(p.class.as_str()),
            esc(p.pin.map_or("", |p| p.as_str())),
            esc(&k.licenses.join(", ")),
            esc(&hash[..hash.len().min(19)]),
            esc(k.prefix.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
