//! Blobs in S3-compatible object storage (Garage, MinIO, Ceph RGW, AWS S3), path-style, signed with AWS Signature
//! Version 4. Several node processes can share one bucket: blobs are immutable and content-addressed, so two
//! processes storing the same content write the same object.
//!
//! Objects are `sha256/<64 hex>` in the bucket. Each upload states the SHA-256 of its body
//! (`x-amz-content-sha256`), so the server refuses a body damaged on the way; each download is checked against the
//! id again. One PUT carries one blob, which S3 limits to 5 GiB; multipart upload is not implemented.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::{BlobError, BlobId, BlobStore, hash_file, hex};

/// How to reach a bucket.
#[derive(Clone)]
pub struct S3Config {
    /// The endpoint, `http://host:port` or `https://host` (path-style requests go to `<endpoint>/<bucket>/<key>`).
    pub endpoint: String,
    /// The region the server expects in signatures (`us-east-1` for most, `garage` for Garage by default).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret key; never printed.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    config: S3Config,
    base: reqwest::Url,
    host: String,
    http: reqwest::Client,
}

fn remote(operation: &'static str) -> impl FnOnce(reqwest::Error) -> BlobError {
    move |e| BlobError::Remote {
        operation,
        message: e.without_url().to_string(),
    }
}

/// The `<Code>` of an S3 error document, if any.
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(&body[start..end])
}

async fn refused(operation: &'static str, response: reqwest::Response) -> BlobError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let code = error_code(&body).unwrap_or("no error code");
    BlobError::Remote {
        operation,
        message: format!("the server answered {status} ({code})"),
    }
}

/// The SHA-256 of an empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Percent-encodes one path segment as Signature Version 4 wants it (unreserved characters stay).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // INVARIANT: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// What a Signature Version 4 signature covers.
pub struct SigningInput<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The encoded path, from `/`.
    pub path: &'a str,
    /// Headers to sign, names in lower case, sorted by name; must include `host`, `x-amz-content-sha256` and
    /// `x-amz-date`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body.
    pub payload_sha256: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, as in `x-amz-date`.
    pub amz_date: &'a str,
    /// Region.
    pub region: &'a str,
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret key.
    pub secret_access_key: &'a str,
}

/// The `Authorization` header of a request without query parameters (AWS Signature Version 4, service `s3`).
pub fn authorization(input: &SigningInput<'_>) -> String {
    let canonical_headers: String = input
        .headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = input
        .headers
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
        input.method, input.path, input.payload_sha256
    );
    let date = &input.amz_date[..input.amz_date.len().min(8)];
    let scope = format!("{date}/{}/s3/aws4_request", input.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.amz_date,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(
        format!("AWS4{}", input.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let key = hmac(&key, input.region.as_bytes());
    let key = hmac(&key, b"s3");
    let key = hmac(&key, b"aws4_request");
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
        input.access_key_id
    )
}

impl S3BlobStore {
    /// A store for `config`; checks the endpoint but does not connect.
    pub fn new(config: S3Config) -> Result<Self, BlobError> {
        let base = reqwest::Url::parse(&config.endpoint).map_err(|e| {
            BlobError::Config(format!(
                "the object store endpoint `{}` is not a URL ({e}); expected `http://host:port`",
                config.endpoint
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(BlobError::Config(format!(
                "the object store endpoint `{}` is not http or https",
                config.endpoint
            )));
        }
        let Some(host) = base.host_str() else {
            return Err(BlobError::Config(format!(
                "the object store endpoint `{}` names no host",
                config.endpoint
            )));
        };
        let host = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        if config.bucket.is_empty() || config.bucket.contains('/') {
            return Err(BlobError::Config(format!(
                "`{}` is not a bucket name",
                config.bucket
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| BlobError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            config,
            base,
            host,
            http,
        })
    }

    fn path(&self, key: Option<&BlobId>) -> String {
        let prefix = self.base.path().trim_end_matches('/');
        match key {
            Some(id) => format!(
                "{prefix}/{}/sha256/{}",
                encode_segment(&self.config.bucket),
                id.hex()
            ),
            None => format!("{prefix}/{}", encode_segment(&self.config.bucket)),
        }
    }

    /// A signed request for `path` with a body of the given SHA-256.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        payload_sha256: &str,
    ) -> Result<reqwest::RequestBuilder, BlobError> {
        let amz_date = OffsetDateTime::now_utc()
            .format(format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| BlobError::Config(format!("cannot format the time: {e}")))?;
        let auth = authorization(&SigningInput {
            method: method.as_str(),
            path,
            headers: &[
                ("host", &self.host),
                ("x-amz-content-sha256", payload_sha256),
                ("x-amz-date", &amz_date),
            ],
            payload_sha256,
            amz_date: &amz_date,
            region: &self.config.region,
            access_key_id: &self.config.access_key_id,
            secret_access_key: &self.config.secret_access_key,
        });
        let mut url = self.base.clone();
        url.set_path(path);
        Ok(self
            .http
            .request(method, url)
            .header("x-amz-content-sha256", payload_sha256)
            .header("x-amz-date", amz_date)
            .header("authorization", auth))
    }

    /// Creates the bucket if it does not exist.
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        let path = self.path(None);
        let head = self
            .request(reqwest::Method::HEAD, &path, EMPTY_SHA256)?
            .send()
            .await
            .map_err(remote("bucket check"))?;
        if head.status().is_success() {
            return Ok(());
        }
        let body = if self.config.region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.config.region
            )
        };
        let sha = hex(&Sha256::digest(body.as_bytes()));
        let created = self
            .request(reqwest::Method::PUT, &path, &sha)?
            .body(body)
            .send()
            .await
            .map_err(remote("bucket creation"))?;
        if created.status().is_success() {
            Ok(())
        } else {
            Err(refused("bucket creation", created).await)
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    #[tracing::instrument(skip_all)]
    async fn put(&self, content: &[u8]) -> Result<BlobId, BlobError> {
        let id = BlobId::of(content);
        let response = self
            .request(reqwest::Method::PUT, &self.path(Some(&id)), &id.hex())?
            .body(content.to_vec())
            .send()
            .await
            .map_err(remote("upload"))?;
        if !response.status().is_success() {
            return Err(refused("upload", response).await);
        }
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn put_file(&self, path: &Path) -> Result<BlobId, BlobError> {
        let (id, size) = hash_file(path).await?;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| BlobError::Io {
                path: path.to_owned(),
                source,
            })?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        // The server checks the body against the stated digest, so a file that changed after hashing is refused.
        let response = self
            .request(reqwest::Method::PUT, &self.path(Some(&id)), &id.hex())?
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(body)
            .send()
            .await
            .map_err(remote("upload"))?;
        if !response.status().is_success() {
            return Err(refused("upload", response).await);
        }
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, BlobError> {
        let response = self
            .request(reqwest::Method::GET, &self.path(Some(id)), EMPTY_SHA256)?
            .send()
            .await
            .map_err(remote("download"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(refused("download", response).await);
        }
        let content = response.bytes().await.map_err(remote("download"))?;
        if BlobId::of(&content) != *id {
            tracing::error!(blob = %id, "stored blob does not match its digest");
            return Err(BlobError::Corrupt(id.clone()));
        }
        Ok(Some(content.to_vec()))
    }

    async fn contains(&self, id: &BlobId) -> Result<bool, BlobError> {
        let response = self
            .request(reqwest::Method::HEAD, &self.path(Some(id)), EMPTY_SHA256)?
            .send()
            .await
            .map_err(remote("existence check"))?;
        match response.status() {
            s if s.is_success() => Ok(true),
            reqwest::StatusCode::NOT_FOUND => Ok(false),
            _ => Err(refused("existence check", response).await),
        }
    }

    async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        let response = self
            .request(reqwest::Method::DELETE, &self.path(Some(id)), EMPTY_SHA256)?
            .send()
            .await
            .map_err(remote("removal"))?;
        if response.status().is_success() || response.status() == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(refused("removal", response).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "GET Object" example of the Signature Version 4 documentation for S3 (header-based authentication).
    #[test]
    fn signatures_match_the_published_example() {
        let auth = authorization(&SigningInput {
            method: "GET",
            path: "/test.txt",
            headers: &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payload_sha256: EMPTY_SHA256,
            amz_date: "20130524T000000Z",
            region: "us-east-1",
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        });
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn endpoints_and_secrets_are_checked_and_kept_out_of_debug() {
        let config = S3Config {
            endpoint: "ftp://x".into(),
            region: "us-east-1".into(),
            bucket: "evidence".into(),
            access_key_id: "AK".into(),
            secret_access_key: "hunter2".into(),
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(S3BlobStore::new(config.clone()).is_err());
        let ok = S3BlobStore::new(S3Config {
            endpoint: "http://127.0.0.1:3900".into(),
            ..config
        });
        assert!(
            ok.is_ok_and(|s| s.host == "127.0.0.1:3900" && !format!("{s:?}").contains("hunter2"))
        );
        assert_eq!(
            error_code("<Error><Code>SignatureDoesNotMatch</Code></Error>"),
            Some("SignatureDoesNotMatch")
        );
    }
}
