//! Pushing blobs: a HEAD to skip what the repository holds, else a monolithic upload (POST to
//! start it, then one PUT of the bytes to the `Location` with `?digest=`), as the OCI
//! distribution spec 1.1 describes under "POST then PUT".

use super::http::{Request, header_digest, repo_name};
use super::{Descriptor, HttpRegistry, IntegrityError, RegistryError};
use crate::model::{Digest, ImageRef, RedactedUrl};

impl HttpRegistry {
    /// Whether `repo` holds the blob `digest` (a HEAD request). This is the registry's
    /// claim; reading the blob verifies it.
    pub async fn blob_exists(
        &self,
        repo: &ImageRef,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let url = self.url(repo, &format!("blobs/{digest}"));
        Ok(self.send(repo, Request::Head, &url, None).await?.is_some())
    }

    /// Store `bytes` as a blob of `repo` and describe it. Nothing is uploaded when the
    /// repository already holds the blob. The upload is monolithic: a POST starts it, and
    /// one PUT sends the bytes to the `Location` the registry answered (relative or
    /// absolute, with the query it carries) plus `digest=`. The registry's
    /// `Docker-Content-Digest`, when sent, must be the bytes' digest.
    pub async fn push_blob(
        &self,
        repo: &ImageRef,
        media_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<Descriptor, RegistryError> {
        let descriptor = Descriptor::of(media_type, &bytes);
        if self.blob_exists(repo, &descriptor.digest).await? {
            return Ok(descriptor);
        }
        let upload_error = |reason: String| RegistryError::Upload {
            repository: repo_name(repo),
            reason,
        };
        let start = self.url(repo, "blobs/uploads/");
        let res = self
            .send(repo, Request::Post, &start, None)
            .await?
            .ok_or_else(|| RegistryError::Status {
                url: RedactedUrl::new(&start),
                status: 404,
            })?;
        if res.status() != reqwest::StatusCode::ACCEPTED {
            return Err(upload_error(format!(
                "starting an upload answered HTTP {}, not 202",
                res.status().as_u16()
            )));
        }
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                upload_error("the registry sent no `Location` to upload to".to_owned())
            })?;
        // `Location` may be relative to the request, or absolute (another host included).
        let mut put = reqwest::Url::parse(&start)
            .and_then(|base| base.join(location))
            .map_err(|e| upload_error(format!("its `Location` is not a URL ({e})")))?;
        put.query_pairs_mut()
            .append_pair("digest", &descriptor.digest.to_string());
        let request = Request::Put {
            content_type: "application/octet-stream",
            body: bytes,
            condition: None,
        };
        let res = self
            .send(repo, request, put.as_str(), None)
            .await?
            .ok_or_else(|| RegistryError::Status {
                url: RedactedUrl::new(put.as_str()),
                status: 404,
            })?;
        if let Some(claimed) = header_digest(&res)
            && claimed != descriptor.digest
        {
            return Err(IntegrityError::DigestMismatch {
                what: format!("blob pushed to `{}`", repo_name(repo)),
                expected: descriptor.digest,
                actual: claimed,
            }
            .into());
        }
        Ok(descriptor)
    }
}
