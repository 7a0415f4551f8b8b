//! The GooseFS runtime that kubectl-goosefs's manifests run: one binary, `goosefs`, whose
//! subcommands are the container args the templates write (`master-only --no-format`,
//! `worker-only --no-format`, `fuse --fuse-opts=...`, `job-master`, `job-worker`, `proxy`,
//! `fs ...`, `fsadmin ...`). Configuration is read as a pod gets it: the ConfigMap's
//! `GOOSEFS_*_JAVA_OPTS` through [`goosefs_conf`], the same contract the plugin writes.
//!
//! Layers, bottom first (a module imports only modules below it; `tests/layers.rs` checks):
//! [`proto`] (the wire: routes, request and reply types, block framing, path bounds, typed
//! refusals), [`blockfile`] (the on-disk block format) and [`metrics`] (the `/metrics` text); [`ufs`] (one file per Apache OpenDAL
//! service, dispatched by goosefs-conf's scheme table), [`config`] (what each process reads) and
//! [`kubeapi`] (the Kubernetes API, for the status the leading master keeps);
//! [`auth`] (the credential handshake and the role table) under [`net`] (the one transport);
//! [`client`] (masters) and [`reader`] (bytes); the servers [`master`] (namespace state
//! machine, Raft and its journal, membership, UFS metadata, RPC and web ports) and [`worker`]
//! (tiered block store, block reads); the client commands [`fsdata`], [`fs`], [`fuse`] (the
//! POSIX mount) and [`jobs`]; [`services`] (job master, job worker, proxy); [`cli`] parses and
//! dispatches and [`exit`] says how a run ended.

pub mod auth;
pub mod blockfile;
pub mod cli;
pub mod client;
pub mod config;
pub mod databackup;
pub mod dataload;
pub mod exit;
pub mod fs;
pub mod fsdata;
pub mod fuse;
pub mod grant;
pub mod jobs;
pub mod kubeapi;
pub mod master;
pub mod metrics;
pub mod net;
pub mod proto;
pub mod reader;
pub mod services;
mod signal;
pub mod ufs;
pub mod worker;
