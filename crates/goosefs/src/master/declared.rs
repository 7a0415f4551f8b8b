//! The runtime's declared mounts ([`goosefs_conf::mounts`]: the Dataset's, from the master
//! container's environment), reconciled by the leader: whenever a master takes office, and every
//! [`PERIOD`] while it leads, it makes the mount table match them. A missing declared mount is
//! mounted (its parent directories made first), one whose declaration changed is mounted again,
//! and one no longer declared is unmounted. Mounts made by hand (`goosefs fs mount`) are never
//! touched: a hand mount at a declared path is left in place (named in the log when it differs
//! from the declaration).
//!
//! So a runtime whose masters all lost their journals (emptyDir journals and every master pod
//! deleted at once) serves its Dataset again with no mount Job and no human. What the journal
//! alone held (hand mounts, directories made with `fs mkdir`) is lost with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use goosefs_conf::mounts::Declared;

use super::Master;
use super::namespace::MountPoint;
use crate::proto::path::parent;
use crate::proto::{Answer, Write};

/// How often a leader checks the table again (a failed mount is retried this often).
pub const PERIOD: Duration = Duration::from_secs(10);

/// What the last passes found, for the runtime's status ([`super::status`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Declared paths whose last mount failed, with why (the UFS's answer).
    pub failures: BTreeMap<String, String>,
    /// When this leader last mounted a declared mount (seconds since the epoch).
    pub mounted_at: Option<i64>,
}

/// A declared mount with its secret options read from the environment: the write that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// GooseFS path.
    pub path: String,
    /// UFS URI.
    pub ufs: String,
    /// `--readonly`.
    pub read_only: bool,
    /// `--shared`.
    pub shared: bool,
    /// Every option, secret ones included.
    pub options: BTreeMap<String, String>,
}

impl Wanted {
    fn write(&self) -> Write {
        Write::Mount {
            path: self.path.clone(),
            ufs: self.ufs.clone(),
            read_only: self.read_only,
            shared: self.shared,
            options: self.options.clone(),
        }
    }

    /// Whether the journaled mount `point` is this one.
    fn matches(&self, point: &MountPoint) -> bool {
        point.ufs == self.ufs
            && point.read_only == self.read_only
            && point.shared == self.shared
            && point.options == self.options
    }
}

/// Reads a declared mount's secret options from `env`.
///
/// # Errors
/// The option and the variable that is not set (never a value).
pub fn resolve(d: &Declared, env: &dyn Fn(&str) -> Option<String>) -> Result<Wanted, String> {
    let mut options = d.options.clone();
    for (option, var) in &d.option_env {
        let value = env(var).ok_or_else(|| {
            format!(
                "declared mount {}: option {option} comes from the variable {var}, which is not set",
                d.path
            )
        })?;
        options.insert(option.clone(), value);
    }
    Ok(Wanted {
        path: d.path.clone(),
        ufs: d.ufs.clone(),
        read_only: d.read_only,
        shared: d.shared,
        options,
    })
}

/// What the leader does about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Mount it: declared and missing.
    Mount(Wanted),
    /// Unmount the declared mount there, then mount it as now declared.
    Replace(Wanted),
    /// Unmount it: made from a declaration that is gone.
    Unmount(String),
    /// A hand mount holds a declared path: left alone.
    Held {
        /// The path.
        path: String,
        /// The hand mount's UFS.
        ufs: String,
    },
}

/// The actions that make `table` match `wanted`, in path order.
pub fn plan(wanted: &[Wanted], table: &BTreeMap<String, MountPoint>) -> Vec<Action> {
    let mut out = Vec::new();
    for w in wanted {
        match table.get(&w.path) {
            None => out.push(Action::Mount(w.clone())),
            Some(point) if w.matches(point) => {}
            Some(point) if !point.declared => out.push(Action::Held {
                path: w.path.clone(),
                ufs: point.ufs.clone(),
            }),
            Some(_) => out.push(Action::Replace(w.clone())),
        }
    }
    for (path, point) in table {
        if point.declared && !wanted.iter().any(|w| &w.path == path) {
            out.push(Action::Unmount(path.clone()));
        }
    }
    out
}

/// Reconciles while this master leads (after restoring `JOURNAL_BACKUP`, see
/// [`super::backup::restore`]); returns when the process ends.
pub async fn run(master: Arc<Master>) {
    let mut metrics = master.raft.metrics();
    let office = |m: &openraft::RaftMetrics<super::raft::NodeId, openraft::BasicNode>| {
        (m.state == openraft::ServerState::Leader).then_some(m.current_term)
    };
    let mut warned = std::collections::BTreeSet::new();
    loop {
        let term = office(&metrics.borrow());
        // A backup to restore goes first: a mount would make the journal non-empty.
        if term.is_some() && super::backup::restore(&master).await {
            reconcile(&master, &mut warned).await;
        }
        // Until the period passes or this master takes (or leaves) office.
        let deadline = tokio::time::Instant::now() + PERIOD;
        loop {
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Err(_) => break,
                Ok(Err(_)) => return,
                Ok(Ok(())) if office(&metrics.borrow()) != term => break,
                Ok(Ok(())) => {}
            }
        }
    }
}

/// One pass: every action tried, failures logged (and tried again next pass); a hand mount
/// holding a declared path is named once (`warned`).
async fn reconcile(master: &Arc<Master>, warned: &mut std::collections::BTreeSet<(String, String)>) {
    let env = |var: &str| std::env::var(var).ok();
    let mut wanted = Vec::new();
    let mut failures = BTreeMap::new();
    for d in &master.cfg.declared {
        match resolve(d, &env) {
            Ok(w) => wanted.push(w),
            Err(e) => {
                tracing::error!("{e}");
                failures.insert(d.path.clone(), e);
            }
        }
    }
    let mut mounted = false;
    let table = master
        .journal
        .applied
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .namespace
        .mounts
        .clone();
    for action in plan(&wanted, &table) {
        let done = match &action {
            Action::Mount(w) => mount(master, w).await,
            Action::Replace(w) => match unmount(master, &w.path).await {
                Ok(()) => mount(master, w).await,
                Err(e) => Err(e),
            },
            Action::Unmount(path) => unmount(master, path).await,
            Action::Held { path, ufs } => {
                if warned.insert((path.clone(), ufs.clone())) {
                    tracing::warn!(
                    path,
                    ufs = %crate::proto::path::redact_uri(ufs),
                        "a declared mount's path holds a different mount made by hand: left as it is"
                    );
                }
                Ok(())
            }
        };
        match done {
            Ok(()) => match &action {
                Action::Mount(w) | Action::Replace(w) => {
                    tracing::info!(path = w.path, ufs = %crate::proto::path::redact_uri(&w.ufs), "declared mount mounted");
                    mounted = true;
                }
                Action::Unmount(path) => tracing::info!(path, "mount no longer declared: unmounted"),
                Action::Held { .. } => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "declared mounts: will try again");
                if let Action::Mount(w) | Action::Replace(w) = &action {
                    // The refusal names the UFS and the path ("cannot mount <ufs> at <path>: ...").
                    failures.insert(w.path.clone(), e);
                }
            }
        }
    }
    let mut outcome = master
        .declared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    outcome.failures = failures;
    if mounted {
        outcome.mounted_at = Some(super::status::now_seconds());
    }
}

async fn mount(master: &Arc<Master>, w: &Wanted) -> Result<(), String> {
    let up = parent(&w.path);
    if up != "/" {
        let mkdir = Write::Mkdir {
            path: up.to_owned(),
            recursive: true,
            exist_ok: true,
        };
        answered(super::rpc::journal_write(master, mkdir, false).await)?;
    }
    answered(super::rpc::journal_write(master, w.write(), true).await)
}

async fn unmount(master: &Arc<Master>, path: &str) -> Result<(), String> {
    let write = Write::Unmount { path: path.to_owned() };
    answered(super::rpc::journal_write(master, write, false).await)
}

fn answered(answer: Answer<()>) -> Result<(), String> {
    match answer {
        Answer::Ok(()) => Ok(()),
        Answer::NotLeader { .. } => Err("no longer the leader".to_owned()),
        Answer::Refused(r) => Err(r.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(path: &str, ufs: &str) -> Wanted {
        Wanted {
            path: path.into(),
            ufs: ufs.into(),
            read_only: false,
            shared: false,
            options: BTreeMap::new(),
        }
    }

    fn point(ufs: &str, declared: bool) -> MountPoint {
        MountPoint {
            ufs: ufs.into(),
            read_only: false,
            shared: false,
            options: BTreeMap::new(),
            declared,
        }
    }

    #[test]
    fn the_table_is_made_to_match_the_declaration_and_hand_mounts_stay() {
        let table: BTreeMap<String, MountPoint> = [
            ("/same".to_owned(), point("s3://same/", true)),
            ("/changed".to_owned(), point("s3://old/", true)),
            ("/gone".to_owned(), point("s3://gone/", true)),
            ("/hand".to_owned(), point("s3://hand/", false)),
            ("/taken".to_owned(), point("s3://by-hand/", false)),
            ("/adopted".to_owned(), point("s3://adopted/", false)),
        ]
        .into();
        let want = [
            wanted("/same", "s3://same/"),
            wanted("/changed", "s3://new/"),
            wanted("/missing", "s3://missing/"),
            wanted("/taken", "s3://declared/"),
            // A hand mount just as declared (the mount Job of an older release): nothing to do.
            wanted("/adopted", "s3://adopted/"),
        ];
        assert_eq!(
            plan(&want, &table),
            [
                Action::Replace(wanted("/changed", "s3://new/")),
                Action::Mount(wanted("/missing", "s3://missing/")),
                Action::Held {
                    path: "/taken".into(),
                    ufs: "s3://by-hand/".into()
                },
                Action::Unmount("/gone".into()),
            ]
        );
        // Nothing declared: only the mounts made from a declaration go.
        assert_eq!(
            plan(&[], &table),
            [
                Action::Unmount("/changed".into()),
                Action::Unmount("/gone".into()),
                Action::Unmount("/same".into())
            ]
        );
        // A changed option (a rotated key) is a change.
        let mut keyed = wanted("/same", "s3://same/");
        keyed.options.insert("aws.secretKey".into(), "new".into());
        assert_eq!(
            plan(std::slice::from_ref(&keyed), &table)[0],
            Action::Replace(keyed.clone())
        );
    }

    #[test]
    fn secret_options_come_from_the_environment_and_a_missing_one_is_named() {
        let d = Declared {
            path: "/d".into(),
            ufs: "cosn://b/".into(),
            options: [("fs.cosn.bucket.region".to_owned(), "ap-guangzhou".to_owned())].into(),
            option_env: [(
                "fs.cosn.userinfo.secretKey".to_owned(),
                "GOOSEFS_MOUNT_SECRET_0_0".to_owned(),
            )]
            .into(),
            ..Declared::default()
        };
        let env = |v: &str| (v == "GOOSEFS_MOUNT_SECRET_0_0").then(|| "TOPSECRET".to_owned());
        let w = resolve(&d, &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            w.options.get("fs.cosn.userinfo.secretKey").map(String::as_str),
            Some("TOPSECRET")
        );
        assert_eq!(w.options.len(), 2);
        let missing = resolve(&d, &|_| None).err().unwrap_or_default();
        assert_eq!(
            missing,
            "declared mount /d: option fs.cosn.userinfo.secretKey comes from the variable GOOSEFS_MOUNT_SECRET_0_0, which is not set"
        );
    }
}
