//! `envaudit resolve`: image references to digests.

use std::io::{Read as _, Write};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use futures_util::StreamExt as _;

use super::Exit;
use crate::image::ResolveReport;
use crate::image::{self, ImageError, ResolveOptions};
use crate::model::{ImageRef, ImageSource, Platform, Secret};
use crate::registry::{
    CachingRegistry, CredentialStore, Credentials, HttpRegistry, Registry, TransportPolicy,
};
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// Image references: `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]` (Docker Hub by default),
    /// `oci:DIR[:TAG]` (OCI image layout) or `docker-archive:FILE[:NAME:TAG]` (`docker save` tar)
    #[arg(value_name = "REF", required = true)]
    refs: Vec<String>,

    /// Platform to take from a multi-platform image [default: linux/amd64]; when given, a
    /// single-platform image of another platform is an error
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<Platform>,

    /// Output format
    #[arg(long, value_enum, default_value_t = ResolveFormat::Table)]
    format: ResolveFormat,

    /// Also download every layer and check it against its digest (streamed, never stored)
    #[arg(long)]
    verify_layers: bool,

    /// User name for the registry of the references (all must be on that one registry);
    /// the password or token is read from standard input with `--password-stdin`
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    username: Option<String>,

    /// Read the password or token for `--username` from standard input
    #[arg(long, requires = "username")]
    password_stdin: bool,

    /// Reach this registry over plain HTTP (repeatable); loopback registries (`localhost`,
    /// `127.0.0.1`, `[::1]`) always are, every other one is reached over HTTPS
    #[arg(long, value_name = "HOST[:PORT]")]
    insecure_registry: Vec<String>,

    /// Seconds to wait for a connection, and for the next bytes of a response
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,

    /// Attempts per request, the first included, on HTTP 408/429/5xx, timeouts and
    /// connection failures (backoff with jitter, honouring `Retry-After`)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10))]
    attempts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResolveFormat {
    Table,
    Json,
}

pub(crate) fn run(args: &ResolveArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let mut sources = Vec::with_capacity(args.refs.len());
    for r in &args.refs {
        let source = r.parse::<ImageSource>()?;
        // `resolve ./layout` would otherwise ask Docker Hub for `library/layout`.
        if source.image_ref().is_some() && !r.contains("://") && std::path::Path::new(r).exists() {
            let kind = if std::path::Path::new(r).is_dir() {
                "oci"
            } else {
                "docker-archive"
            };
            bail!(
                "`{r}` is a local path, not a registry reference: write `{kind}:{r}` (`oci:DIR` for an OCI image layout, `docker-archive:FILE` for a `docker save` archive)"
            );
        }
        sources.push(source);
    }
    let mut credentials = CredentialStore::from_env();
    if let Some(user) = &args.username {
        let mut registries: Vec<&str> = sources
            .iter()
            .filter_map(|s| s.image_ref().map(ImageRef::registry))
            .collect();
        registries.sort_unstable();
        registries.dedup();
        if registries.len() > 1 {
            bail!(
                "`--username` applies to one registry, and the references name {}: `{}`",
                registries.len(),
                registries.join("`, `")
            );
        }
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("cannot read the password from standard input")?;
        let password = password.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            bail!("`--password-stdin` read an empty password");
        }
        credentials = credentials.with_explicit(Credentials {
            username: user.clone(),
            password: Secret::new(password),
            origin: "`--username`".to_owned(),
        });
    }
    let policy = TransportPolicy {
        connect_timeout: Duration::from_secs(args.timeout.clamp(1, 600)),
        read_timeout: Duration::from_secs(args.timeout.clamp(1, 600)),
        max_attempts: args.attempts,
        insecure_registries: args.insecure_registry.clone(),
        ..TransportPolicy::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let registry = CachingRegistry::new(HttpRegistry::new(policy, credentials)?);
    let options = ResolveOptions {
        platform: args.platform.clone(),
    };
    let verify = args.verify_layers;
    let results: Vec<Result<image::ResolvedImage, ImageError>> = runtime.block_on(async {
        futures_util::stream::iter(&sources)
            .map(|s| open_one(&registry, s, &options, verify))
            .buffered(image::MAX_CONCURRENT)
            .collect()
            .await
    });
    let mut report = ResolveReport {
        layers_verified: verify,
        ..ResolveReport::default()
    };
    let mut errors = Vec::new();
    for (source, result) in sources.iter().zip(results) {
        match result {
            Ok(i) => report.images.push(i),
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("cannot resolve `{source}`"));
                let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
                report.failures.push((source.to_string(), chain.join(": ")));
                errors.push(e);
            }
        }
    }
    let format = match args.format {
        ResolveFormat::Table => Format::Table,
        ResolveFormat::Json => Format::Json,
    };
    super::write_or_pipe(render::render_resolve(&report, format, out))?;
    if errors.is_empty() {
        return Ok(Exit::Ok);
    }
    // Successes are on stdout; every failure goes to stderr, the last one as the error.
    let last = errors.pop();
    for e in &errors {
        eprint!("{}", super::error::render(e));
    }
    match last {
        Some(e) => Err(e),
        None => Ok(Exit::Ok),
    }
}

async fn open_one<R: Registry>(
    registry: &R,
    source: &ImageSource,
    options: &ResolveOptions,
    verify: bool,
) -> Result<image::ResolvedImage, ImageError> {
    let img = image::open(registry, source, options).await?;
    if verify {
        image::verify_layers(registry, &img).await?;
    }
    Ok(img.resolved)
}
