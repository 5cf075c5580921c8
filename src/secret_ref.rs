//! Secrets the configuration needs (SMTP password, webhook signing key, SAS token), named by
//! reference and never written in the config file.
//!
//! A config value that holds a secret is a table, `{ env = "NAME" }` or `{ file = "PATH" }`.
//! A plain string is refused when the config is read, with a message saying how to
//! reference it instead: kvaudit audits that secrets live apart from code and config, and
//! follows it.
//!
//! Invariant: a resolved [`Secret`] never prints its value: `Debug` and `Display` show
//! where it came from only, so a secret cannot leak through a log line or an error. Config
//! text is parsed with [`parse_config`], whose errors name a line and column but never quote
//! the file (the `toml` crate's own message quotes the offending line, which may hold the
//! very secret being refused).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretRefError {
    /// The environment variable named by `{ env = ... }` is not set (or not Unicode).
    #[error("the environment variable {name} is not set")]
    MissingEnv { name: String },
    /// The file named by `{ file = ... }` could not be read.
    #[error("cannot read the secret file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// The variable or file is there but holds nothing.
    #[error("{origin} is empty")]
    Empty { origin: String },
}

/// Where a secret is: an environment variable or a file (a mounted Kubernetes or Docker
/// secret, for example). Deserializes only from a table; a literal string is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    /// Reads the secret now. A file's trailing newline is not part of the secret.
    pub fn resolve(&self) -> Result<Secret, SecretRefError> {
        let value = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretRefError::MissingEnv { name: name.clone() })?
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|source| SecretRefError::File { path: path.clone(), source })?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        };
        if value.is_empty() {
            return Err(SecretRefError::Empty { origin: self.to_string() });
        }
        Ok(Secret { value, origin: self.to_string() })
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "environment variable {name}"),
            SecretRef::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A config file that is not valid TOML for the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ConfigSyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses config text into `T`. Errors say where and why without quoting the text.
pub fn parse_config<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigSyntaxError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
        ConfigSyntaxError { line, column, message: e.message().trim().to_string() }
    })
}

/// What a secret field may hold in TOML: the table form, or (refused) a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSecretRef {
    Env {
        env: String,
    },
    File {
        file: PathBuf,
    },
    // Matched only to refuse it with a helpful message; the value is never read or echoed.
    #[allow(dead_code)]
    Literal(String),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The literal is dropped unread: the error must not echo it.
        match RawSecretRef::deserialize(deserializer) {
            Ok(RawSecretRef::Env { env }) => Ok(SecretRef::Env(env)),
            Ok(RawSecretRef::File { file }) => Ok(SecretRef::File(file)),
            Ok(RawSecretRef::Literal(_)) => Err(serde::de::Error::custom(
                "a secret is never written in the config file: reference it as { env = \"VARIABLE\" } \
                 or { file = \"/path/to/secret\" }",
            )),
            Err(_) => Err(serde::de::Error::custom(
                "expected { env = \"VARIABLE\" } or { file = \"/path/to/secret\" } for a secret",
            )),
        }
    }
}

/// A secret value read from its reference. Only [`Secret::expose`] gives the value.
#[derive(Clone)]
pub struct Secret {
    value: String,
    origin: String,
}

impl Secret {
    /// The value, for the one call that needs it (an SMTP login, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Wraps a value produced in process (a generated token), so it prints as redacted too.
    pub fn from_value(value: String, origin: &str) -> Secret {
        Secret { value, origin: origin.to_string() }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(from {}, redacted)", self.origin)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret from {}>", self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Smtp {
        password: SecretRef,
    }

    #[test]
    fn references_parse_and_literals_are_refused_without_echo() {
        let env: Smtp = parse_config(r#"password = { env = "KV_SMTP" }"#).unwrap();
        assert_eq!(env.password, SecretRef::Env("KV_SMTP".into()));
        let file: Smtp = parse_config(r#"password = { file = "/run/secrets/smtp" }"#).unwrap();
        assert_eq!(file.password, SecretRef::File("/run/secrets/smtp".into()));

        let err = parse_config::<Smtp>("# smtp\npassword = \"hunter2-literal\"").unwrap_err().to_string();
        assert!(err.starts_with("line 2, column 12: "), "{err}");
        assert!(err.contains("never written in the config file"), "{err}");
        assert!(err.contains("{ env = "), "{err}");
        assert!(!err.contains("hunter2"), "the refusal echoes the secret: {err}");
    }

    #[test]
    fn a_file_secret_resolves_without_its_newline_and_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smtp");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let secret = SecretRef::File(path.clone()).resolve().unwrap();
        assert_eq!(secret.expose(), "s3cr3t-value");
        for shown in [format!("{secret:?}"), format!("{secret}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains(&path.display().to_string()), "{shown}");
        }
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(SecretRef::File(path).resolve(), Err(SecretRefError::Empty { .. })));
        let missing = SecretRef::Env("KVAUDIT_TEST_SURELY_UNSET_VARIABLE".into()).resolve().unwrap_err();
        assert!(missing.to_string().contains("KVAUDIT_TEST_SURELY_UNSET_VARIABLE"));
    }
}
