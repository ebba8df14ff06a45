//! `envaudit catalog DIR` of a real venv: `python3 -m venv`, wheels the test builds and
//! installs offline with the venv's own pip, and pip's own view as the reference.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::TestEnv;

/// Writes minimal wheels (METADATA, WHEEL, RECORD and one module) with Python's `zipfile`.
/// The names are written as projects write them (`Foo_Bar`, `zope.fake`), not normalised.
const MAKE_WHEELS: &str = r#"
import base64, hashlib, sys, zipfile

def wheel(out, name, version, module, requires=()):
    dist = name.replace("-", "_").replace(".", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\n"
        + f"Name: {name}\nVersion: {version}\nSummary: test package {name}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: envaudit-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{module}\n",
    }
    record = []
    path = f"{out}/{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for f, text in files.items():
            data = text.encode()
            z.writestr(f, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{f},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    print(path)

out = sys.argv[1]
wheel(out, "Foo_Bar", "1.0", "foo_bar")
wheel(out, "zope.fake", "4.2.post1", "zope_fake", ["Foo-Bar>=1.0"])
wheel(out, "tiny-RC", "2.0rc1", "tiny_rc")
wheel(out, "plain", "2024.1.15", "plain")
"#;

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Runs a command, failing the test with its output when it fails.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// pip run from the venv, with no index and no configuration from the machine.
fn pip(venv: &Path) -> Command {
    let mut c = Command::new(venv.join("bin/python"));
    c.args(["-m", "pip", "--disable-pip-version-check", "--no-input"])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_INDEX", "1")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PYTHONPATH");
    c
}

#[test]
fn catalog_of_a_venv_has_the_names_and_versions_pip_list_has() {
    // Missing is a failure, in CI and outside it: scripts/test installs python3-venv.
    let Some(python) = which("python3") else {
        panic!(
            "`python3` is not installed: run scripts/test (it installs it) or `apt-get install -y python3 python3-venv`"
        );
    };
    let env = TestEnv::new();
    let venv = env.path("venv");
    let wheels = env.path("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    run(Command::new(&python).arg("-m").arg("venv").arg(&venv));
    let script = env.write("make_wheels.py", MAKE_WHEELS);
    let built = run(Command::new(&python).arg(&script).arg(&wheels));
    let built: Vec<&str> = std::str::from_utf8(&built).unwrap().lines().collect();
    assert_eq!(built.len(), 4);
    run(pip(&venv).args(["install", "-q", "--no-deps"]).args(&built));

    let listed = run(pip(&venv).args(["list", "--format=json"]));
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let expected: BTreeSet<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                pep503(p["name"].as_str().unwrap()),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The venv's own pip is there, and so is every wheel the test installed.
    assert!(expected.iter().any(|(n, _)| n == "pip"), "{expected:?}");
    for p in ["foo-bar", "zope-fake", "tiny-rc", "plain"] {
        assert!(expected.iter().any(|(n, _)| n == p), "{p}: {expected:?}");
    }

    let out = env
        .envaudit()
        .args(["catalog"])
        .arg(&venv)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found = BTreeSet::new();
    for p in doc["packages"].as_array().unwrap() {
        for q in [p, &p["linked"]] {
            if q["ecosystem"] == "pip" {
                let added = found.insert((
                    pep503(q["name"].as_str().unwrap()),
                    q["version"].as_str().unwrap().to_owned(),
                ));
                assert!(added, "reported twice: {q}");
            }
        }
    }
    assert_eq!(found, expected);
}
