//! kvaudit's integration tests, in one binary so they link once. Each module starts the
//! real `kvaudit` binary or reads a real lake; none of them fakes a part.

mod api;
mod azurite;
mod bad_input;
#[cfg(feature = "ballista")]
mod ballista;
mod blobs;
mod browser;
mod cli;
mod common;
mod compact;
mod crash;
mod dashboard;
mod deliver;
mod detect;
mod export;
mod filter_while_decoding;
mod fixtures;
mod folding;
mod growth;
mod lifecycle;
mod practice;
mod pruning;
mod queries;
mod redaction;
mod remote_lake;
mod retention;
mod serve;
mod service;
mod smtp;
mod soak;
