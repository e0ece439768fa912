//! S3-compatible object storage as a backup target (`s3://bucket/prefix`), behind the default-on
//! `s3` feature. A minimal client: path-style requests signed with AWS Signature Version 4 over
//! the HTTP client Sejf already has, so the feature adds no dependency (ADR 0019 compares it
//! with object_store and the AWS SDK).
//!
//! Configuration comes from the environment, as AWS tools read it: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` (or `AWS_SECRET_ACCESS_KEY_FILE`), `AWS_REGION` (default
//! `us-east-1`) and `AWS_ENDPOINT_URL` (default `https://s3.REGION.amazonaws.com`).
//!
//! A part is held in memory and sent with one PUT when committed (a PUT is atomic: readers see
//! the whole object or none), so a part must fit in memory and in S3's 5 GB single-PUT limit.

use std::io::{Read, Write};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::target::{PartWriter, Target, check_id};
use crate::BackupError;

pub fn open(rest: &str) -> Result<Box<dyn Target>, BackupError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = !bucket.is_empty() && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
        return Err(BackupError::Target("s3 target: expected s3://bucket/prefix with a valid bucket name".into()));
    }
    let prefix = prefix.trim_matches('/');
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let access =
        env("AWS_ACCESS_KEY_ID").ok_or_else(|| BackupError::Target("s3 target: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()))?;
    let secret = match env("AWS_SECRET_ACCESS_KEY_FILE") {
        Some(f) => std::fs::read_to_string(&f)
            .map_err(|e| BackupError::Target(format!("cannot read AWS_SECRET_ACCESS_KEY_FILE: {e}")))?
            .trim()
            .to_owned(),
        None => env("AWS_SECRET_ACCESS_KEY")
            .ok_or_else(|| BackupError::Target("s3 target: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()))?,
    };
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into());
    let endpoint = env("AWS_ENDPOINT_URL").unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let endpoint = reqwest::Url::parse(&endpoint).map_err(|_| BackupError::Target("AWS_ENDPOINT_URL is not a URL".to_string()))?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
        return Err(BackupError::Target("AWS_ENDPOINT_URL must be an http(s) URL".into()));
    }
    // The HTTP client's TLS needs Sejf's one crypto provider, even for an http:// endpoint.
    let _ = sejf_install::tls::provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| BackupError::Target(format!("s3 client: {e}")))?;
    Ok(Box::new(S3Target {
        client,
        endpoint,
        bucket: bucket.to_owned(),
        prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
        access,
        secret: zeroize::Zeroizing::new(secret),
        region,
    }))
}

struct S3Target {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    bucket: String,
    /// Empty, or ends with '/'.
    prefix: String,
    access: String,
    secret: zeroize::Zeroizing<String>,
    region: String,
}

/// Runs a request on the CLI's multi-threaded runtime from the synchronous target interface.
fn block<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fut))
}

impl S3Target {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// One signed request; returns the status and body.
    fn request(&self, method: &str, key: &str, query: &[(&str, &str)], body: Vec<u8>) -> Result<(u16, Vec<u8>), BackupError> {
        let path = if key.is_empty() { format!("/{}", self.bucket) } else { format!("/{}/{}", self.bucket, key) };
        let base_path = self.endpoint.path().trim_end_matches('/');
        let canonical_uri = uri_encode(&format!("{base_path}{path}"), false);
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (uri_encode(k, true), uri_encode(v, true))).collect();
        q.sort();
        let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let host = match self.endpoint.port() {
            Some(p) => format!("{}:{p}", self.endpoint.host_str().unwrap_or_default()),
            None => self.endpoint.host_str().unwrap_or_default().to_owned(),
        };
        let now = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(super::now_micros()) * 1000)
            .map_err(|e| BackupError::Target(e.to_string()))?;
        let date = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
        let amz_date = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
        let payload = hex::encode(Sha256::digest(&body));
        let canonical = format!(
            "{method}\n{canonical_uri}\n{canonical_query}\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload}"
        );
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut k = hmac(format!("AWS4{}", self.secret.as_str()).as_bytes(), date.as_bytes());
        for part in [self.region.as_bytes(), b"s3", b"aws4_request"] {
            k = hmac(&k, part);
        }
        let signature = hex::encode(hmac(&k, to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
            self.access
        );
        let mut url = self.endpoint.clone();
        url.set_path(&canonical_uri);
        url.set_query(if canonical_query.is_empty() { None } else { Some(&canonical_query) });
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| BackupError::Target(e.to_string()))?;
        let req = self
            .client
            .request(method, url)
            .header("authorization", auth)
            .header("x-amz-date", amz_date)
            .header("x-amz-content-sha256", payload)
            .body(body);
        block(async {
            let res = req.send().await.map_err(|e| BackupError::Target(format!("s3 {}: {}", self.describe(), e.without_url())))?;
            let status = res.status().as_u16();
            let bytes = res.bytes().await.map_err(|e| BackupError::Target(format!("s3 {}: {}", self.describe(), e.without_url())))?;
            Ok((status, bytes.to_vec()))
        })
    }

    fn ok(&self, what: &str, key: &str, (status, body): (u16, Vec<u8>)) -> Result<Vec<u8>, BackupError> {
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let code = xml_values(&String::from_utf8_lossy(&body), "Code").into_iter().next().unwrap_or_default();
        Err(BackupError::Target(format!("s3 {what} {}{key}: HTTP {status} {code}", self.describe_prefix())))
    }

    fn describe_prefix(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Every key under `prefix` (relative to the target's prefix is not applied here).
    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<(Vec<String>, Vec<String>), BackupError> {
        let (mut keys, mut prefixes, mut token) = (Vec::new(), Vec::new(), None::<String>);
        loop {
            let mut q = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(d) = delimiter {
                q.push(("delimiter", d));
            }
            if let Some(t) = &token {
                q.push(("continuation-token", t));
            }
            let body = self.ok("list", prefix, self.request("GET", "", &q, Vec::new())?)?;
            let text = String::from_utf8_lossy(&body);
            for contents in xml_blocks(&text, "Contents") {
                keys.extend(xml_values(contents, "Key"));
            }
            for common in xml_blocks(&text, "CommonPrefixes") {
                prefixes.extend(xml_values(common, "Prefix"));
            }
            token = xml_values(&text, "NextContinuationToken").into_iter().next();
            if xml_values(&text, "IsTruncated").first().map(String::as_str) != Some("true") || token.is_none() {
                return Ok((keys, prefixes));
            }
        }
    }
}

impl Target for S3Target {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    fn create_part(&self, id: &str, name: &str) -> Result<Box<dyn PartWriter>, BackupError> {
        check_id(id)?;
        Ok(Box::new(S3Part { target: self.clone_handle(), key: self.key(&format!("{id}/{name}")), buf: Vec::new() }))
    }

    fn open(&self, id: &str, name: &str) -> Result<Box<dyn Read + Send>, BackupError> {
        check_id(id)?;
        let key = self.key(&format!("{id}/{name}"));
        let body = self.ok("get", &format!("{id}/{name}"), self.request("GET", &key, &[], Vec::new())?)?;
        Ok(Box::new(std::io::Cursor::new(body)))
    }

    fn put_atomic(&self, key: &str, bytes: &[u8]) -> Result<(), BackupError> {
        self.ok("put", key, self.request("PUT", &self.key(key), &[], bytes.to_vec())?).map(|_| ())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackupError> {
        let res = self.request("GET", &self.key(key), &[], Vec::new())?;
        if res.0 == 404 {
            return Ok(None);
        }
        self.ok("get", key, res).map(Some)
    }

    fn ids(&self) -> Result<Vec<String>, BackupError> {
        let (_, prefixes) = self.list(&self.prefix, Some("/"))?;
        let mut ids: Vec<String> = prefixes
            .iter()
            .filter_map(|p| p.strip_prefix(&self.prefix))
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|id| check_id(id).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn remove(&self, id: &str) -> Result<(), BackupError> {
        check_id(id)?;
        // The manifest first, so a prune killed midway never leaves a complete-looking backup.
        for name in [super::target::MANIFEST, super::target::KEYS_MANIFEST] {
            let manifest = self.key(&format!("{id}/{name}"));
            self.ok("delete", id, self.request("DELETE", &manifest, &[], Vec::new())?)?;
        }
        let (keys, _) = self.list(&self.key(&format!("{id}/")), None)?;
        for key in keys {
            self.ok("delete", id, self.request("DELETE", &key, &[], Vec::new())?)?;
        }
        Ok(())
    }
}

impl S3Target {
    fn clone_handle(&self) -> S3Target {
        S3Target {
            client: self.client.clone(),
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            access: self.access.clone(),
            secret: self.secret.clone(),
            region: self.region.clone(),
        }
    }
}

struct S3Part {
    target: S3Target,
    key: String,
    buf: Vec<u8>,
}

impl Write for S3Part {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl PartWriter for S3Part {
    fn commit(self: Box<Self>) -> Result<(), BackupError> {
        let S3Part { target, key, buf } = *self;
        target.ok("put", &key, target.request("PUT", &key, &[], buf)?).map(|_| ())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// SigV4's URI encoding: unreserved characters kept, '/' kept in paths, all else %XX.
fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The texts of `<tag>…</tag>` in a small, trusted-shape XML answer (entities decoded).
fn xml_values(text: &str, tag: &str) -> Vec<String> {
    xml_blocks(text, tag)
        .into_iter()
        .map(|v| v.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&"))
        .collect()
}

fn xml_blocks<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_the_aws_example() {
        // From AWS's SigV4 documentation: the derived signing key for this secret, date,
        // region and service.
        let mut k = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        for part in [&b"us-east-1"[..], b"iam", b"aws4_request"] {
            k = hmac(&k, part);
        }
        assert_eq!(hex::encode(k), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    }

    #[test]
    fn xml_lists_and_encoding() {
        let x = "<R><CommonPrefixes><Prefix>p/a&amp;b/</Prefix></CommonPrefixes><IsTruncated>false</IsTruncated></R>";
        assert_eq!(xml_values(x, "Prefix"), vec!["p/a&b/"]);
        assert_eq!(uri_encode("/b/k y+z", false), "/b/k%20y%2Bz");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        assert!(open("Bad_Bucket/x").is_err());
    }
}
