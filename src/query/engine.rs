//! Where queries run: in this process (`local`, the default) or on an Apache DataFusion
//! Ballista cluster (`ballista://HOST:PORT`, the scheduler's gRPC address).
//!
//! The choice is parsed here once, in every build, so that a binary built without the
//! `ballista` cargo feature refuses `--engine ballista://…` with a message saying how to get
//! one that has it, instead of an unknown-flag error or a silent local run.

use std::fmt;

/// Where a session's queries run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista scheduler; executors read the lake from the same absolute path.
    Ballista {
        /// `host:port` of the scheduler's gRPC endpoint.
        scheduler: String,
    },
}

/// Why an `--engine` value was refused.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Neither `local` nor `ballista://HOST:PORT`.
    #[error("--engine must be `local` or `ballista://HOST:PORT`, not {0:?}")]
    Syntax(String),
    /// This binary has no Ballista client compiled in.
    #[error(
        "--engine {0} needs a kvaudit built with the `ballista` feature \
         (cargo build --release --features ballista); this one runs queries locally only"
    )]
    NotBuiltIn(String),
}

/// The port a Ballista scheduler listens on unless told otherwise.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

impl Engine {
    /// Parses `local` or `ballista://HOST[:PORT]` (port 50050 when left out).
    pub fn parse(text: &str) -> Result<Engine, EngineError> {
        let text = text.trim();
        if text == "local" {
            return Ok(Engine::Local);
        }
        let Some(rest) = text.strip_prefix("ballista://") else {
            return Err(EngineError::Syntax(text.to_owned()));
        };
        let rest = rest.trim_end_matches('/');
        let url = url::Url::parse(&format!("http://{rest}")).map_err(|_| EngineError::Syntax(text.to_owned()))?;
        let host = match url.host_str() {
            Some(h) if !h.is_empty() && url.path() == "/" && url.query().is_none() => h.to_owned(),
            _ => return Err(EngineError::Syntax(text.to_owned())),
        };
        if !cfg!(feature = "ballista") {
            return Err(EngineError::NotBuiltIn(text.to_owned()));
        }
        let port = url.port().unwrap_or(DEFAULT_SCHEDULER_PORT);
        Ok(Engine::Ballista { scheduler: format!("{host}:{port}") })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { scheduler } => write!(f, "ballista://{scheduler}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_malformed_values() {
        assert_eq!(Engine::parse("local").unwrap(), Engine::Local);
        for bad in ["", "ballista", "http://h:1", "ballista://", "ballista://h:1/x", "ballista://h:notaport"] {
            assert!(matches!(Engine::parse(bad), Err(EngineError::Syntax(_))), "{bad:?}");
        }
    }

    #[cfg(not(feature = "ballista"))]
    #[test]
    fn ballista_needs_the_feature() {
        let err = Engine::parse("ballista://sched:50050").unwrap_err();
        assert!(matches!(err, EngineError::NotBuiltIn(_)));
        assert!(err.to_string().contains("--features ballista"), "{err}");
    }
}
