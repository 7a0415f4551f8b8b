//! kubectl-goosefs: a client-side compiler for GooseFS on Kubernetes.
//!
//! Pipeline: [`load`] (files to position-carrying YAML trees) → [`model`] (typed `Dataset` and
//! `GooseFSRuntime`) → [`validate`] (schema and GooseFS rules, located diagnostics) →
//! [`compile`] (concrete Kubernetes manifests) → [`cluster`] (plan; apply to come) → [`output`] (reports,
//! manifests, plan diffs). The [`cli`] module maps command lines onto
//! these stages; `main.rs` only maps the result to an exit code.

pub mod cli;
pub mod cluster;
pub mod compile;
pub mod exit;
pub mod inject;
pub mod load;
pub mod model;
pub mod ops;
pub mod output;
pub mod validate;
