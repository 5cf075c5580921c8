//! kvaudit's integration tests, in one binary so they link once. Each module starts the
//! real `kvaudit` binary or reads a real lake; none of them fakes a part.

mod azurite;
mod bad_input;
#[cfg(feature = "ballista")]
mod ballista;
mod blobs;
mod cli;
mod common;
mod crash;
mod detect;
mod export;
mod fixtures;
mod growth;
mod lifecycle;
mod practice;
mod queries;
mod redaction;
