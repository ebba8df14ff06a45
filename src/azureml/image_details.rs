//! What azureml-core's `Environment.get_image_details(ws)` returns (the JSON of
//! `GET …/environments/{name}/versions/{version}/image`), reduced to what envaudit records.
//!
//! The service names the image it built `azureml/azureml_<32 hex>`; that suffix is the only
//! hash the service exposes for a v1 environment. The response also carries the registry's
//! pull credentials: the password is never deserialised (serde skips the field), so it cannot
//! reach a report, a log or the lockfile.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The parts of an image-details response envaudit keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageDetails {
    /// `dockerImage.name`, e.g. `azureml/azureml_e9607b2514b066c851012848913ba19f`.
    pub image_name: Option<String>,
    /// The 32 lowercase hex characters after `azureml_` in the image name.
    pub image_hash: Option<String>,
    /// `dockerImage.registry.address`, e.g. `myacr.azurecr.io`.
    pub registry_address: Option<String>,
    /// `dockerImage.registry.username`.
    pub registry_username: Option<String>,
    /// `imageExistsInRegistry`.
    pub exists: bool,
    /// `pythonEnvironment.interpreterPath`.
    pub interpreter_path: Option<String>,
    /// `pythonEnvironment.condaEnvironmentPath`.
    pub conda_environment_path: Option<String>,
    /// `ingredients.dockerfile`: the Dockerfile the service generated.
    pub dockerfile: Option<String>,
}

impl ImageDetails {
    /// `registry.address + "/" + name`, as azureml-core's `DockerImageDetails.image`.
    pub fn image(&self) -> Option<String> {
        Some(format!(
            "{}/{}",
            self.registry_address.as_deref()?,
            self.image_name.as_deref()?
        ))
    }

    /// Parse a response body; `file` only labels errors.
    pub fn from_json(text: &str, file: &Path) -> Result<Self, ImageDetailsError> {
        let wire: ImageDetailsWire =
            serde_json::from_str(text).map_err(|e| ImageDetailsError::new(text, file, &e))?;
        Ok(wire.into())
    }

    /// Read and parse a saved response.
    pub fn load(path: &Path) -> Result<Self, ImageDetailsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageDetailsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }
}

/// The hash in `azureml/azureml_<32 hex>` (any registry prefix or tag is tolerated).
pub fn image_hash(name: &str) -> Option<String> {
    let repo = name.split('@').next().unwrap_or(name);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    let last = last.split(':').next().unwrap_or(last);
    let hex = last.strip_prefix("azureml_")?;
    (hex.len() == 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| hex.to_owned())
}

/// Why an image-details response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageDetailsError {
    /// The response is not JSON of the expected shape.
    #[error(
        "invalid image details in `{path}` at line {line}, column {column}: {message}\n{snippet}"
    )]
    Syntax {
        /// The file the response came from.
        path: PathBuf,
        /// The 1-based line of the error.
        line: usize,
        /// The 1-based column of the error.
        column: usize,
        /// The JSON parser's message, without its location.
        message: String,
        /// The offending line with a caret under the column, or a notice in its place when
        /// the line may hold a credential.
        snippet: String,
    },
    /// The saved response could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl ImageDetailsError {
    fn new(text: &str, file: &Path, e: &serde_json::Error) -> Self {
        let (line, column) = (e.line(), e.column());
        let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let caret = " ".repeat(column.saturating_sub(1).min(src.chars().count()));
        // a line holding the registry password is never echoed
        let snippet = if src.to_ascii_lowercase().contains("password") {
            "  | (line not shown: it may hold a credential)".to_owned()
        } else {
            format!("  | {src}\n  | {caret}^")
        };
        // serde_json appends " at line L column C"; the location is shown separately
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_owned();
        ImageDetailsError::Syntax {
            path: file.to_owned(),
            line,
            column,
            message,
            snippet,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ImageDetailsWire {
    image_exists_in_registry: Option<bool>,
    docker_image: Option<DockerImageWire>,
    python_environment: Option<PythonEnvironmentWire>,
    ingredients: Option<IngredientsWire>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerImageWire {
    name: Option<String>,
    registry: Option<RegistryWire>,
}

/// `password` is deliberately absent: serde skips it without storing it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RegistryWire {
    address: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PythonEnvironmentWire {
    interpreter_path: Option<String>,
    conda_environment_path: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IngredientsWire {
    dockerfile: Option<String>,
}

impl From<ImageDetailsWire> for ImageDetails {
    fn from(w: ImageDetailsWire) -> Self {
        let docker = w.docker_image.unwrap_or_default();
        let registry = docker.registry.unwrap_or_default();
        let python = w.python_environment.unwrap_or_default();
        ImageDetails {
            image_hash: docker.name.as_deref().and_then(image_hash),
            image_name: docker.name,
            registry_address: registry.address,
            registry_username: registry.username,
            exists: w.image_exists_in_registry.unwrap_or(false),
            interpreter_path: python.interpreter_path,
            conda_environment_path: python.conda_environment_path,
            dockerfile: w.ingredients.and_then(|i| i.dockerfile),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
  "imageExistsInRegistry": true,
  "dockerImage": {
    "name": "azureml/azureml_e9607b2514b066c851012848913ba19f",
    "registry": {"address": "myacr.azurecr.io", "username": "myacr", "password": "s3cr3t-P4ssw0rd"}
  },
  "pythonEnvironment": {"interpreterPath": "/azureml-envs/azureml_x/bin/python", "condaEnvironmentPath": "/azureml-envs/azureml_x"},
  "ingredients": {"dockerfile": "FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n", "extra": 1}
}"#;

    fn parsed() -> Option<ImageDetails> {
        ImageDetails::from_json(SAMPLE, Path::new("details.json")).ok()
    }

    #[test]
    fn image_hash_is_the_32_hex_suffix_of_the_image_name() {
        let d = parsed();
        assert_eq!(
            d.as_ref().and_then(|d| d.image_hash.as_deref()),
            Some("e9607b2514b066c851012848913ba19f")
        );
        assert_eq!(
            d.as_ref().and_then(ImageDetails::image).as_deref(),
            Some("myacr.azurecr.io/azureml/azureml_e9607b2514b066c851012848913ba19f")
        );
        assert!(d.is_some_and(|d| d.exists));
        assert_eq!(image_hash("azureml/azureml_XYZ"), None);
    }

    #[test]
    fn registry_password_never_appears_in_debug_or_serialized_output() {
        let d = parsed();
        assert!(d.is_some());
        let debug = format!("{d:?}");
        let json = serde_json::to_string(&d).unwrap_or_default();
        assert!(!debug.contains("s3cr3t-P4ssw0rd"));
        assert!(!json.contains("s3cr3t-P4ssw0rd"));
        assert!(json.contains("myacr.azurecr.io"));
    }

    #[test]
    fn syntax_error_on_the_password_line_does_not_echo_it() {
        let text = "{\"dockerImage\": {\"registry\": {\"password\": \"s3cr3t\\q\"}}}";
        let msg = ImageDetails::from_json(text, Path::new("d.json"))
            .map_or_else(|e| e.to_string(), |_| String::new());
        assert!(msg.contains("line 1"));
        assert!(!msg.contains("s3cr3t"));
    }

    #[test]
    fn malformed_json_error_points_at_file_line_and_column() {
        let err = ImageDetails::from_json(
            "{\n  \"dockerImage\": {\"name\": 3}\n}",
            Path::new("d.json"),
        );
        let msg = err.map_or_else(|e| e.to_string(), |_| String::new());
        insta::assert_snapshot!(msg, @r#"
        invalid image details in `d.json` at line 2, column 27: invalid type: integer `3`, expected a string
          |   "dockerImage": {"name": 3}
          |                           ^
        "#);
    }
}
