//! An Ed25519 key in AWS KMS (key spec `ECC_NIST_EDWARDS25519`): the public key from
//! `GetPublicKey`, signatures from `Sign` with `ED25519_SHA_512` over the raw message (pure
//! Ed25519, as a key file signs). KMS signs messages of at most 4096 bytes, so minisign signatures
//! of longer files are made over their BLAKE2b-512 (minisign's `ED` form, see
//! [`Signer::signs_long_messages`]).
//!
//! Requests are KMS's JSON protocol over HTTPS, signed with AWS Signature Version 4 by the
//! credentials in the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and
//! `AWS_SESSION_TOKEN` for temporary ones), or a role's temporary keys for the web identity token
//! in `AWS_WEB_IDENTITY_TOKEN_FILE` (`AWS_ROLE_ARN`; EKS sets both), fetched from STS and fetched
//! again before they expire. A secret is used to sign requests and nowhere else.

use std::fmt::Write as _;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cairn_evidence::digest::hmac_sha256;
use cairn_evidence::signer::{SignError, Signer};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// The largest message KMS signs as it is.
pub const MAX_MESSAGE: usize = 4096;

/// An Ed25519 key in AWS KMS (`[signing] backend = "aws-kms"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKmsConfig {
    /// The key's id, ARN, alias (`alias/cairn`) or alias ARN.
    pub key_id: String,
    /// The region, such as `eu-west-1`.
    pub region: String,
    /// The KMS endpoint: `https://kms.<region>.amazonaws.com` unless set (a VPC endpoint, or a
    /// local emulator in tests).
    pub endpoint: Option<String>,
}

impl AwsKmsConfig {
    /// The endpoint requests go to.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| format!("https://kms.{}.amazonaws.com", self.region))
    }

    /// The endpoint as requests use it, and the `Host` they are signed for. It must be HTTPS,
    /// or plain HTTP to this machine (a local emulator), with no path.
    pub fn endpoint_url(&self) -> Result<(reqwest::Url, String), String> {
        let endpoint = self.endpoint();
        let url = reqwest::Url::parse(&endpoint).map_err(|e| format!("endpoint {endpoint:?} is not a URL: {e}"))?;
        let host = url.host_str().ok_or_else(|| format!("endpoint {endpoint:?} names no host"))?;
        let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        if !(url.scheme() == "https" || (url.scheme() == "http" && local)) {
            return Err(format!("endpoint {endpoint:?} must be https:// (plain http only to this machine)"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(format!("endpoint {endpoint:?} must have no path"));
        }
        // The Host header names the port only when it is not the scheme's own.
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok((url, host))
    }

    /// The key, for messages.
    pub fn describe(&self) -> String {
        format!("AWS KMS key {:?} ({})", self.key_id, self.endpoint())
    }
}

/// Why an AWS KMS key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsKmsError {
    /// A credential variable is not set.
    #[error("{what}: ${var} is not set (AWS credentials are read from the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)")]
    NoCredentials {
        /// The key.
        what: String,
        /// The variable.
        var: &'static str,
    },
    /// KMS could not be reached, or refused the request.
    #[error("{what}: {detail}")]
    Request {
        /// The key and the operation.
        what: String,
        /// Why.
        detail: String,
    },
    /// The key is not an Ed25519 signing key.
    #[error("{what}: {detail}")]
    Key {
        /// The key.
        what: String,
        /// Why.
        detail: String,
    },
}

/// A set of AWS credentials.
#[derive(Clone)]
struct Credentials {
    access_key: String,
    secret: String,
    session_token: Option<String>,
}

/// Where the credentials come from: the environment's keys, or a web identity token exchanged
/// with STS for a role's temporary keys (`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, as
/// EKS and other OIDC platforms set them), fetched again before they expire.
enum CredentialSource {
    Keys(Credentials),
    WebIdentity {
        role_arn: String,
        token_file: std::path::PathBuf,
        session_name: String,
        sts: String,
        current: std::sync::Mutex<Option<(Credentials, DateTime<Utc>)>>,
    },
}

impl CredentialSource {
    fn from_env(what: &str, region: &str) -> Result<Self, AwsKmsError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let (Some(access_key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            return Ok(Self::Keys(Credentials { access_key, secret, session_token: var("AWS_SESSION_TOKEN") }));
        }
        if let (Some(role_arn), Some(token_file)) = (var("AWS_ROLE_ARN"), var("AWS_WEB_IDENTITY_TOKEN_FILE")) {
            return Ok(Self::WebIdentity {
                role_arn,
                token_file: token_file.into(),
                session_name: var("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "cairn".into()),
                sts: var("AWS_ENDPOINT_URL_STS").unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com")),
                current: std::sync::Mutex::new(None),
            });
        }
        let missing = if var("AWS_ACCESS_KEY_ID").is_some() { "AWS_SECRET_ACCESS_KEY" } else { "AWS_ACCESS_KEY_ID" };
        Err(AwsKmsError::NoCredentials { what: what.to_string(), var: missing })
    }

    /// Credentials to sign a request with now.
    fn get(&self, what: &str) -> Result<Credentials, AwsKmsError> {
        match self {
            Self::Keys(keys) => Ok(keys.clone()),
            Self::WebIdentity { role_arn, token_file, session_name, sts, current } => {
                let mut current = current.lock().map_err(|_| AwsKmsError::Request {
                    what: what.to_string(),
                    detail: "the credentials were poisoned by a panic".into(),
                })?;
                if let Some((keys, expires)) = current.as_ref() {
                    if *expires > Utc::now() + chrono::Duration::minutes(5) {
                        return Ok(keys.clone());
                    }
                }
                let fetched =
                    assume_role_with_web_identity(role_arn, token_file, session_name, sts).map_err(|detail| {
                        AwsKmsError::Request { what: format!("{what}: STS AssumeRoleWithWebIdentity"), detail }
                    })?;
                *current = Some(fetched.clone());
                Ok(fetched.0)
            }
        }
    }
}

/// Exchanges the web identity token in `token_file` for the role's temporary credentials (STS's
/// query protocol; the request is authorised by the token, not signed).
fn assume_role_with_web_identity(
    role_arn: &str,
    token_file: &std::path::Path,
    session_name: &str,
    sts: &str,
) -> Result<(Credentials, DateTime<Utc>), String> {
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| format!("cannot read the web identity token {}: {e}", token_file.display()))?;
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token.trim()),
    ];
    let body = form.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect::<Vec<_>>().join("&");
    let url = reqwest::Url::parse(sts).map_err(|e| format!("STS endpoint {sts:?}: {e}"))?;
    let headers = [("content-type", "application/x-www-form-urlencoded".to_string())];
    let (status, text) = post(&url, &headers, body.into_bytes())?;
    if !status.is_success() {
        let code = xml_text(&text, "Code").unwrap_or_default();
        let message = xml_text(&text, "Message").unwrap_or_default();
        return Err(format!("HTTP {status}: {code}: {message}"));
    }
    let field = |tag: &str| xml_text(&text, tag).ok_or_else(|| format!("the reply has no {tag}"));
    let expires = DateTime::parse_from_rfc3339(&field("Expiration")?)
        .map_err(|e| format!("the reply's Expiration: {e}"))?
        .with_timezone(&Utc);
    let keys = Credentials {
        access_key: field("AccessKeyId")?,
        secret: field("SecretAccessKey")?,
        session_token: Some(field("SessionToken")?),
    };
    Ok((keys, expires))
}

/// The text of the first `<tag>` element of an STS reply, unescaped.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    let text = &xml[start..end];
    Some(
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// `application/x-www-form-urlencoded` for one value: every byte but the unreserved ones
/// percent-encoded.
fn form_encode(value: &str) -> String {
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// An Ed25519 key in AWS KMS.
pub struct AwsKmsSigner {
    config: AwsKmsConfig,
    credentials: CredentialSource,
    public: VerifyingKey,
}

impl std::fmt::Debug for AwsKmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsSigner").field("key", &self.config.describe()).finish_non_exhaustive()
    }
}

impl AwsKmsSigner {
    /// Reads the key's public key and checks it is an Ed25519 signing key.
    pub fn open(config: &AwsKmsConfig) -> Result<Self, AwsKmsError> {
        let what = config.describe();
        let credentials = CredentialSource::from_env(&what, &config.region)?;
        let reply =
            call(config, &credentials.get(&what)?, "GetPublicKey", &json!({ "KeyId": config.key_id }), Utc::now())?;
        let key = |detail: String| AwsKmsError::Key { what: what.clone(), detail };
        let spec = reply["KeySpec"].as_str().unwrap_or_default();
        if spec != "ECC_NIST_EDWARDS25519" || reply["KeyUsage"].as_str() != Some("SIGN_VERIFY") {
            return Err(key(format!(
                "it is a {spec} key for {}; Cairn signs with an ECC_NIST_EDWARDS25519 key for SIGN_VERIFY",
                reply["KeyUsage"].as_str().unwrap_or("?")
            )));
        }
        let der = reply["PublicKey"]
            .as_str()
            .and_then(|k| B64.decode(k).ok())
            .ok_or_else(|| key("GetPublicKey returned no public key".into()))?;
        let public =
            ed25519_spki(&der).ok_or_else(|| key("its public key is not an Ed25519 SubjectPublicKeyInfo".into()))?;
        Ok(Self { config: config.clone(), credentials, public })
    }
}

impl Signer for AwsKmsSigner {
    fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        let failed = |detail: String| SignError::Failed { signer: self.config.describe(), detail };
        if message.len() > MAX_MESSAGE {
            return Err(failed(format!("KMS signs at most {MAX_MESSAGE} bytes; this message is {}", message.len())));
        }
        let body = json!({
            "KeyId": self.config.key_id,
            "Message": B64.encode(message),
            "MessageType": "RAW",
            "SigningAlgorithm": "ED25519_SHA_512",
        });
        let reply = self
            .credentials
            .get(&self.config.describe())
            .and_then(|keys| call(&self.config, &keys, "Sign", &body, Utc::now()))
            .map_err(|e| failed(e.to_string()))?;
        let bytes = reply["Signature"].as_str().and_then(|s| B64.decode(s).ok()).unwrap_or_default();
        Signature::from_slice(&bytes)
            .map_err(|_| failed(format!("Sign returned {} bytes, not an Ed25519 signature", bytes.len())))
    }

    fn describe(&self) -> String {
        self.config.describe()
    }

    fn signs_long_messages(&self) -> bool {
        false
    }
}

/// The 32-byte key of an Ed25519 SubjectPublicKeyInfo (RFC 8410): `30 2a 30 05 06 03 2b 65 70 03
/// 21 00` and the key.
fn ed25519_spki(der: &[u8]) -> Option<VerifyingKey> {
    const PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    let key: [u8; 32] = der.strip_prefix(&PREFIX)?.try_into().ok()?;
    VerifyingKey::from_bytes(&key).ok()
}

/// One KMS operation: the request signed with SigV4, sent, and its JSON reply (or KMS's error,
/// by its `__type` and message).
fn call(
    config: &AwsKmsConfig,
    credentials: &Credentials,
    operation: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, AwsKmsError> {
    let what = format!("{}: {operation}", config.describe());
    let request = |detail: String| AwsKmsError::Request { what: what.clone(), detail };
    let (url, host) = config.endpoint_url().map_err(&request)?;
    let body = body.to_string().into_bytes();
    let target = format!("TrentService.{operation}");
    let headers = sigv4_headers(&SigV4 {
        credentials,
        region: &config.region,
        service: "kms",
        host: &host,
        target: &target,
        body: &body,
        now,
    });
    let sent = post(&url, &headers, body);
    let (status, text) = sent.map_err(request)?;
    let reply: Value = serde_json::from_str(&text).map_err(|_| {
        request(format!("HTTP {status}, not a KMS reply: {}", text.chars().take(200).collect::<String>()))
    })?;
    if !status.is_success() {
        let kind = reply["__type"].as_str().unwrap_or("an error");
        let kind = kind.rsplit('#').next().unwrap_or(kind);
        let message = reply["message"].as_str().or_else(|| reply["Message"].as_str()).unwrap_or_default();
        return Err(request(format!("HTTP {status}: {kind}: {message}")));
    }
    Ok(reply)
}

/// POSTs `body` with `headers` and returns the status and text of the reply. A thread of its own:
/// the blocking client must not run on an async runtime's worker.
fn post(
    url: &reqwest::Url,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<(reqwest::StatusCode, String), String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut builder = client.post(url.clone()).body(body);
                for (name, value) in headers {
                    builder = builder.header(*name, value);
                }
                let reply = builder.send().map_err(|e| e.to_string())?;
                let status = reply.status();
                let text = reply.text().map_err(|e| e.to_string())?;
                Ok((status, text))
            })
            .join()
            .map_err(|_| "the request thread panicked".to_string())?
    })
}

/// What a SigV4-signed KMS request is made of.
struct SigV4<'a> {
    credentials: &'a Credentials,
    region: &'a str,
    service: &'a str,
    host: &'a str,
    target: &'a str,
    body: &'a [u8],
    now: DateTime<Utc>,
}

/// The headers of a POST to `/` signed with AWS Signature Version 4 (the `Authorization` header and
/// those it signs).
fn sigv4_headers(r: &SigV4<'_>) -> Vec<(&'static str, String)> {
    let stamp = r.now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = &stamp[..8];
    let mut headers: Vec<(&'static str, String)> = vec![
        ("content-type", "application/x-amz-json-1.1".into()),
        ("host", r.host.to_string()),
        ("x-amz-date", stamp.clone()),
    ];
    if let Some(token) = &r.credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    headers.push(("x-amz-target", r.target.to_string()));
    let signed: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let signed = signed.join(";");
    let canonical_headers = headers.iter().fold(String::new(), |mut out, (n, v)| {
        let _ = writeln!(out, "{n}:{}", v.trim());
        out
    });
    let canonical = format!("POST\n/\n\n{canonical_headers}\n{signed}\n{}", hex(&Sha256::digest(r.body)));
    let scope = format!("{day}/{}/{}/aws4_request", r.region, r.service);
    let to_sign = format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
    let mut key = hmac_sha256(format!("AWS4{}", r.credentials.secret).as_bytes(), day.as_bytes());
    for part in [r.region, r.service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
    headers.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            r.credentials.access_key
        ),
    ));
    // `host` is the one reqwest writes from the URL.
    headers.retain(|(n, _)| *n != "host");
    headers
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_local_and_sign_for_their_host() {
        let config = |endpoint: Option<&str>| AwsKmsConfig {
            key_id: "alias/cairn".into(),
            region: "eu-west-1".into(),
            endpoint: endpoint.map(String::from),
        };
        let host = |endpoint: Option<&str>| config(endpoint).endpoint_url().map(|(_, host)| host);
        assert_eq!(host(None).unwrap(), "kms.eu-west-1.amazonaws.com");
        assert_eq!(host(Some("https://kms.eu-west-1.amazonaws.com:443/")).unwrap(), "kms.eu-west-1.amazonaws.com");
        assert_eq!(host(Some("https://vpce.example:8443")).unwrap(), "vpce.example:8443");
        assert_eq!(host(Some("http://127.0.0.1:4566")).unwrap(), "127.0.0.1:4566");
        assert!(host(Some("http://kms.example")).unwrap_err().contains("must be https://"));
        assert!(host(Some("https://proxy.example/kms")).unwrap_err().contains("must have no path"));
    }

    #[test]
    fn sts_replies_and_form_values_are_read_and_written_exactly() {
        let reply = "<R><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>a&amp;b/c+d</SecretAccessKey>\
                     </Credentials><Error><Code>AccessDenied</Code></Error></R>";
        assert_eq!(xml_text(reply, "AccessKeyId").as_deref(), Some("ASIA1"));
        assert_eq!(xml_text(reply, "SecretAccessKey").as_deref(), Some("a&b/c+d"));
        assert_eq!(xml_text(reply, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_text(reply, "SessionToken"), None);
        assert_eq!(form_encode("arn:aws:iam::1:role/x y~.-_"), "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y~.-_");
    }

    #[test]
    fn an_ed25519_spki_gives_its_key_and_nothing_else_does() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key();
        let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        der.extend_from_slice(key.as_bytes());
        assert_eq!(ed25519_spki(&der), Some(key));
        der[8] = 0x71; // Ed448's OID
        assert_eq!(ed25519_spki(&der), None);
        assert_eq!(ed25519_spki(&der[..20]), None);
    }
}
