//! Client certificates: a PEM file holding an RSA private key and its certificate, and the
//! RS256-signed client assertion Entra ID accepts in place of a client secret.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AuthError;

/// How long a client assertion is valid. Entra accepts at most 10 minutes; a short window limits
/// the damage if one leaks.
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// An RSA private key plus its X.509 certificate, loaded from PEM. `Debug` shows only the path
/// and the certificate thumbprint (public), never the key.
#[derive(Clone)]
pub struct ClientCertificate {
    path: PathBuf,
    key: Arc<EncodingKey>,
    thumbprint_s256: String,
}

impl ClientCertificate {
    /// Reads `path` (`AZURE_CLIENT_CERTIFICATE_PATH`): PEM with a `PRIVATE KEY` or
    /// `RSA PRIVATE KEY` block and a `CERTIFICATE` block, in any order.
    pub fn from_file(path: &Path) -> Result<Self, AuthError> {
        let bytes = std::fs::read(path).map_err(|e| AuthError::Certificate {
            path: path.to_owned(),
            reason: format!("cannot read it: {e}"),
        })?;
        Self::from_pem(&bytes, path)
    }

    /// Parses PEM text; `path` is used only to name the source in errors.
    pub fn from_pem(pem: &[u8], path: &Path) -> Result<Self, AuthError> {
        let fail = |reason: &str| AuthError::Certificate {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let text = std::str::from_utf8(pem).map_err(|_| fail("it is not PEM text"))?;
        let blocks = pem_blocks(text);
        if blocks.iter().any(|b| b.label == "ENCRYPTED PRIVATE KEY") {
            return Err(fail(
                "the private key is encrypted; export it without a password (and protect the file instead)",
            ));
        }
        let key_block = blocks
            .iter()
            .find(|b| b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY")
            .ok_or_else(|| {
                fail("no PRIVATE KEY block; the file must hold the private key and the certificate")
            })?;
        let cert_block = blocks
            .iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| {
                fail("no CERTIFICATE block; the file must hold the private key and the certificate")
            })?;
        // Re-wrap the key block alone: jsonwebtoken reads only the first PEM block of its input.
        let key_pem = SecretString::from(format!(
            "-----BEGIN {label}-----\n{body}\n-----END {label}-----\n",
            label = key_block.label,
            body = key_block.body
        ));
        let key =
            EncodingKey::from_rsa_pem(secrecy::ExposeSecret::expose_secret(&key_pem).as_bytes())
                .map_err(|_| {
                    fail("the private key is not a usable RSA key (only RSA keys are supported)")
                })?;
        let der = STANDARD
            .decode(cert_block.body.as_bytes())
            .map_err(|_| fail("the CERTIFICATE block is not valid base64"))?;
        Ok(ClientCertificate {
            path: path.to_owned(),
            key: Arc::new(key),
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }

    /// The base64url SHA-256 thumbprint of the DER certificate (`x5t#S256`).
    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A client assertion for `client_id` at `token_url`, valid from `now` for 10 minutes.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: Timestamp,
    ) -> Result<SecretString, AuthError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint_s256.clone());
        let iat = now.as_second();
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: iat,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| AuthError::Signing {
                reason: e.to_string(),
            })
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("path", &self.path)
            .field("thumbprint_s256", &self.thumbprint_s256)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

struct PemBlock<'a> {
    label: &'a str,
    /// Base64 body with line breaks removed.
    body: String,
}

/// Splits PEM text into its blocks; text outside blocks (comments, bag attributes) is ignored.
fn pem_blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let body_start = &after[label_end + "-----".len()..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        blocks.push(PemBlock { label, body });
        rest = &body_start[body_end + end_marker.len()..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    const TEST_PEM: &str = include_str!("../../tests/data/test-only-client-cert.pem");

    #[derive(serde::Deserialize)]
    struct Claims {
        aud: String,
        iss: String,
        sub: String,
        jti: String,
        nbf: i64,
        exp: i64,
    }

    #[test]
    fn assertion_verifies_with_the_certificate_public_key() {
        let cert = ClientCertificate::from_pem(TEST_PEM.as_bytes(), Path::new("test.pem"))
            .expect("test PEM loads");
        let now = Timestamp::now();
        let aud = "https://login.example/t/oauth2/v2.0/token";
        let jwt = cert.assertion("client-1", aud, now).expect("signs");
        let blocks = pem_blocks(TEST_PEM);
        let cert_block = blocks
            .iter()
            .find(|b| b.label == "CERTIFICATE")
            .expect("cert");
        let cert_pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            cert_block.body
        );
        let decoding = DecodingKey::from_rsa_pem(cert_pem.as_bytes()).expect("public key");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[aud]);
        let data = jsonwebtoken::decode::<Claims>(
            secrecy::ExposeSecret::expose_secret(&jwt),
            &decoding,
            &validation,
        )
        .expect("signature and claims verify");
        assert_eq!(
            data.header.x5t_s256.as_deref(),
            Some(cert.thumbprint_s256())
        );
        assert_eq!(data.claims.aud, aud);
        assert_eq!(data.claims.iss, "client-1");
        assert_eq!(data.claims.sub, "client-1");
        assert!(!data.claims.jti.is_empty());
        assert_eq!(data.claims.nbf, now.as_second());
        assert!(data.claims.exp - data.claims.nbf <= 600);
    }

    #[test]
    fn thumbprint_is_sha256_of_der() {
        let cert =
            ClientCertificate::from_pem(TEST_PEM.as_bytes(), Path::new("t.pem")).expect("loads");
        let blocks = pem_blocks(TEST_PEM);
        let der = STANDARD
            .decode(
                blocks
                    .iter()
                    .find(|b| b.label == "CERTIFICATE")
                    .expect("cert")
                    .body
                    .as_bytes(),
            )
            .expect("b64");
        assert_eq!(
            cert.thumbprint_s256(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
        );
        assert_eq!(cert.thumbprint_s256().len(), 43);
    }

    #[test]
    fn rejects_missing_parts_and_encrypted_keys() {
        let only_cert: String = {
            let start = TEST_PEM.find("-----BEGIN CERTIFICATE-----").expect("cert");
            TEST_PEM[start..].to_owned()
        };
        let err =
            ClientCertificate::from_pem(only_cert.as_bytes(), Path::new("c.pem")).unwrap_err();
        assert!(err.to_string().contains("no PRIVATE KEY block"), "{err}");
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = ClientCertificate::from_pem(enc.as_bytes(), Path::new("e.pem")).unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let err = ClientCertificate::from_pem(b"\xff\xfe", Path::new("b.pem")).unwrap_err();
        assert!(err.to_string().contains("not PEM"), "{err}");
    }
}
