//! envaudit: audit and lock machine-learning training environments.
//!
//! The library never prints and never exits; the `envaudit` binary ([`cli`]) does both.
//!
//! # A tour of the modules, in the order data flows through them
//!
//! ```text
//! definition files ─► definition ─► EnvDefinition ─► hash, azureml (identities), analysis::lint
//! image reference ──► image / registry ─► layer (walk, cache, merge) ─► catalog
//!                                 scan: reference or folder ─► snapshot
//! lock ─► lockfile (format, store, git) ─► analysis (graph, diff, drift, compliance)
//!                                        ─► render (table, Markdown, JSON, HTML, SBOM)
//!                                        ─► rewrite (pin, export)
//! build: hash ─► registry lookup ─► builder ─► scan ─► lock
//! ```
//!
//! - **Shared values**: [`model`] (digests, package names, image references, platforms, pin
//!   states), [`diag`] (findings with stable codes), [`source`] (files as text, and places in
//!   them for errors), [`config`] (`envaudit.toml`).
//! - **Standards, one parser each**: [`python`] (PEP 440 versions, PEP 508 requirements and
//!   markers), [`conda`] (versions, MatchSpec, repodata, channels, the solver), [`pyindex`]
//!   (the simple repository API, wheel names and tags, core metadata from indexes); the
//!   Debian and Alpine version orderings sit beside their catalogers in [`catalog`];
//!   [`version`] picks the ordering of an ecosystem.
//! - **What the user wrote**: [`definition`] reads every format into one
//!   [`EnvDefinition`](definition::EnvDefinition); [`hash`] is the definition hash (its module
//!   doc is the spec); [`azureml`] computes Azure ML's own identities byte for byte.
//! - **What an image is**: [`registry`] (OCI distribution client, credentials, caching),
//!   [`image`] (sources: registries, OCI layouts, `docker save` archives; every digest
//!   verified), [`layer`] (the tar walk, whiteouts, the layer-facts cache), [`catalog`] (the
//!   catalogers: Python, conda, Debian, Alpine).
//! - **The pipeline**: [`scan`] turns a reference or a folder into a
//!   [`Snapshot`](lockfile::Snapshot); [`lock`] decides which image ran, names the environment
//!   and checks whether a lock is stale; [`lockfile`] is the format, its atomic store and its
//!   git history.
//! - **Analysis** ([`analysis`]): the dependency graph, diffs and history, drift attributed to
//!   declarations, lint findings, and the compliance report. Pure: values in, values out.
//! - **Output and rewrites**: [`render`] turns report values into tables, Markdown, JSON, HTML,
//!   CycloneDX and SPDX; [`rewrite`] pins a definition in place and exports full locks.
//! - **Images built**: [`build`] names an image after its definition hash, writes the build
//!   context Azure ML would, and drives buildah, docker, podman or ACR.
//! - **Signed evidence**: [`attest`] holds the formats: keys (ECDSA P-256, Ed25519) and key
//!   ids, DSSE envelopes, in-toto statements with the SLSA provenance predicate, and Sigstore
//!   bundles; pure, values in and bytes out. [`evidence`] uses them: what `attest` attaches
//!   to an image (statement, SBOM, snapshot record) and how `verify` checks it.
//! - **Robustness**: [`fuzz`] holds the entry points of the fuzz targets.
//!
//! `docs/architecture.md` says the same for contributors, with where each command lives.

pub mod analysis;
pub mod attest;
pub mod azureml;
pub mod build;
pub mod catalog;
pub mod cli;
pub mod conda;
pub mod config;
pub mod definition;
pub mod diag;
pub mod evidence;
pub mod fleet;
pub mod fuzz;
pub mod hash;
pub mod image;
pub mod layer;
pub mod lock;
pub mod lockfile;
pub mod model;
pub mod predict;
pub mod pyindex;
pub mod python;
pub mod registry;
pub mod render;
pub mod rewrite;
pub mod scan;
pub mod source;
pub mod version;
