//! The GooseFS configuration contract: what `kubectl-goosefs render` writes into a runtime's
//! ConfigMap and container arguments, and what the `goosefs` runtime reads back. Both sides use
//! this crate, so they cannot drift apart: property names and defaults ([`keys`], [`fluid`]),
//! `-D` option strings with the JVM launcher's semantics ([`opts`]), host-port roles in Fluid's
//! allocation order ([`ports`]), byte sizes in GooseFS units ([`size`]), durations
//! ([`duration`]), tier levels ([`tier`]), embedded-journal addresses ([`journal`]), UFS
//! schemes ([`ufs`]), the runtime's credential: its Secret's items and roles ([`credential`]),
//! the Dataset's mounts as the masters read them ([`mounts`]), and Fluid's status of a runtime
//! and its Dataset with its number formats ([`fluid_status`]).
//!
//! Pure: no I/O (but the OS's random source for a new credential), no async, no dependency but
//! `thiserror`, `ring` and `base64` for the credential's keys, and serde for the declared mounts. Environment lookups are passed
//! in as functions, so the same code runs in the plugin's tests and in a container.

pub mod credential;
pub mod duration;
pub mod fluid;
pub mod fluid_status;
pub mod journal;
pub mod keys;
pub mod mounts;
pub mod opts;
pub mod ports;
pub mod size;
pub mod tier;
pub mod ufs;

pub use opts::{Conf, Role};
