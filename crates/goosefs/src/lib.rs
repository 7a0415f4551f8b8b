//! The GooseFS runtime that kubectl-goosefs's manifests run: one binary, `goosefs`, whose
//! subcommands are the container args the templates write (`master-only --no-format`,
//! `worker-only --no-format`, `fuse --fuse-opts=...`, `job-master`, `job-worker`, `proxy`,
//! `fs ...`, `fsadmin ...`). Configuration is read as a pod gets it: the ConfigMap's
//! `GOOSEFS_*_JAVA_OPTS` through [`goosefs_conf`], the same contract the plugin writes.
//!
//! Layers: [`config`] (what each process reads) → [`master`] (namespace state machine, Raft
//! membership, UFS metadata and workers, RPC and web ports) on [`raft`] (openraft types and
//! network) and [`journal`] (redb); [`worker`] (tiered block store, block reads) and [`ufs`]
//! (Apache OpenDAL) → [`api`] (the protocol) ← [`client`] (masters) and [`reader`] (bytes) →
//! [`fs`], [`fsdata`], [`jobs`] (client commands and their output) and [`fuse`] (the POSIX
//! mount); [`net`] is the one transport, [`cli`] parses and dispatches.

pub mod auth;
pub mod blockfile;
pub mod cli;
pub mod client;
pub mod config;
pub mod fs;
pub mod fsdata;
pub mod fuse;
pub mod jobs;
pub mod master;
pub mod net;
pub mod proto;
pub mod reader;
pub mod services;
mod signal;
pub mod ufs;
pub mod worker;
