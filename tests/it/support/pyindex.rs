//! A static Python package index for the tests: wheels and sdists built here, written as a
//! PEP 503 HTML tree and a PEP 691 JSON tree, served by a real HTTP server
//! (`simple_index_server.py`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sha2::Digest as _;

use crate::support::root;

/// The index server, stopped (by its own process handle) when dropped.
pub struct IndexServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl IndexServer {
    pub fn start(dir: &Path, auth: Option<&str>) -> Self {
        let args = auth.map(|a| vec!["--auth".to_owned(), a.to_owned()]);
        Self::start_with(dir, "requests.log", &args.unwrap_or_default())
    }

    /// A server whose answers say `Cache-Control: max-age=SECONDS`, logging to its own file.
    pub fn start_max_age(dir: &Path, seconds: u64) -> Self {
        let args = ["--max-age".to_owned(), seconds.to_string()];
        Self::start_with(dir, "requests-max-age.log", &args)
    }

    fn start_with(dir: &Path, log: &str, args: &[String]) -> Self {
        let log = dir.join(log);
        std::fs::write(&log, "").unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(root().join("tests/it/support/simple_index_server.py"))
            .arg(dir.join("www"))
            .arg(&log)
            .args(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the test index server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Self { child, port, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `(path, status, form)` of every request so far.
    pub fn requests(&self) -> Vec<(String, u16, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[1].to_owned(), f[2].parse().unwrap(), f[3].to_owned())
            })
            .collect()
    }

    pub fn clear_log(&self) {
        std::fs::write(&self.log, "").unwrap();
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    envaudit::model::to_hex(&sha2::Sha256::digest(bytes))
}

pub fn metadata_text(name: &str, version: &str, requires: &[&str], python: Option<&str>) -> String {
    let mut m = format!("Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n");
    if let Some(p) = python {
        writeln!(m, "Requires-Python: {p}").unwrap();
    }
    for r in requires {
        writeln!(m, "Requires-Dist: {r}").unwrap();
    }
    m.push_str("\nA small test package.\n");
    m
}

/// A wheel: a zip with a module, `METADATA`, `WHEEL` and `RECORD`.
pub fn wheel(filename: &str, metadata: &str) -> Vec<u8> {
    let stem = filename.strip_suffix(".whl").unwrap();
    let mut parts = stem.split('-');
    let (name, version) = (parts.next().unwrap(), parts.next().unwrap());
    let dist_info = format!("{name}-{version}.dist-info");
    let tag = stem.splitn(3, '-').nth(2).unwrap();
    let files = [
        (format!("{name}/__init__.py"), "VALUE = 1\n".to_owned()),
        (format!("{dist_info}/METADATA"), metadata.to_owned()),
        (
            format!("{dist_info}/WHEEL"),
            format!(
                "Wheel-Version: 1.0\nGenerator: envaudit-test\nRoot-Is-Purelib: true\nTag: {tag}\n"
            ),
        ),
    ];
    let mut record = String::new();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, body) in &files {
        w.start_file(path.as_str(), options).unwrap();
        w.write_all(body.as_bytes()).unwrap();
        writeln!(
            record,
            "{path},sha256={},{}",
            sha256(body.as_bytes()),
            body.len()
        )
        .unwrap();
    }
    writeln!(record, "{dist_info}/RECORD,,").unwrap();
    w.start_file(format!("{dist_info}/RECORD"), options)
        .unwrap();
    w.write_all(record.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// An sdist: a `.tar.gz` with `NAME-VERSION/PKG-INFO` and a `setup.py`.
pub fn sdist(filename: &str, pkg_info: &str) -> Vec<u8> {
    let top = filename.strip_suffix(".tar.gz").unwrap();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, body) in [
        (format!("{top}/PKG-INFO"), pkg_info),
        (
            format!("{top}/setup.py"),
            "from setuptools import setup\nsetup()\n",
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, body.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// One file of the test index.
pub struct Spec {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// Written as `FILE.metadata` and announced with its hash.
    pub sidecar: Option<String>,
    pub requires_python: Option<&'static str>,
    pub yanked: Option<&'static str>,
    pub upload_time: Option<&'static str>,
}

pub fn spec(filename: impl Into<String>, bytes: Vec<u8>) -> Spec {
    Spec {
        filename: filename.into(),
        bytes,
        sidecar: None,
        requires_python: None,
        yanked: None,
        upload_time: None,
    }
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `www/files/`, the HTML-only tree `www/html/` and the negotiating tree
/// `www/simple/` (both `index.html` and `index.json` per project).
pub fn write_index<P: AsRef<str>>(dir: &Path, projects: Vec<(P, Vec<Spec>)>) {
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("files")).unwrap();
    let mut root_links = String::new();
    for (project, files) in projects {
        let project = project.as_ref();
        let mut anchors = String::new();
        let mut entries = Vec::new();
        for f in &files {
            std::fs::write(www.join("files").join(&f.filename), &f.bytes).unwrap();
            let digest = sha256(&f.bytes);
            let mut attrs = String::new();
            let mut entry = serde_json::json!({
                "filename": f.filename,
                "url": format!("../../files/{}", f.filename),
                "hashes": {"sha256": digest},
            });
            if let Some(m) = &f.sidecar {
                let path = www.join("files").join(format!("{}.metadata", f.filename));
                std::fs::write(path, m).unwrap();
                let h = sha256(m.as_bytes());
                write!(
                    attrs,
                    " data-dist-info-metadata=\"sha256={h}\" data-core-metadata=\"sha256={h}\""
                )
                .unwrap();
                entry["core-metadata"] = serde_json::json!({"sha256": h});
                entry["dist-info-metadata"] = serde_json::json!({"sha256": h});
            }
            if let Some(p) = f.requires_python {
                write!(attrs, " data-requires-python=\"{}\"", escape(p)).unwrap();
                entry["requires-python"] = p.into();
            }
            if let Some(y) = f.yanked {
                write!(attrs, " data-yanked=\"{}\"", escape(y)).unwrap();
                entry["yanked"] = y.into();
            }
            if let Some(t) = f.upload_time {
                entry["upload-time"] = t.into();
            }
            entry["size"] = f.bytes.len().into();
            writeln!(
                anchors,
                "    <a href=\"../../files/{0}#sha256={digest}\"{attrs}>{0}</a><br />",
                f.filename
            )
            .unwrap();
            entries.push(entry);
        }
        let html = format!(
            "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {project}</title>\n  </head>\n  <body>\n    <h1>Links for {project}</h1>\n{anchors}  </body>\n</html>\n"
        );
        let json = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": project,
            "files": entries,
        });
        for tree in ["html", "simple"] {
            let d = www.join(tree).join(project);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("index.html"), &html).unwrap();
        }
        std::fs::write(
            www.join("simple").join(project).join("index.json"),
            serde_json::to_vec_pretty(&json).unwrap(),
        )
        .unwrap();
        writeln!(root_links, "<a href=\"{project}/\">{project}</a>").unwrap();
    }
    for tree in ["html", "simple"] {
        std::fs::write(www.join(tree).join("index.html"), &root_links).unwrap();
    }
}
