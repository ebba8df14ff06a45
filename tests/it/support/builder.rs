//! Real builds for the tests: buildah with its own storage per test (vfs, chroot isolation:
//! what works as root in a container), a busybox base image made without network, and a
//! package index served on 127.0.0.1 by Python's `http.server` that a build can read and a
//! test can publish new versions to.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::registry::{RegistryServer, which};

/// A buildah storage of its own, removed with the test.
pub struct Buildah {
    dir: tempfile::TempDir,
}

impl Buildah {
    /// Missing buildah is a failure, in CI and outside it: scripts/test installs it.
    pub fn new() -> Self {
        assert!(
            which("buildah").is_some(),
            "`buildah` is not installed: run scripts/test (it installs it) or `apt-get install -y buildah busybox-static`"
        );
        let dir = tempfile::Builder::new()
            .prefix("envaudit-buildah-")
            .tempdir()
            .expect("temp dir");
        let conf = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
            dir.path().display()
        );
        std::fs::write(dir.path().join("storage.conf"), conf).expect("write storage.conf");
        Self { dir }
    }

    /// Point a command (buildah itself, or envaudit running it) at this storage.
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env(
            "CONTAINERS_STORAGE_CONF",
            self.dir.path().join("storage.conf"),
        )
        .env("BUILDAH_ISOLATION", "chroot")
    }

    /// Run buildah; panics with its output when it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .apply(&mut Command::new("buildah"))
            .args(args)
            .output()
            .expect("run buildah");
        assert!(
            out.status.success(),
            "buildah {args:?} failed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A base image with the static busybox as `/bin/*` (Debian's busybox-static), pushed to
    /// `registry` as `base/busybox:TAG`; returns the reference.
    pub fn busybox_base(&self, registry: &RegistryServer, tag: &str) -> String {
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("busybox is not installed: `apt-get install -y busybox-static`");
        let ctx = tempfile::tempdir().expect("temp dir");
        std::fs::copy(&busybox, ctx.path().join("busybox")).expect("copy busybox");
        std::fs::write(
            ctx.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN mkdir -p /tmp /etc /root && chmod 1777 /tmp && echo root:x:0:0:root:/root:/bin/sh > /etc/passwd && echo root:x:0: > /etc/group\n",
        )
        .expect("write Dockerfile");
        self.build_and_push(ctx.path(), &format!("{}/base/busybox:{tag}", registry.addr))
    }

    /// Build the context folder `ctx` as `reference` and push it there; returns the reference.
    pub fn build_and_push(&self, ctx: &std::path::Path, reference: &str) -> String {
        let ctx = ctx.display().to_string();
        self.run(&["build", "-q", "--tls-verify=false", "-t", reference, &ctx]);
        self.run(&[
            "push",
            "-q",
            "--tls-verify=false",
            reference,
            &format!("docker://{reference}"),
        ]);
        reference.to_owned()
    }
    /// A Debian-like Python base image: `busybox` plus this machine's `/usr/bin/python3`, its
    /// standard library, Debian's pip (python3-pip) and the shared libraries they load, pushed
    /// as `base/python:TAG`. Built from local files, without network.
    pub fn python_base(&self, registry: &RegistryServer, busybox: &str, tag: &str) -> String {
        let pip = Command::new("/usr/bin/python3")
            .args(["-m", "pip", "--version"])
            .output();
        assert!(
            pip.is_ok_and(|o| o.status.success()),
            "`/usr/bin/python3 -m pip` does not run: `apt-get install -y python3-pip` (scripts/test installs it)"
        );
        let ctx = tempfile::tempdir().expect("temp dir");
        let script = r#"set -e
root=$1
py=$(readlink -f /usr/bin/python3)
stdlib=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
pipdir=$(/usr/bin/python3 -c 'import os, pip; print(os.path.dirname(pip.__file__))')
mkdir -p "$root/usr/bin"
cp -L "$py" "$root/usr/bin/python3"
for p in "$stdlib" "$pipdir" "$pipdir"-*.dist-info; do
  mkdir -p "$root$(dirname "$p")" && cp -a "$p" "$root$p"
done
for l in $( (ldd "$py"; for f in "$stdlib"/lib-dynload/*.so; do ldd "$f"; done) | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$l")" && cp -L "$l" "$root$l"
done
"#;
        let out = Command::new("sh")
            .args(["-c", script, "sh"])
            .arg(ctx.path().join("rootfs"))
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "cannot assemble the Python root filesystem: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            ctx.path().join("Dockerfile"),
            format!("FROM {busybox}\nCOPY rootfs/ /\n"),
        )
        .expect("write Dockerfile");
        self.build_and_push(ctx.path(), &format!("{}/base/python:{tag}", registry.addr))
    }
}

/// Write a minimal pure-Python wheel `NAME-VERSION-py3-none-any.whl` into `dir` (with
/// Python's zipfile: a real wheel that pip installs, RECORD hashes included).
pub fn write_wheel(dir: &std::path::Path, name: &str, version: &str) {
    let script = r#"import sys, zipfile, hashlib, base64
name, version, out = sys.argv[1], sys.argv[2], sys.argv[3]
dist = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"__version__ = '{version}'\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: envaudit-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(f"{out}/{name}-{version}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        data = text.encode()
        z.writestr(path, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    z.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
"#;
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = Command::new("python3")
        .args(["-c", script, name, version])
        .arg(dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "cannot write the wheel: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A folder served over HTTP on 127.0.0.1 (a "package index" for builds to read).
pub struct PackageIndex {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

impl PackageIndex {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed (scripts/test installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("http.server banner");
        // "Serving HTTP on 127.0.0.1 port 40469 (http://127.0.0.1:40469/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the http.server banner `{line}`"));
        Self { dir, child, port }
    }

    pub fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }

    /// Publish a file (replacing what was there).
    pub fn publish(&self, file: &str, content: &str) {
        std::fs::write(self.dir.path().join(file), content).expect("publish");
    }

    /// Publish an install script that puts Python distributions (`name`, `version`) into
    /// `/usr/lib/python3/dist-packages`, where the catalog finds them.
    pub fn publish_packages(&self, packages: &[(&str, &str)]) {
        let mut script = String::from("set -e\nd=/usr/lib/python3/dist-packages\n");
        for (name, version) in packages {
            write!(script,
                "mkdir -p $d/{name}-{version}.dist-info\nprintf 'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n' > $d/{name}-{version}.dist-info/METADATA\n"
            ).unwrap();
        }
        self.publish("install.sh", &script);
    }
}

impl Drop for PackageIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
